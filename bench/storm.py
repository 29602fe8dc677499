#!/usr/bin/env python3
"""make bench-storm: a storm of events at a write quota.

N secrets carry remembered values (a first report-mode sweep remembers them); a script then
removes `Owner` and `CostCenter` from every one of them. The N UntagResource events are handled
by C invocations at a time (`tag-warden handle`, each with the deadline a Lambda invocation has),
through a proxy that answers ThrottlingException above the Secrets Manager write quota (a token
bucket, as bench/quota.py enforces AWS's numbers; moto never throttles). A failed invocation is
invoked again, at most twice, as Lambda's asynchronous retries would. Then: how many secrets came
back to their remembered values, how many were lost, how many invocations failed, how many calls
were throttled, and the wall time against the floor (N writes / quota).

--check makes it a test (make test runs a small storm): exit 1 unless every secret is restored,
none is lost and no invocation failed. Without it, the result goes into bench/RESULTS.md.
Everything stays on 127.0.0.1.
"""
import argparse, concurrent.futures, json, pathlib, subprocess, sys, tempfile, threading, time

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import quota  # noqa: E402
from run import ROOT, Moto, aws_env, post  # noqa: E402

REGION = "us-east-1"
TABLE = "tag-warden-memory"
POLICY = {"rules": [{"name": "owner", "require": {
    "Owner": {"values": ["payments", "platform", "search"], "default": "platform"},
    "CostCenter": {"pattern": "^[0-9]{4}$", "default": "0000"}}}]}
REMEMBERED = {"Owner": "search", "CostCenter": "4100"}


def untag_event(arn, i):
    v = json.loads((ROOT / "events/secretsmanager-untag-resource.json").read_text())
    v["id"] = f"storm-{i}"
    v["detail"]["eventID"] = f"storm-{i}"
    v["detail"]["requestParameters"] = {"secretId": arn, "tagKeys": ["Owner", "CostCenter"]}
    v["detail"]["recipientAccountId"] = "123456789012"
    return json.dumps(v)


def storm(n, c, rate, retries, deadline, binary, workdir):
    moto = Moto(workdir)
    try:
        post(moto.url + "/moto-api/reset")
        kw = dict(region_name=REGION, endpoint_url=moto.url, aws_access_key_id="testing", aws_secret_access_key="testing")
        sm, ddb = boto3.client("secretsmanager", **kw), boto3.client("dynamodb", **kw)
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "arn", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "arn", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        arns = []
        for i in range(n):
            tags = [{"Key": k, "Value": v} for k, v in REMEMBERED.items()]
            arns.append(sm.create_secret(Name=f"storm/secret-{i:04d}", SecretString="x", Tags=tags)["ARN"])
        env = dict(aws_env(moto), TAG_WARDEN_POLICY=json.dumps(POLICY), TAG_WARDEN_MEMORY_TABLE=TABLE)
        seeded = subprocess.run([str(binary), "reconcile", "--dry-run", "--json"], env=env, capture_output=True, text=True)
        if seeded.returncode != 0:
            sys.exit(f"the seeding sweep failed: {seeded.stderr[-2000:]}")
        for arn in arns:  # the script that goes wrong: straight to moto, not through the quota
            sm.untag_resource(SecretId=arn, TagKeys=list(REMEMBERED))

        quota.QUOTAS["secretsmanager.write"] = float(rate)
        proxy = quota.QuotaProxy(moto.port)
        env = dict(env, AWS_ENDPOINT_URL=proxy.url)
        lock = threading.Lock()
        failed, attempts, retried = [0], [0], [0]

        def invoke(i, attempt):
            out = subprocess.run([str(binary), "handle", "--deadline-seconds", str(deadline), "-"],
                                 input=untag_event(arns[i], i), env=env, capture_output=True, text=True)
            with lock:
                attempts[0] += 1
            if out.returncode == 0:
                try:
                    retried[0] += sum(r.get("throttle_retries", 0) for r in json.loads(out.stdout)["results"])
                except (ValueError, KeyError):
                    pass
                return None
            with lock:
                failed[0] += 1
            return (i, attempt + 1) if attempt < retries else None

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=c) as pool:
            pending = [pool.submit(invoke, i, 0) for i in range(n)]
            while pending:
                again = []
                for f in concurrent.futures.as_completed(pending):
                    nxt = f.result()
                    if nxt:
                        again.append(pool.submit(invoke, *nxt))
                pending = again
        seconds = time.perf_counter() - started

        restored = lost = 0
        for arn in arns:
            tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=arn).get("Tags", [])}
            if all(tags.get(k) == v for k, v in REMEMBERED.items()):
                restored += 1
            else:
                lost += 1
        floor = n / float(rate)
        return dict(n=n, c=c, rate=rate, restored=restored, lost=lost, failed=failed[0], invocations=attempts[0],
                    throttled=sum(proxy.throttled.values()), retried=retried[0], seconds=seconds, floor=floor,
                    ratio=seconds / floor)
    finally:
        moto.proc.kill()


