#!/usr/bin/env python3
"""make bench: `tag-warden reconcile` against Cloud Custodian on the same moto server.

Two mixes of 1,000 secrets and 50 customer-managed KMS keys are seeded, and each tool is run
on a freshly reset and seeded moto, doing the same thing: a missing `Owner` tag gets
`Owner=platform`, a `temp-debug` tag is removed. Measured per run: wall time, the AWS API
calls moto's recorder saw, peak RSS (/usr/bin/time -v), and whether every resource ended
compliant. Results go to bench/RESULTS.md. Everything stays on 127.0.0.1.
"""
import datetime, json, os, pathlib, platform, random, re, shutil, socket, subprocess, sys, tempfile, time
import urllib.request
from collections import Counter

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(os.environ.get("TAG_WARDEN_BIN", ROOT / "target/lambda/tag-warden/bootstrap"))
VENV = pathlib.Path(sys.executable).parent
REGION, SECRETS, KEYS = "us-east-1", 1000, 50
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))  # runs per tool and mix; the median is reported
MIXES = {  # fraction missing Owner, fraction carrying temp-debug
    "steady state": (0.05, 0.01),
    "first rollout": (0.50, 0.01),
}
TAG_WARDEN_POLICY = {"rules": [{"name": "owner", "require": {"Owner": {"default": "platform"}}, "forbid": ["temp-debug"]}]}
C7N_POLICY = """policies:
""" + "".join(
    f"""  - name: {res.split('.')[1]}-owner
    resource: {res}
    filters: [{{"tag:Owner": absent}}]
    actions: [{{type: tag, key: Owner, value: platform}}]
  - name: {res.split('.')[1]}-no-temp
    resource: {res}
    filters: [{{"tag:temp-debug": present}}]
    actions: [{{type: remove-tag, tags: [temp-debug]}}]
"""
    for res in ("aws.secrets-manager", "aws.kms-key")
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url):
    urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=60).read()


