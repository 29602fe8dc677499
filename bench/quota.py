#!/usr/bin/env python3
"""make bench (part 3): the first rollout at AWS's real quotas, and an organization's sweep.

1. A quota-enforcing proxy in front of moto (moto never throttles): token buckets at the
   documented quotas, per region — Secrets Manager TagResource + UntagResource 50/s shared,
   KMS TagResource 5/s and UntagResource 5/s, ListSecrets 100/s, the KMS reads (ListKeys,
   ListAliases, ListResourceTags, DescribeKey) 100/s each — a bucket holds one second of calls,
   and a call above them is answered `ThrottlingException`, as AWS does. Both tools run the
   first-rollout mix (1,000 secrets, half missing `Owner`; 50 keys, most missing it) through
   it: wall time against the floor max(secret writes / 50, key writes / 5), throttled answers,
   end state.
2. A simulated organization on moto (20 accounts × 2 regions, 200 secrets and 3 keys a cell):
   the fanned-out sweep (each cell one `tag-warden handle` of an SQS event, cells in parallel
   as Lambda's poller would run them) against the in-process `reconcile --accounts`.

Writes its section of bench/RESULTS.md. Everything stays on 127.0.0.1.
"""
import concurrent.futures, datetime, http.client, http.server, json, os, pathlib, random, re, subprocess, sys
import tempfile, threading, time
from collections import Counter

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import BIN, C7N_POLICY, ROOT, VENV, Moto, aws_env, post, version  # noqa: E402

REGION = "us-east-1"
SECRETS, KEYS = 1000, 50
QUOTAS = {  # bucket -> calls a second (one second of burst)
    "secretsmanager.write": 50.0, "kms.TagResource": 5.0, "kms.UntagResource": 5.0,
    "secretsmanager.ListSecrets": 100.0, "kms.ListKeys": 100.0, "kms.ListAliases": 100.0,
    "kms.ListResourceTags": 100.0, "kms.DescribeKey": 100.0,
}
OP_BUCKET = {"secretsmanager.TagResource": "secretsmanager.write", "secretsmanager.UntagResource": "secretsmanager.write"}
POLICY = {"rules": [{"name": "owner", "require": {"Owner": {"default": "platform"}}, "forbid": ["temp-debug"]}]}


class Bucket:
    def __init__(self, rate):
        self.rate, self.tokens, self.at, self.lock = rate, rate, time.monotonic(), threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


class QuotaProxy:
    """An HTTP proxy to moto that answers ThrottlingException above the quotas."""

    def __init__(self, upstream_port):
        self.buckets, self.lock = {}, threading.Lock()
        self.calls, self.throttled = Counter(), Counter()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = (self.headers.get("X-Amz-Target") or "").replace("TrentService.", "kms.")
                m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization") or "")
                region = m.group(1) if m else "?"
                op = target.replace("secretsmanager.", "secretsmanager.")
                bucket = OP_BUCKET.get(op, op)
                with proxy.lock:
                    proxy.calls[op] += 1
                if bucket in QUOTAS and not proxy.bucket(region, bucket).take():
                    with proxy.lock:
                        proxy.throttled[op] += 1
                    payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("x-amzn-ErrorType", "ThrottlingException")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                headers["Host"] = f"127.0.0.1:{upstream_port}"
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "content-length", "transfer-encoding", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bucket(self, region, name):
        with self.lock:
            return self.buckets.setdefault((region, name), Bucket(QUOTAS[name]))

    def reset(self):
        with self.lock:
            self.buckets.clear()
            self.calls.clear()
            self.throttled.clear()


def seed_rollout(moto):
    post(moto.url + "/moto-api/reset")
    sm, kms = moto.clients()
    rng = random.Random(7)
    writes = {"secrets": 0, "keys": 0}
    for i in range(SECRETS):
        tags = [{"Key": "CostCenter", "Value": "1234"}]
        if rng.random() >= 0.5:
            tags.append({"Key": "Owner", "Value": "payments"})
        else:
            writes["secrets"] += 1
        sm.create_secret(Name=f"bench/secret-{i:04d}", SecretString="x", Tags=tags)
    for i in range(KEYS):
        tags = [{"TagKey": "CostCenter", "TagValue": "1234"}]
        if i % 10 == 0:  # most keys miss it: 45 of 50
            tags.append({"TagKey": "Owner", "TagValue": "payments"})
        else:
            writes["keys"] += 1
        kms.create_key(Description=f"bench key {i}", Tags=tags)
    return writes


def run(cmd, env, cwd):
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, out