def line(r):
    return (f"storm N={r['n']} C={r['c']} quota {r['rate']:g}/s: {r['restored']}/{r['n']} restored, {r['lost']} lost, "
            f"{r['failed']} failed invocations ({r['invocations']} in all), {r['throttled']} throttled calls "
            f"({r['retried']} retried by the event path), {r['seconds']:.1f} s against a floor of {r['floor']:.1f} s "
            f"({r['ratio']:.2f}×)")


def write_results(rows):
    path = ROOT / "bench/RESULTS.md"
    text = path.read_text() if path.exists() else ""
    start = text.find("## Storm")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + (text[end + 1:] if end >= 0 else "")
    section = ["## Storm (`make bench-storm`, bench/storm.py)", "",
               "N secrets lose `Owner` and `CostCenter` at once; N UntagResource events, C invocations at a time, "
               "through a proxy enforcing the Secrets Manager write quota; failed invocations invoked again at most "
               "twice. Floor: N writes / quota. Where no call is throttled (50/s), moto itself is slower than "
               "the quota and the row measures moto; the lowered quota (5/s) is where the quota is the limit. "
               "Before the event path rode out throttling, N = 200 at 5/s ended with 192 restored, 8 lost and "
               "133 failed invocations (803 throttled calls, 1.05× the floor).", "",
               "| N | C | quota/s | restored | lost | failed invocations | throttled calls | wall | floor | × floor |",
               "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        section.append(f"| {r['n']} | {r['c']} | {r['rate']:g} | {r['restored']} | {r['lost']} | {r['failed']} | "
                       f"{r['throttled']} | {r['seconds']:.1f} s | {r['floor']:.1f} s | {r['ratio']:.2f} |")
    path.write_text(text.rstrip() + "\n\n" + "\n".join(section) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append", help="secrets (repeatable; default 200 and 1000)")
    p.add_argument("--c", type=int, default=32, help="invocations at a time")
    p.add_argument("--quota", type=float, action="append", help="writes a second (one per --n; default 5 and 50)")
    p.add_argument("--retries", type=int, default=2, help="re-invocations of a failed invocation")
    p.add_argument("--deadline", type=int, default=300, help="each invocation's time, seconds (the template's timeout)")
    p.add_argument("--bin", default=str(ROOT / "target/debug/tag-warden"))
    p.add_argument("--check", action="store_true", help="exit 1 unless all restored, none lost, none failed")
    a = p.parse_args()
    ns, rates = a.n or [200, 1000], a.quota or [5.0, 50.0]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n, rate in zip(ns, rates):
            r = storm(n, a.c, rate, a.retries, a.deadline, pathlib.Path(a.bin), pathlib.Path(d))
            print(line(r), flush=True)
            rows.append(r)
    if a.check:
        bad = [r for r in rows if r["restored"] != r["n"] or r["lost"] or r["failed"]]
        sys.exit(1 if bad else 0)
    write_results(rows)


if __name__ == "__main__":
    main()
