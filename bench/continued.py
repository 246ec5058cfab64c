#!/usr/bin/env python3
"""One enforcement through continuations, alone, with each invocation's time (docs/benchmarks.md).

Usage: .venv/bin/python bench/continued.py [--size N] [--latency MS] [--timeout SECS] [--bin-dir DIR]

What `make bench`'s continued rows do (bench/run.py `continued_enforcement`), for one window only and without
the other rows: `--size` in-scope notebooks behind an emulator answering each call after `--latency` ms, one
alert through the budget-enforcer built as its Lambda is (ledger, continuation queue, alert topics), each
invocation given the deadline a function `--timeout` would give it (its work stops `MARGIN` earlier), every
`continue` message handed to the next invocation. Prints the wall time, the invocations and each one's
time, the longest against the timeout, and the AWS calls; fails unless every notebook was stopped once and
one summary was sent. Builds the release CLI and driver as `make bench` does (honours CARGO_TARGET_DIR)
unless --bin-dir names a folder that holds them already.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: the emulator, the worlds, the driver)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10000, help="in-scope notebooks (default 10,000)")
    parser.add_argument("--latency", type=int, default=30, help="emulator latency per call, ms (default 30)")
    parser.add_argument("--timeout", type=int, default=60, help="the function timeout, s (default 60)")
    parser.add_argument("--bin-dir", type=Path, help="a folder holding tagwarden and tagwarden-bench")
    args = parser.parse_args()
    if args.bin_dir:
        cli, driver = args.bin_dir / "tagwarden", args.bin_dir / "tagwarden-bench"
    else:
        cli, driver = run.build(release=True)
    sides = run.Sides(cli, driver, Path("/nonexistent"))
    run.WORK.mkdir(exist_ok=True)
    with run.emulator(args.latency) as emu:
        topic = sides.drive(emu, "setup-budget")["topic"]
        table = sides.drive(emu, "setup-ledger")["table"]
        url = sides.drive(emu, "setup-queue", "tagwarden-continuations")["url"]
        summaries = sides.drive(emu, "setup-queue", "summaries", "--subscribe", topic)["url"]
        run.seed(sides, emu, "cont", args.size, "cost-center=CC-4100")
        alert = json.loads(run.BUDGET_ALERT.read_text())
        env = {"TAGWARDEN_CONTINUATION_QUEUE_URL": url, "TAGWARDEN_LEDGER_TABLE": table,
               "TAGWARDEN_ALERT_TOPICS": alert["Records"][0]["Sns"]["TopicArn"],
               "TAGWARDEN_POLICY_FILE": str(run.enforce_policy(8, "notify, stop-notebooks"))}
        emu.reset_calls()
        out = sides.drive(emu, "enforce-continued", str(run.BUDGET_ALERT), "continued-1", "--timeout",
                          str(args.timeout), "--summaries", summaries, env=env)
        calls = emu.calls()
    stops = calls["by_action"].get("sagemaker.StopNotebookInstance", 0)
    done = out["results"].get("stop-notebooks done", 0)
    each = [round(i["secs"], 1) for i in out["each_invocation"]]
    print(f"{args.size:,} notebooks at {args.latency} ms, timeout {args.timeout} s (work stops "
          f"{out['window']['work_secs']} s in): {out['secs']:.1f} s, {out['invocations']} invocations "
          f"({', '.join(f'{k} {v}' for k, v in out['outcomes'].items())}), longest {max(each):.1f} s "
          f"({'within' if max(each) < args.timeout else 'OVER'} the timeout)")
    print(f"each invocation (s): {each}")
    print(f"AWS calls: {calls['total']:,}: " + ", ".join(f"{k} {v:,}" for k, v in
                                                      sorted(calls["by_action"].items(), key=lambda kv: -kv[1])))
    if out["last"] != "enforced" or done != args.size or stops != args.size or out["summaries"] != 1:
        raise SystemExit(f"not complete: {out['last']}, {done} done, {stops} stop calls, {out['summaries']} "
                         f"summaries for {args.size} notebooks")
    print(f"complete: each notebook stopped once, {out['summaries']} summary")


if __name__ == "__main__":
    main()