def rollout(moto, proxy, workdir):
    rows = []
    for tool in ("tag-warden", "cloud-custodian", "tag-warden, pacer off"):
        writes = seed_rollout(moto)
        floor = max(writes["secrets"] / 50.0, writes["keys"] / 5.0)
        before = moto.noncompliant()
        proxy.reset()
        env = dict(aws_env(moto), AWS_ENDPOINT_URL=proxy.url)
        if tool.startswith("tag-warden"):
            env["TAG_WARDEN_POLICY"] = json.dumps(POLICY)
            # "pacer off": limits far above the quotas, so only the SDK's retries meet the throttling.
            off = ["--secrets-write-rps", "100000", "--kms-write-rps", "100000"] if "off" in tool else []
            seconds, out = run([str(BIN), "reconcile", "--json", "--region", REGION, *off], env, workdir)
            detail = ""
            if out.stdout.strip():
                sweep = json.loads(out.stdout).get("sweep", {})
                detail = f"sweep.throttled {sweep.get('throttled')}"
        else:
            policy = workdir / "c7n-quota.yml"
            policy.write_text(C7N_POLICY)
            cmd = [str(VENV / "custodian"), "run", "-s", str(workdir / "c7n-quota-out"), "--cache-period", "0",
                   "--cache", str(workdir / "c7n-quota.cache"), "-r", REGION, str(policy)]
            seconds, out = run(cmd, env, workdir)
            errors = len(re.findall(r"ThrottlingException|Throttling", out.stderr))
            detail = f"{errors} throttling errors in its log"
        after = moto.noncompliant()
        row = dict(tool=tool, seconds=seconds, floor=floor, writes=writes, exit=out.returncode,
                   calls=sum(proxy.calls.values()), throttled=sum(proxy.throttled.values()),
                   throttled_by_op=dict(proxy.throttled), before=before, after=after, detail=detail)
        rows.append(row)
        print(f"quota rollout {tool:16} {seconds:7.2f} s (floor {floor:.1f} s, {seconds / floor:.2f}×) exit "
              f"{out.returncode} calls {row['calls']} throttled {row['throttled']} non-compliant {before} -> {after}",
              flush=True)
    return rows


ORG_ACCOUNTS, ORG_REGIONS, ORG_SECRETS, ORG_KEYS = 20, ("us-east-1", "eu-west-1"), 200, 3


def org_accounts():
    return ["123456789012"] + [f"{100000000000 + i:012d}" for i in range(1, ORG_ACCOUNTS)]


def clients_in(moto, account, region):
    kw = dict(region_name=region, endpoint_url=moto.url, aws_access_key_id="testing", aws_secret_access_key="testing")
    if account != "123456789012":
        c = boto3.client("sts", **kw).assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup",
                                                   RoleSessionName="seed")["Credentials"]
        kw.update(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                  aws_session_token=c["SessionToken"])
    return boto3.client("secretsmanager", **kw), boto3.client("kms", **kw)


def seed_org(moto):
    post(moto.url + "/moto-api/reset")
    rng = random.Random(11)

    def cell(account, region):
        sm, kms = clients_in(moto, account, region)
        for i in range(ORG_SECRETS):
            tags = [{"Key": "Owner", "Value": "team"}] if rng.random() >= 0.3 else []
            sm.create_secret(Name=f"org/secret-{i:03d}", SecretString="x", Tags=tags)
        for i in range(ORG_KEYS):
            kms.create_key(Description=f"org key {i}", Tags=[] if i else [{"TagKey": "Owner", "TagValue": "team"}])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: cell(*c), [(a, r) for a in org_accounts() for r in ORG_REGIONS]))


def org_noncompliant(moto):
    bad = 0
    for account in org_accounts():
        for region in ORG_REGIONS:
            sm, kms = clients_in(moto, account, region)
            for page in sm.get_paginator("list_secrets").paginate():
                bad += sum("Owner" not in {t["Key"] for t in s.get("Tags", [])} for s in page["SecretList"])
            for k in kms.list_keys()["Keys"]:
                bad += "Owner" not in {t["TagKey"] for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]}
    return bad


