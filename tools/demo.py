#!/usr/bin/env python3
"""make demo: tag-warden's real handler on every sample in events/, against a local moto server.

The memory table is created in moto and a first report-mode sweep seeds it (what a rollout
does). Then, for each event, the demo first makes the API call the event records (so moto holds
the state the event describes), runs `tag-warden handle` on it and shows the resource's tags
before and after, and where each restored value came from (memory or the policy's default).
Everything stays on 127.0.0.1.
"""
import json, os, pathlib, socket, subprocess, sys, time, urllib.request

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(os.environ.get("TAG_WARDEN_BIN", ROOT / "target/debug/tag-warden"))
MEMORY_TABLE = "tag-warden-memory"
REGION, SAMPLE_KEYS = "us-east-1", ["1234abcd-12ab-34cd-56ef-1234567890ab", "0987dcba-09fe-87dc-65ba-ab0987654321"]
SAMPLE_SECRET_ARNS = {
    "prod/payments/db": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/db-Xk3v9Q",
    "prod/orders/api-key": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/api-key-Q2w3E4",
    "legacy/reporting": "arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy/reporting-a1B2c3",
}
ORDER = [  # a story: the existing secret and key are changed, new ones are created, noise is ignored
    "secretsmanager-tag-resource.json", "secretsmanager-untag-resource.json", "secretsmanager-update-secret.json",
    "secretsmanager-create-secret.json", "secretsmanager-create-secret-legacy-arn.json",
    "kms-tag-resource.json", "kms-untag-resource.json", "cloudtrail-record-kms-untag-resource.json",
    "kms-create-key.json", "cloudtrail-log-file.json",
    "tag-change-secret.json", "tag-change-kms-key.json", "ignored-tag-change-other-service.json",
    "ignored-own-call.json", "ignored-failed-call.json", "ignored-other-service.json",
    "scheduled-reconcile.json",  # last: the sweep finds what the events left
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    port = free_port()
    exe = pathlib.Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto_server did not start")


class World:
    def __init__(self, url):
        kw = dict(region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.sm, self.kms, self.url = boto3.client("secretsmanager", **kw), boto3.client("kms", **kw), url
        self.ddb = boto3.client("dynamodb", **kw)
        self.secret_arns, self.key_ids = {}, {}

    def setup(self):
        self.ddb.create_table(TableName=MEMORY_TABLE, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "arn", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "arn", "KeyType": "HASH"}])
        self.create_secret("prod/payments/db", {"Owner": "payments", "CostCenter": "4100", "DataClass": "restricted"})
        self.key_ids[SAMPLE_KEYS[0]] = self.kms.create_key(Description="payments data key", Tags=[
            {"TagKey": "Owner", "TagValue": "payments"}, {"TagKey": "CostCenter", "TagValue": "4100"},
            {"TagKey": "Dept", "TagValue": "finance"}])["KeyMetadata"]["KeyId"]

    def create_secret(self, name, tags):
        arn = self.sm.create_secret(Name=name, SecretString="demo-only", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["ARN"]
        self.secret_arns[name] = arn
        return arn

    def rewrite(self, text):
        for name, sample in SAMPLE_SECRET_ARNS.items():
            if name in self.secret_arns:
                text = text.replace(sample, self.secret_arns[name])
        for sample, real in self.key_ids.items():
            text = text.replace(sample, real)
        return text

    def simulate(self, rec):
        """Makes the call a CloudTrail record describes; returns (kind, id) of the resource, if any."""
        if rec.get("errorCode") or rec.get("readOnly"):
            return None
        src, name, p = rec.get("eventSource"), rec.get("eventName"), rec.get("requestParameters") or {}
        if src == "secretsmanager.amazonaws.com":
            sid = p.get("secretId") or p.get("name")
            if name == "CreateSecret":
                self.create_secret(p["name"], {t["key"]: t["value"] for t in p.get("tags", [])})
            elif name == "TagResource":
                self.sm.tag_resource(SecretId=sid, Tags=[{"Key": t["key"], "Value": t["value"]} for t in p["tags"]])
            elif name == "UntagResource":
                self.sm.untag_resource(SecretId=sid, TagKeys=p["tagKeys"])
            return ("secret", self.sm.describe_secret(SecretId=sid)["ARN"])
        if src == "kms.amazonaws.com":
            if name == "CreateKey":
                kid = self.kms.create_key(Description=p.get("description", ""))["KeyMetadata"]["KeyId"]
                self.key_ids[SAMPLE_KEYS[1]] = kid
                return ("kms-key", kid)
            kid = p["keyId"]
            if name == "TagResource":
                self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": t["tagKey"], "TagValue": t["tagValue"]} for t in p["tags"]])
            elif name == "UntagResource":
                self.kms.untag_resource(KeyId=kid, TagKeys=p["tagKeys"])
            return ("kms-key", kid.split("/")[-1])
        return None

    def tags(self, kind, rid):
        if kind == "secret":
            return {t["Key"]: t["Value"] for t in self.sm.describe_secret(SecretId=rid).get("Tags", [])}
        return {t["TagKey"]: t["TagValue"] for t in self.kms.list_resource_tags(KeyId=rid)["Tags"]}


def fmt(tags):
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) + "}"


