#!/usr/bin/env python3
"""make bench-scale (and the end of make bench): peak RSS and time of `tag-warden reconcile
--dry-run` against the number of secrets, on moto server.

For each N (SCALE_SIZES, default 1000,2000,5000,12000) moto holds N secrets, 5% of them missing
`Owner`; the release bootstrap sweeps them in report mode under `/usr/bin/time -v`. Measured: wall
time, peak RSS, tag-warden's own CPU time (user + system) and that CPU time per ListSecrets page
(moto's ListSecrets costs O(N) per page, so at 10,000+ secrets moto, not tag-warden, dominates the
wall time). TAG_WARDEN_OLD_BIN, when set, is measured the same way for comparison. The check: peak
RSS may grow by at most 3 MiB from 2,000 to 12,000 secrets; the script exits 1 when it does not.
The table goes into bench/RESULTS.md, after the `<!-- scale -->` marker. Loopback only.
"""
import json, os, pathlib, re, subprocess, sys, tempfile, time

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import BIN, REGION, ROOT, Moto, aws_env  # noqa: E402

SIZES = [int(n) for n in os.environ.get("SCALE_SIZES", "1000,2000,5000,12000").split(",")]
OLD_BIN = os.environ.get("TAG_WARDEN_OLD_BIN")
POLICY = {"rules": [{"name": "owner", "require": {"Owner": {"default": "platform"}}}]}
MARKER = "<!-- scale -->"
MAX_GROWTH_KIB = 3 * 1024


def sweep(binary, moto, workdir):
    """(wall seconds, peak RSS KiB, CPU seconds, report) of one report-mode sweep."""
    env = dict(aws_env(moto), TAG_WARDEN_POLICY=json.dumps(POLICY))
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", binary, "reconcile", "--dry-run", "--json", "--region", REGION],
                         env=env, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - start
    # Exit 1 with a report is "not compliant" (docs/cli.md, Exit codes), not a failure.
    if out.returncode not in (0, 1) or (out.returncode == 1 and not out.stdout.strip()):
        sys.exit(f"{binary} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    grab = lambda pattern: float(re.search(pattern, out.stderr).group(1))  # noqa: E731
    rss = int(grab(r"Maximum resident set size \(kbytes\): (\d+)"))
    cpu = grab(r"User time \(seconds\): ([\d.]+)") + grab(r"System time \(seconds\): ([\d.]+)")
    return wall, rss, cpu, json.loads(out.stdout)


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} not found: run `make lambda-build` (make bench-scale does)")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tag-warden-scale-"))
    moto = Moto(workdir)
    rows = []
    try:
        sm, _ = moto.clients()
        have = 0
        for n in sorted(SIZES):
            for i in range(have, n):  # one at a time: moto fails concurrent CreateSecret calls
                tags = [{"Key": "CostCenter", "Value": "1234"}]
                if i % 20:
                    tags.append({"Key": "Owner", "Value": "payments"})
                sm.create_secret(Name=f"scale/secret-{i:05d}", SecretString="x", Tags=tags)
            have = n
            wall, rss, cpu, report = sweep(str(BIN), moto, workdir)
            pages = sum(1 for _ in range(0, n, 100)) or 1
            would = report["summary"].get("would-remediate", 0)
            row = {"n": n, "wall": wall, "rss": rss, "cpu": cpu, "pages": pages, "would": would,
                   "kept": len(report["results"]), "truncated": report["sweep"].get("truncated", 0)}
            if OLD_BIN:
                row["old_wall"], row["old_rss"], _, _ = sweep(OLD_BIN, moto, workdir)
            rows.append(row)
            print(f"{n:>6} secrets: {wall:6.2f} s, {rss / 1024:5.1f} MiB, CPU {cpu:5.2f} s "
                  f"({1000 * cpu / pages:5.1f} ms/page), would-remediate {would}"
                  + (f"; previous: {row['old_wall']:6.2f} s, {row['old_rss'] / 1024:5.1f} MiB" if OLD_BIN else ""),
                  flush=True)
    finally:
        moto.proc.terminate()
        moto.proc.wait()
    by_n = {r["n"]: r for r in rows}
    verdict = None
    if 2000 in by_n and 12000 in by_n:
        growth = by_n[12000]["rss"] - by_n[2000]["rss"]
        verdict = (growth <= MAX_GROWTH_KIB, growth)
    write(rows, verdict)
    if verdict and not verdict[0]:
        sys.exit(f"peak RSS grew by {verdict[1] / 1024:.1f} MiB from 2,000 to 12,000 secrets (limit 3 MiB)")


def write(rows, verdict):
    path = ROOT / "bench/RESULTS.md"
    text = path.read_text() if path.exists() else ""
    # bench/quota.py's section, when there is one, is kept after this one.
    quota = text[text.index("<!-- quota -->"):] if "<!-- quota -->" in text else ""
    text = text.split("<!-- quota -->")[0].split(MARKER)[0].rstrip() + "\n\n" + MARKER + "\n"
    old = any("old_rss" in r for r in rows)
    lines = [
        "## Sweep at scale: memory flat in the number of secrets",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench-scale` (bench/scale.py): `tag-warden reconcile --dry-run` "
        "(release bootstrap) over N secrets on moto, 5% missing `Owner`; peak RSS and CPU from `/usr/bin/time -v`. "
        "moto's ListSecrets costs O(N) per page, so wall time grows with moto; tag-warden's own CPU time per "
        "ListSecrets page (100 secrets) is the client's share."
        + (" \"Previous\" is the release before the streaming sweep, measured in the same runs." if old else ""),
        "",
        "| secrets | pages | wall time | peak RSS | tag-warden CPU | CPU per page | would-remediate (listed / truncated) |"
        + (" previous: wall time | previous: peak RSS |" if old else ""),
        "|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if old else ""),
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['pages']} | {r['wall']:.2f} s | {r['rss'] / 1024:.1f} MiB | {r['cpu']:.2f} s | "
            f"{1000 * r['cpu'] / r['pages']:.1f} ms | {r['would']} ({r['kept']} / {r['truncated']}) |"
            + (f" {r['old_wall']:.2f} s | {r['old_rss'] / 1024:.1f} MiB |" if old else ""))
    if verdict:
        ok, growth = verdict
        lines += ["", f"Peak RSS from 2,000 to 12,000 secrets: {'+' if growth >= 0 else ''}{growth / 1024:.1f} MiB "
                      f"({'within' if ok else 'OVER'} the 3 MiB bound)."]
    path.write_text(text + "\n".join(lines) + "\n" + ("\n" + quota if quota else ""))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