def org(moto, workdir):
    env = dict(aws_env(moto), TAG_WARDEN_POLICY=json.dumps({"rules": [{"name": "owner", "require": {"Owner": {"default": "platform"}}}]}),
               TAG_WARDEN_MEMBER_ROLE="tag-warden-member", TAG_WARDEN_ACCOUNTS=",".join(org_accounts()),
               TAG_WARDEN_REGIONS="eu-west-1")
    rows = []
    # In-process: every cell in one `reconcile`, 4 cells at a time.
    seed_org(moto)
    before = org_noncompliant(moto)
    moto.record()
    seconds, out = run([str(BIN), "reconcile", "--json"], env, workdir)
    calls = moto.recorded()
    rows.append(dict(way="in-process `reconcile --accounts` (4 cells at once)", seconds=seconds, exit=out.returncode,
                     calls=sum(calls.values()), before=before, after=org_noncompliant(moto)))
    print(f"org in-process {seconds:.2f} s exit {out.returncode} calls {rows[-1]['calls']}", flush=True)
    # Fanned out: the schedule sends the cells to SQS; each cell is one invocation (an SQS event
    # of one message), 10 at once as the template's MaximumConcurrency allows.
    seed_org(moto)
    before = org_noncompliant(moto)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto.url, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    queue = sqs.create_queue(QueueName="tw-sweep")["QueueUrl"]
    moto.record()
    start = time.perf_counter()
    schedule = (ROOT / "events/scheduled-reconcile.json").read_text()
    fan = subprocess.run([str(BIN), "handle", "-"], input=schedule, env=dict(env, TAG_WARDEN_SWEEP_QUEUE_URL=queue),
                         capture_output=True, text=True, cwd=workdir)
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        messages += got
        for m in got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    def invoke(m):
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs",
                              "awsRegion": REGION}]}
        t0 = time.perf_counter()
        out = subprocess.run([str(BIN), "handle", "-"], input=json.dumps(event), env=env, capture_output=True,
                             text=True, cwd=workdir)
        report = json.loads(out.stdout) if out.stdout.strip() else {}
        return time.perf_counter() - t0, report.get("batchItemFailures") == []

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(invoke, messages))
    seconds = time.perf_counter() - start
    calls = moto.recorded()
    cells = len(messages)
    per_cell = sorted(r[0] for r in results)
    rows.append(dict(way=f"fanned out over SQS ({cells} cells, 10 invocations at once)", seconds=seconds,
                     exit=fan.returncode if all(ok for _, ok in results) else 1, calls=sum(calls.values()),
                     before=before, after=org_noncompliant(moto), cell_median=per_cell[len(per_cell) // 2] if per_cell else 0,
                     cells=cells))
    print(f"org fanned out {seconds:.2f} s cells {cells} calls {rows[-1]['calls']}", flush=True)
    return rows


def write_section(rollout_rows, org_rows):
    lines = [
        "<!-- quota -->",
        "## At AWS's quotas (bench/quota.py)",
        "",
        f"Measured {datetime.date.today().isoformat()} by `make bench` (bench/quota.py); "
        f"{version([str(BIN), '--version'])}, c7n {version([str(VENV / 'custodian'), 'version'])}.",
        "",
        "moto never throttles. Here a proxy in front of it enforces the documented quotas per region with token "
        "buckets holding one second of calls (Secrets Manager TagResource + UntagResource 50/s shared; KMS "
        "TagResource 5/s, UntagResource 5/s; ListSecrets and each KMS read 100/s) and answers "
        "`ThrottlingException` above them. First-rollout mix: 1,000 secrets, half missing `Owner`; 50 keys, 45 "
        "missing it. Floor = max(secret writes / 50, key writes / 5) seconds. \"pacer off\" is tag-warden with its "
        "write limits raised far above the quotas, leaving the throttling to the SDK's standard retries (4 attempts, "
        "exponential backoff): what its own pacer buys.",
        "",
        "| tool | wall time | × floor | exit | calls | throttled answers | non-compliant before → after |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rollout_rows:
        lines.append(f"| {r['tool']} | {r['seconds']:.2f} s | {r['seconds'] / r['floor']:.2f}× (floor {r['floor']:.1f} s) | "
                     f"{r['exit']} | {r['calls']} | {r['throttled']} | {r['before']} → {r['after']} |")
    lines += [""] + [f"- {r['tool']}: throttled by operation {r['throttled_by_op'] or '{}'}; {r['detail']}" for r in rollout_rows]
    lines += [
        "",
        f"### An organization: {ORG_ACCOUNTS} accounts × {len(ORG_REGIONS)} regions on moto",
        "",
        f"{ORG_SECRETS} secrets (30% missing `Owner`) and {ORG_KEYS} keys per cell; moto's multi-account STS "
        "(the member role assumed per account). Calls are moto's request recorder's (AssumeRole included).",
        "",
        "| how | wall time | calls | calls per cell | non-compliant before → after |",
        "|---|---:|---:|---:|---|",
    ]
    cells = ORG_ACCOUNTS * len(ORG_REGIONS)
    for r in org_rows:
        extra = f" (median invocation {r['cell_median']:.2f} s)" if "cell_median" in r else ""
        lines.append(f"| {r['way']}{extra} | {r['seconds']:.2f} s | {r['calls']} | {r['calls'] / cells:.1f} | "
                     f"{r['before']} → {r['after']} |")
    lines += ["", "<!-- /quota -->"]
    path = ROOT / "bench/RESULTS.md"
    old = path.read_text() if path.exists() else ""
    section = "\n".join(lines) + "\n"
    if "<!-- quota -->" in old:
        head, rest = old.split("<!-- quota -->", 1)
        tail = rest.split("<!-- /quota -->", 1)[1].lstrip("\n") if "<!-- /quota -->" in rest else ""
        new = head + section + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new)
    print("wrote the quota section of bench/RESULTS.md")


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} not found: run `make lambda-build` (make bench does)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tag-warden-quota-"))
    moto = Moto(workdir)
    proxy = QuotaProxy(moto.port)
    try:
        rollout_rows = rollout(moto, proxy, workdir)
        org_rows = org(moto, workdir) if os.environ.get("BENCH_ORG", "1") == "1" else []
    finally:
        moto.proc.terminate()
        moto.proc.wait()
        proxy.server.shutdown()
    write_section(rollout_rows, org_rows)


if __name__ == "__main__":
    main()