class Moto:
    def __init__(self, workdir):
        self.port, self.rec = free_port(), workdir / "moto_recording"
        env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(self.rec))
        self.proc = subprocess.Popen([str(VENV / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("moto_server did not start")

    def clients(self):
        kw = dict(region_name=REGION, endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.client("secretsmanager", **kw), boto3.client("kms", **kw)

    def seed(self, missing, forbidden):
        post(self.url + "/moto-api/reset")
        sm, kms = self.clients()
        rng = random.Random(42)
        for i in range(SECRETS):
            tags = [{"Key": "CostCenter", "Value": "1234"}]
            if rng.random() >= missing:
                tags.append({"Key": "Owner", "Value": "payments"})
            if rng.random() < forbidden:
                tags.append({"Key": "temp-debug", "Value": "true"})
            sm.create_secret(Name=f"bench/secret-{i:04d}", SecretString="x", Tags=tags)
        for i in range(KEYS):
            tags = [{"TagKey": "CostCenter", "TagValue": "1234"}]
            if rng.random() >= missing:
                tags.append({"TagKey": "Owner", "TagValue": "payments"})
            if rng.random() < forbidden:
                tags.append({"TagKey": "temp-debug", "TagValue": "true"})
            kms.create_key(Description=f"bench key {i}", Tags=tags)

    def noncompliant(self):
        sm, kms = self.clients()
        bad = 0
        for page in sm.get_paginator("list_secrets").paginate():
            for s in page["SecretList"]:
                keys = {t["Key"] for t in s.get("Tags", [])}
                bad += "Owner" not in keys or "temp-debug" in keys
        for page in kms.get_paginator("list_keys").paginate():
            for k in page["Keys"]:
                keys = {t["TagKey"] for t in kms.list_resource_tags(KeyId=k["KeyId"])["Tags"]}
                bad += "Owner" not in keys or "temp-debug" in keys
        return bad

    def record(self):
        post(self.url + "/moto-api/recorder/reset-recording")
        post(self.url + "/moto-api/recorder/start-recording")

    def recorded(self):
        post(self.url + "/moto-api/recorder/stop-recording")
        log = urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording", timeout=60).read().decode()
        calls = Counter()
        for line in filter(str.strip, log.splitlines()):
            rec = json.loads(line)
            target = rec["headers"].get("X-Amz-Target") or rec["headers"].get("x-amz-target")
            if not target:  # query-protocol services (STS) name the action in the body
                body = rec.get("body") or ""
                m = re.search(r"Action=(\w+)", body)
                target = f"{rec.get('url', '?').split('/')[2]}:{m.group(1) if m else '?'}"
            calls[target.replace("TrentService.", "kms.")] += 1
        return calls


def timed(cmd, env, cwd):
    """Runs cmd under /usr/bin/time -v: (seconds, peak RSS KiB, stdout)."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    # Exit 1 with a report is "not compliant" (docs/cli.md, Exit codes), not a failure.
    if out.returncode not in (0, 1) or (out.returncode == 1 and not out.stdout.strip()):
        sys.exit(f"{cmd[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return seconds, rss, out.stdout


def aws_env(moto):
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "AWS_ENDPOINT_URL": moto.url,
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}


def run_tag_warden(moto, workdir):
    env = dict(aws_env(moto), TAG_WARDEN_POLICY=json.dumps(TAG_WARDEN_POLICY))
    seconds, rss, stdout = timed([str(BIN), "reconcile", "--json", "--region", REGION], env, workdir)
    report = json.loads(stdout)
    return seconds, rss, report["summary"]


def run_c7n(moto, workdir):
    policy = workdir / "c7n.yml"
    policy.write_text(C7N_POLICY)
    out = workdir / "c7n-out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(VENV / "custodian"), "run", "-s", str(out), "--cache-period", "0", "--cache", str(workdir / "c7n.cache"),
           "-r", REGION, str(policy)]
    seconds, rss, _ = timed(cmd, aws_env(moto), workdir)
    return seconds, rss, None


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} not found: run `make lambda-build` (make bench does)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tag-warden-bench-"))
    moto = Moto(workdir)
    rows = []
    try:
        for mix, (missing, forbidden) in MIXES.items():
            runs = {"tag-warden": [], "cloud-custodian": []}
            # Interleaved, so that a noisy moment hits both tools alike.
            for _ in range(REPEAT):
                for tool, run in (("tag-warden", run_tag_warden), ("cloud-custodian", run_c7n)):
                    moto.seed(missing, forbidden)
                    before = moto.noncompliant()
                    moto.record()
                    seconds, rss, summary = run(moto, workdir)
                    calls = moto.recorded()
                    after = moto.noncompliant()
                    runs[tool].append(dict(mix=mix, tool=tool, seconds=seconds, calls=sum(calls.values()), rss=rss,
                                           before=before, after=after, detail=dict(calls), summary=summary))
                    print(f"{mix:14} {tool:16} {seconds:7.2f} s {sum(calls.values()):6} calls {rss/1024:7.1f} MiB"
                          f"  non-compliant {before} -> {after}", flush=True)
            for tool, rs in runs.items():
                rs.sort(key=lambda r: r["seconds"])
                median = dict(rs[len(rs) // 2])
                median["range"] = (rs[0]["seconds"], rs[-1]["seconds"])
                median["after"] = max(r["after"] for r in rs)
                rows.append(median)
    finally:
        moto.proc.terminate()
        moto.proc.wait()
    write_results(rows)


def write_results(rows):
    by = {(r["mix"], r["tool"]): r for r in rows}
    lines = [
        "# tag-warden reconcile vs Cloud Custodian",
        "",
        f"Measured {datetime.date.today().isoformat()} by `make bench` (bench/run.py) on {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"{version([str(BIN), '--version'])}, c7n {version([str(VENV / 'custodian'), 'version'])}, "
        f"moto {version([str(VENV / 'python'), '-c', 'import moto; print(moto.__version__)'])}.",
        "",
        f"Each run: moto server reset and seeded with {SECRETS} secrets and {KEYS} customer-managed KMS keys; "
        "the tool tags every resource missing `Owner` with `Owner=platform` and removes `temp-debug`. "
        "API calls are what moto's request recorder saw during the run; peak RSS is `/usr/bin/time -v`'s; "
        "the end state is checked by listing every resource afterwards.",
        "",
        "tag-warden ran with its default write limits, the quotas: Secrets Manager tag+untag 50/s per account and "
        "region (shared), KMS TagResource and UntagResource 5/s each, 16 resources at once. Cloud Custodian has no "
        "client-side pacing; moto never throttles, so this table does not show what the quotas do to either tool: "
        "the quota section below does.",
        "",
        f"Each tool ran {REPEAT} times per mix, interleaved with the other; the table gives the median run "
        "(wall time range in brackets) and the worst end state.",
        "",
        "| mix | tool | wall time (median, range) | API calls | peak RSS | non-compliant before → after |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        lo, hi = r["range"]
        lines.append(f"| {r['mix']} | {r['tool']} | {r['seconds']:.2f} s ({lo:.2f}–{hi:.2f}) | {r['calls']} | "
                     f"{r['rss']/1024:.1f} MiB | {r['before']} → {r['after']} |")
    lines += ["", "| mix | tag-warden / Custodian: wall time | API calls | peak RSS |", "|---|---:|---:|---:|"]
    for mix in MIXES:
        tw, c7n = by[(mix, "tag-warden")], by[(mix, "cloud-custodian")]
        ratio = tw["seconds"] / c7n["seconds"]
        speed = f"{1 / ratio:.1f}× faster" if ratio <= 1 else f"{ratio:.1f}× slower"
        lines.append(f"| {mix} | {ratio:.3f}× ({speed}) | "
                     f"{tw['calls']/c7n['calls']:.3f}× | {tw['rss']/c7n['rss']:.3f}× |")
    lines += ["", "API calls by operation:", ""]
    for r in rows:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(r["detail"].items()))
        lines.append(f"- {r['mix']}, {r['tool']}: {detail}")
    # bench/scale.py's section (after its marker) is kept.
    path = ROOT / "bench/RESULTS.md"
    old = path.read_text() if path.exists() else ""
    scale = old[old.index("<!-- scale -->"):] if "<!-- scale -->" in old else ""
    path.write_text("\n".join(lines) + "\n" + ("\n" + scale if scale else ""))
    print("\nwrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