def fmt_set(result):
    """The tags written, each with where its value came from."""
    source = {f["key"]: f.get("from") for f in result.get("findings", []) if "key" in f}
    return "{" + ", ".join(f"{k}={v}" + (f" ({source[k]})" if source.get(k) else "")
                           for k, v in sorted(result["tags_added"].items())) + "}"


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} not found: run `cargo build` first (make demo does)")
    moto, url = start_moto()
    try:
        world = World(url)
        world.setup()
        env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": url, "AWS_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
               "TAG_WARDEN_POLICY_FILE": str(ROOT / "policies/example.json"),
               "TAG_WARDEN_MEMORY_TABLE": MEMORY_TABLE}
        # tag-warden runs as its execution role, as under Lambda: its own calls are known by
        # that role (the own-call sample's `tag-warden-role`), whatever the session is named.
        creds = boto3.client("sts", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                             aws_secret_access_key="testing").assume_role(
            RoleArn="arn:aws:iam::123456789012:role/tag-warden-role", RoleSessionName="tag-warden")["Credentials"]
        env.update({"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": creds["SessionToken"]})
        print(f"moto server on {url}; policy policies/example.json; memory table {MEMORY_TABLE}\n")
        seed = subprocess.run([str(BIN), "reconcile", "--dry-run", "--json"], env=env, capture_output=True, text=True)
        remembered = json.loads(seed.stdout)["sweep"]["memory"]["remembered"] if seed.stdout.strip() else 0
        print(f"== first rollout: `tag-warden reconcile --dry-run` remembers the valid tags of {remembered} resources")
        print(f"   {world.secret_arns['prod/payments/db']}: {fmt(world.tags('secret', world.secret_arns['prod/payments/db']))}\n")
        for name in ORDER:
            text = (ROOT / "events" / name).read_text()
            doc = json.loads(text)
            records = doc.get("Records") or [doc.get("detail", doc)]
            print(f"== events/{name}")
            touched = []
            for rec in records:
                if not isinstance(rec, dict) or "eventName" not in rec:
                    continue
                rec = json.loads(world.rewrite(json.dumps(rec)))
                # The own call is tag-warden's own write: it changes nothing further.
                resource = None if "tag-warden" in rec.get("userIdentity", {}).get("arn", "") else world.simulate(rec)
                if resource:
                    touched.append((rec["eventName"], resource, world.tags(*resource)))
            out = subprocess.run([str(BIN), "handle", "-"], input=world.rewrite(text), env=env, capture_output=True, text=True)
            report = json.loads(out.stdout) if out.stdout.strip() else {"results": []}
            for event_name, (kind, rid), before in touched:
                print(f"   {kind} {rid}, after the {event_name} call")
                print(f"     before tag-warden: {fmt(before)}")
                print(f"     after tag-warden:  {fmt(world.tags(kind, rid))}")
            if "sweep" in report:
                sw = report["sweep"]
                counts = ", ".join(f"{n} {o}" for o, n in sorted(report["summary"].items()))
                print(f"   tag-warden swept {', '.join(sw['regions'])}: {counts} ({'complete' if sw['complete'] else 'incomplete'})")
            for r in report["results"]:
                what = []
                if r["keys_removed"]:
                    what.append("removed " + ", ".join(r["keys_removed"]))
                if r["tags_added"]:
                    what.append("set " + fmt_set(r))
                print(f"   tag-warden: {r['outcome']}" + (f" ({'; '.join(what)})" if what else "")
                      + ("" if what or not r["reasons"] else f": {r['reasons'][0]}"))
            if out.returncode != 0:
                print(f"   exit {out.returncode}: {out.stderr.strip()}")
            print()
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
