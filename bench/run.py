#!/usr/bin/env python3
"""Tagwarden against Cloud Custodian, side by side, in one run (`make bench`; see bench/README.md).

Usage: .venv/bin/python bench/run.py [--smoke] [--out FILE]

Everything runs against local emulators (tests/emulator/serve, moto + Tagwarden's extension) started here
on free loopback ports; nothing talks to real AWS. Prints one markdown table and writes it to
bench/RESULTS.md (the smoke mode writes bench/work/RESULTS-smoke.md and checks, instead of measuring).
Needs `make venv` (.venv with the emulator and boto3); installs Cloud Custodian into bench/.venv-c7n from
bench/requirements-c7n.txt when missing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
C7N_VENV = BENCH / ".venv-c7n"
C7N_PY = C7N_VENV / "bin" / "python"
TAG_POLICY = REPO / "policy" / "tagwarden.yaml"
EVENT_TEMPLATE = REPO / "events" / "auto-tagger" / "notebook-instance-iam-user.json"
BUDGET_ALERT = REPO / "events" / "budget-enforcer" / "actual-105-percent.json"
TEMPLATE = REPO / "infra" / "template.yaml"
ACCOUNT, REGION = "123456789012", "us-east-1"

# `continued`: in-scope notebooks, emulator latency (ms), and the shorter invocation shown when the deployed
# timeout fits the whole enforcement in one: ("timeout", seconds) as Lambda's, or ("work-ms", ms) directly.
FULL = dict(cold_runs=7, warm_events=200, floor_calls=200, sizes=(10, 1000, 5000), calls_events=3,
            enforce_sizes=(1000, 5000), latencies=(0, 30), throttled=(2000, 10), sweep=20000,
            continued=(10000, 30, ("timeout", 60)), release=True)
SMOKE = dict(cold_runs=1, warm_events=10, floor_calls=10, sizes=(10, 50), calls_events=2,
             enforce_sizes=(20, 50), latencies=(0, 30), throttled=(40, 10), sweep=200,
             continued=(100, 30, ("work-ms", 300)), release=False)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Processes: build, emulator, the two sides
# ---------------------------------------------------------------------------------------------------------

def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def build(release: bool) -> tuple[Path, Path]:
    """Builds the `tagwarden` CLI and the bench driver; returns their paths."""
    profile = "release" if release else "debug"
    if release:
        cmd = ["cargo", "build", "--quiet", "--release", "-p", "tagwarden-cli", "-p", "tagwarden-bench"]
    else:
        # NOTE: the smoke run follows `cargo test --workspace` in `make test`; building every target resolves
        # the SDK crates' features as the tests did, so nothing is compiled again (`-p` would rebuild them).
        cmd = ["cargo", "build", "--quiet", "--workspace", "--all-targets"]
    log(f"cargo build ({profile}) of tagwarden-cli and tagwarden-bench into {target_dir()}")
    subprocess.run(cmd, cwd=REPO, check=True)
    out = target_dir() / profile
    return out / "tagwarden", out / "tagwarden-bench"


def ensure_c7n() -> str:
    """bench/.venv-c7n with the pinned Cloud Custodian; returns c7n's version."""
    if not C7N_PY.exists() or subprocess.run([C7N_PY, "-c", "import c7n"], capture_output=True).returncode:
        log("installing Cloud Custodian into bench/.venv-c7n (pinned: bench/requirements-c7n.txt)")
        subprocess.run(["python3", "-m", "venv", C7N_VENV], check=True)
        subprocess.run([C7N_PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                        BENCH / "requirements-c7n.txt"], check=True)
    out = subprocess.run([C7N_PY, "-c", "from importlib.metadata import version; print(version('c7n'))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """tests/emulator/serve on a free port, with an optional fixed latency per AWS request."""

    def __init__(self, latency_ms: int = 0, throttle: str = ""):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, TAGWARDEN_EMULATOR_LATENCY_MS=str(latency_ms), TAGWARDEN_EMULATOR_THROTTLE=throttle)
        self.proc = subprocess.Popen([REPO / "tests" / "emulator" / "serve", str(self.port)], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                self.get("/_tagwarden/health")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise SystemExit("the emulator did not start: run `make venv`")
                time.sleep(0.05)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.load(r)

    def post(self, path: str) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + path, data=b"", method="POST"), timeout=60).read()

    def calls(self) -> dict:
        return self.get("/_tagwarden/calls")

    def reset_calls(self) -> None:
        self.post("/_tagwarden/calls/reset")

    def reset_state(self) -> None:
        """moto forgets every resource (the call counter is reset separately)."""
        self.post("/moto-api/reset")

    def env(self, endpoint: str | None = None) -> dict:
        return dict(os.environ, AWS_ENDPOINT_URL=endpoint or self.url, AWS_ACCESS_KEY_ID="testing",
                    AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="", AWS_REGION=REGION,
                    AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", RUST_LOG="warn",
                    AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def emulator(latency_ms: int = 0, throttle: str = ""):
    emu = Emulator(latency_ms, throttle)
    try:
        yield emu
    finally:
        emu.stop()


class Sides:
    """How to run each side: the driver, the CLI and Custodian's Lambda folder."""

    def __init__(self, cli: Path, driver: Path, lambda_dir: Path):
        self.cli, self.driver, self.lambda_dir = cli, driver, lambda_dir

    def drive(self, emu: Emulator, *args: str, env: dict | None = None) -> dict:
        """Runs a driver subcommand against `emu` (with `env` added to its environment); its JSON answer."""
        out = subprocess.run([self.driver, *args], env=emu.env() | (env or {}), capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"tagwarden-bench {args[0]} failed: {out.stderr.strip()}")
        return json.loads(out.stdout)

    def c7n(self, emu: Emulator, *args: str) -> dict:
        out = subprocess.run([C7N_PY, BENCH / "c7n_side.py", *args], env=emu.env(), capture_output=True,
                             text=True)
        if out.returncode:
            raise SystemExit(f"c7n_side.py {args[0]} failed: {out.stderr.strip()[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


TIME = Path("/usr/bin/time")


def timed(cmd: list, env: dict, cwd: Path | None = None) -> tuple[float, int, str]:
    """Runs `cmd` to completion: wall time (ms), peak RSS (KiB) and stdout.

    Peak RSS is GNU time's `%M` (ru_maxrss of the process it forks and execs) when /usr/bin/time exists.
    NOTE: not wait4() on a child of this harness: a child forked from Python keeps the harness's own pages
    until exec, and ru_maxrss counts them (it reported ~37 MiB for a 16 MiB process here)."""
    out_path, rss_path = WORK / "timed.out", WORK / "timed.rss"
    wrapped = [TIME, "-f", "%M", "-o", rss_path, *cmd] if TIME.exists() else cmd
    with open(out_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = (time.perf_counter() - started) * 1000
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text()
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}: {text[-2000:]}")
    rss = int(rss_path.read_text().split()[-1]) if TIME.exists() else usage.ru_maxrss
    return wall, rss, text


# ---------------------------------------------------------------------------------------------------------
# Worlds and events
# ---------------------------------------------------------------------------------------------------------

def name(prefix: str, i: int) -> str:
    return f"{prefix}-{i:05d}"


def arn(notebook: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{notebook}"


def notebook_event(notebook: str) -> dict:
    """The sample CreateNotebookInstance event (IAM user `intern`), rewritten for `notebook`."""
    event = json.loads(EVENT_TEMPLATE.read_text())
    event["detail"]["requestParameters"]["notebookInstanceName"] = notebook
    event["detail"]["responseElements"]["notebookInstanceArn"] = arn(notebook)
    event["id"] = event["detail"]["eventID"] = f"bench-{notebook}"
    return event


def write_event(notebook: str) -> Path:
    path = WORK / "events" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook_event(notebook)))
    return path


def write_events(prefix: str, first: int, count: int) -> Path:
    path = WORK / "events" / f"{prefix}-{first}-{count}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(notebook_event(name(prefix, i))) + "\n"
                            for i in range(first, first + count)))
    return path


# The caller's tag of the sample event (`Environment=DEV`) is on the notebook, as CreateNotebookInstance put it.
CALLER_TAG = "Environment=DEV"
EXPECTED = {"created-by": "intern", "cost-center": "CC-2100", "team": "growth", "environment": "dev"}


def tagging_world(sides: Sides, emu: Emulator) -> None:
    """A fresh account: the creator `intern` with its cost-center and team tags."""
    emu.reset_state()
    sides.drive(emu, "setup-tagging")


def seed(sides: Sides, emu: Emulator, prefix: str, count: int, *tags: str) -> None:
    if count > 0:
        sides.drive(emu, "seed-notebooks", prefix, str(count), *tags)


def check_tags(emu: Emulator, notebooks: list[str]) -> int:
    """How many of `notebooks` carry every expected tag (read back with boto3)."""
    import boto3
    sm = boto3.client("sagemaker", endpoint_url=emu.url, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    ok = 0
    for nb in notebooks:
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn(nb))["Tags"]}
        ok += all(tags.get(k) == v for k, v in EXPECTED.items())
    return ok


# ---------------------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------------------

def stats(values: list[float]) -> dict:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return {"n": len(values), "median": statistics.median(values), "min": values[0], "max": values[-1],
            "p90": p90}


def cold_starts(sides: Sides, emu: Emulator, runs: int, which: tuple = ("rs", "py")) -> dict:
    """Fresh process per event, interleaved (order alternates), after one unmeasured warm-up each.
    `which` picks the sides (bench/rss.py measures ours alone)."""
    tagging_world(sides, emu)
    for side in which:
        seed(sides, emu, f"cold-{side}", runs + 1, CALLER_TAG)
    ours = [sides.cli, "replay", "auto-tagger", "--policy", TAG_POLICY, "--event"]
    custodian = [C7N_PY, BENCH / "c7n_side.py", "cold", sides.lambda_dir]
    result = {side: {"ms": [], "rss": []} for side in which} | {"calls": {}}
    for i in range(0, runs + 1):
        order = ("rs", "py") if i % 2 else ("py", "rs")
        for side in (s for s in order if s in which):
            event = write_event(name(f"cold-{side}", i + 1))
            cmd = ours + [event] if side == "rs" else custodian + [event]
            emu.reset_calls()
            wall, rss, out = timed(cmd, emu.env())
            if side == "rs" and json.loads(out).get("outcome") != "tagged":
                raise SystemExit(f"tagwarden replay did not tag: {out}")
            if i == 0:
                continue  # warm-up: page cache, moto's first call per operation
            result[side]["ms"].append(wall)
            result[side]["rss"].append(rss / 1024)
            result["calls"][side] = emu.calls()
    for side in which:
        notebooks = [name(f"cold-{side}", i + 1) for i in range(runs + 1)]
        result[side]["tagged"] = f"{check_tags(emu, notebooks)}/{len(notebooks)}"
        result[side]["ms"], result[side]["rss"] = stats(result[side]["ms"]), stats(result[side]["rss"])
    log("cold: " + ", ".join(f"{'ours' if side == 'rs' else 'Custodian'} {result[side]['ms']['median']:.0f} ms"
                             for side in which))
    return result


def warm_loops(sides: Sides, emu: Emulator, events: int, floor_calls: int, which: tuple = ("rs", "py")) -> dict:
    """One process per side handling `events` events in a row, each in an account holding exactly those
    notebooks; the first event (connections, caches, Custodian's imports) is left out of the statistics.
    `which` picks the sides (ours also measures the floor)."""
    result = {}
    for side in which:
        tagging_world(sides, emu)
        prefix = f"warm-{side}"
        seed(sides, emu, prefix, events, CALLER_TAG)
        path = write_events(prefix, 1, events)
        if side == "rs":
            out = sides.drive(emu, "warm", str(TAG_POLICY), str(path))
            if out["outcomes"] != {"tagged": events}:
                raise SystemExit(f"warm loop: {out['outcomes']}")
            # The floor: the same account, the same SDK stack, one bare AddTags per call.
            floor = sides.drive(emu, "floor", arn(name(prefix, 1)), str(floor_calls))
            result["floor"] = stats(floor["ms"][1:])
            result["floor_list_tags"] = stats(floor["list_tags_ms"][1:])
        else:
            out = sides.c7n(emu, "warm", str(sides.lambda_dir), str(path))
        result[side] = stats(out["ms"][1:])
        result[side]["first"] = out["ms"][0]
        result[side]["account"] = events
        result[side]["tagged"] = f"{check_tags(emu, [name(prefix, i) for i in range(1, events + 1)])}/{events}"
    log("warm: " + ", ".join(f"{'ours' if side == 'rs' else 'Custodian'} {result[side]['median']:.2f} ms"
                             for side in which) + (f", floor {result['floor']['median']:.2f} ms" if "rs" in which else ""))
    return result


def calls_per_event(sides: Sides, emu: Emulator, sizes: tuple, per_side: int) -> dict:
    """AWS calls (emulator-counted) per event as the account grows: `per_side` events per side in one
    process each; the first event is a cold process's, the others warm."""
    tagging_world(sides, emu)
    result, have = {}, 0
    for size in sizes:
        filler = size - have - 2 * per_side
        seed(sides, emu, f"pop{size}", filler)
        row = {}
        for side in ("rs", "py"):
            prefix = f"calls{size}-{side}"
            seed(sides, emu, prefix, per_side, CALLER_TAG)
            path = write_events(prefix, 1, per_side)
            if side == "rs":
                out = sides.drive(emu, "warm", str(TAG_POLICY), str(path), "--count-calls")
            else:
                out = sides.c7n(emu, "warm", str(sides.lambda_dir), str(path), "--count-calls")
            row[side] = {"first": out["calls"][0], "warm": out["calls"][1:], "warm_ms": out["ms"][1:],
                         "tagged": check_tags(emu, [name(prefix, i) for i in range(1, per_side + 1)])}
        have = size
        row["by_action"] = {}
        result[size] = row
        log(f"calls at {size}: ours {row['rs']['first']}/{row['rs']['warm']}, "
            f"Custodian {row['py']['first']}/{row['py']['warm']}")
    # One more event per side at the largest size, in a fresh process, counted by action.
    size = sizes[-1]
    prefix = f"actions{size}"
    seed(sides, emu, prefix + "-py", 1, CALLER_TAG)
    seed(sides, emu, prefix + "-rs", 1, CALLER_TAG)
    for side in ("rs", "py"):
        path = write_events(f"{prefix}-{side}", 1, 1)
        emu.reset_calls()
        if side == "rs":
            sides.drive(emu, "warm", str(TAG_POLICY), str(path))
        else:
            sides.c7n(emu, "warm", str(sides.lambda_dir), str(path))
        result[size]["by_action"][side] = emu.calls()["by_action"]
    return result


def enforcement(sides: Sides, latencies: tuple, sizes: tuple) -> dict:
    """Stop `size` in-scope notebooks on one budget alert: concurrency 8 (the example policy's) against
    concurrency 1 (the sequential single-call baseline), in an emulator answering after `latency` ms."""
    policies = {c: enforce_policy(c) for c in (8, 1)}
    result = {}
    for latency in latencies:
        with emulator(latency) as emu:
            sides.drive(emu, "setup-budget")
            have, seeded = 0, []
            for size in sizes:
                prefix = f"mkt{size}"
                seed(sides, emu, prefix, size - have, "cost-center=CC-4100")
                seeded.append((prefix, size - have))
                have = size
                for i, conc in enumerate((8, 1) if (size // 1000 + latency) % 2 == 0 else (1, 8)):
                    if i:
                        for p, n in seeded:
                            sides.drive(emu, "start-notebooks", p, str(n))
                    emu.reset_calls()
                    out = sides.drive(emu, "enforce", str(policies[conc]), str(BUDGET_ALERT))
                    calls = emu.calls()
                    done = out["results"].get("stop-notebooks done", 0)
                    if done != size:
                        raise SystemExit(f"enforcement stopped {done} of {size}: {out['results']}")
                    result[(latency, size, conc)] = {
                        "secs": out["secs"], "calls": calls["total"], "by_action": calls["by_action"],
                        "max_in_flight": out["max_in_flight"]}
                    log(f"enforce {size} at {latency} ms, concurrency {conc}: {out['secs']:.1f} s, "
                        f"{calls['total']} calls, max in flight {out['max_in_flight']}")
                if size != sizes[-1]:
                    for p, n in seeded:
                        sides.drive(emu, "start-notebooks", p, str(n))
    return result


def throttled_enforcement(sides: Sides, size: int, per_second: int) -> dict:
    """Stop `size` in-scope notebooks on one alert (concurrency 8) with `StopNotebookInstance` throttled by the
    emulator to `per_second` calls a second: wall time against the floor `size / per_second`, and the share of
    stop calls that were throttled (each paced and issued again by Tagwarden's limiter)."""
    stop = "sagemaker.StopNotebookInstance"
    with emulator(0, f"{stop}={per_second}") as emu:
        sides.drive(emu, "setup-budget")
        seed(sides, emu, "thr", size, "cost-center=CC-4100")
        emu.reset_calls()
        out = sides.drive(emu, "enforce", str(enforce_policy(8)), str(BUDGET_ALERT))
        calls = emu.calls()
    done = out["results"].get("stop-notebooks done", 0)
    if done != size or out["outcome"] != "enforced":
        raise SystemExit(f"throttled enforcement stopped {done} of {size}: {out['outcome']} {out['results']}")
    stops, throttled = calls["by_action"].get(stop, 0), calls["throttled"].get(stop, 0)
    if stops - throttled != size:
        raise SystemExit(f"throttled enforcement: {stops} stops, {throttled} throttled, {size} notebooks")
    result = {"size": size, "per_second": per_second, "secs": out["secs"], "floor": size / per_second,
              "stops": stops, "throttled": throttled, "reported": out.get("throttled", 0),
              "max_in_flight": out["max_in_flight"]}
    log(f"throttled enforcement of {size} at {per_second}/s: {out['secs']:.1f} s (floor {size / per_second:.0f} s), "
        f"{throttled} of {stops} stops throttled, max in flight {out['max_in_flight']}")
    return result


def template_timeout(function: str) -> int:
    """The `Timeout` (seconds) infra/template.yaml gives the function whose logical id is `function`."""
    lines = TEMPLATE.read_text().splitlines()
    start = lines.index(f"  {function}:")
    for line in lines[start + 1:]:
        if re.match(r"^  \S", line):
            break
        found = re.match(r"^      Timeout: (\d+)\s*$", line)
        if found:
            return int(found.group(1))
    raise SystemExit(f"infra/template.yaml: no Timeout for {function}")


# What Lambda's SQS event source mapping calls (receive, delete, make visible again), not the function.
POLLER_ACTIONS = ("sqs.ReceiveMessage", "sqs.DeleteMessage", "sqs.ChangeMessageVisibility")
SWEEP_TYPES = "model,endpoint-config,training-job"


def queued_sweep(sides: Sides, size: int) -> dict:
    """The queued sweep over `size` resources (models, endpoint configs and training jobs, seeded 64 at a
    time): the auto-tagger built as its Lambda is (`from_env`, the sweep queue and ledger in the environment),
    the schedule, then the queue drained one SQS batch per invocation, each with the template's timeout. The
    driver fails unless every resource was visited exactly once; so does this unless AddTags was called once
    per resource."""
    timeout = template_timeout("AutoTaggerFunction")
    with emulator(0) as emu:
        table = sides.drive(emu, "setup-ledger")["table"]
        url = sides.drive(emu, "setup-queue", "tagwarden-sweep")["url"]
        arns = WORK / "sweep-arns.txt"
        seeded = sides.drive(emu, "seed-estate", "sw", str(size), str(arns))
        log(f"queued sweep: {size:,} resources seeded in {seeded['secs']:.1f} s")
        env = {"TAGWARDEN_SWEEP_QUEUE_URL": url, "TAGWARDEN_LEDGER_TABLE": table,
               "TAGWARDEN_SWEEP_TYPES": SWEEP_TYPES, "TAGWARDEN_POLICY_FILE": str(TAG_POLICY)}
        out = sides.drive(emu, "sweep-queue", str(arns), "--timeout", str(timeout), env=env)
    by_action = out["calls"]["by_action"]
    if out["add_tags"] != size or out["visited_once"] != size:
        raise SystemExit(f"queued sweep: {out['visited_once']} visited once, {out['add_tags']} AddTags, {size} resources")
    poller = sum(by_action.get(a, 0) for a in POLLER_ACTIONS)
    result = {"size": size, "seed_secs": seeded["secs"], "by_kind": seeded["by_kind"], "secs": out["secs"],
              "invocations": out["invocations"], "longest": out["longest_invocation_secs"], "timeout": timeout,
              "pages": out["pages"], "retried": out["retried_records"], "visited_once": out["visited_once"],
              "labels": out["labels"], "add_tags": out["add_tags"], "ledger": out["ledger"],
              "calls": out["calls"]["total"], "poller_calls": poller,
              "function_by_action": {k: v for k, v in by_action.items() if k not in POLLER_ACTIONS}}
    log(f"queued sweep of {size:,}: {out['secs']:.1f} s ({size / out['secs']:.0f}/s), {out['invocations']} invocations, "
        f"{(out['calls']['total'] - poller) / size:.2f} calls per resource (+{poller} the poller's)")
    return result


def continued_enforcement(sides: Sides, size: int, latency: int, shorter: tuple) -> list:
    """Stop `size` in-scope notebooks (emulator latency `latency` ms) on one alert with a policy of `notify,
    stop-notebooks`, through the budget-enforcer built as its Lambda is (`from_env`: ledger, continuation queue,
    alert topics), each invocation given the deadline of the template's function timeout; every `continue`
    message is handed to the next invocation. When that one invocation was enough, the run is repeated (the
    notebooks started again, a new alert) with `shorter` invocations, so that continuation is exercised. Each
    run must stop every notebook exactly once and send one summary."""
    timeout = template_timeout("BudgetEnforcerFunction")
    rows = []
    with emulator(latency) as emu:
        topic = sides.drive(emu, "setup-budget")["topic"]
        table = sides.drive(emu, "setup-ledger")["table"]
        url = sides.drive(emu, "setup-queue", "tagwarden-continuations")["url"]
        summaries = sides.drive(emu, "setup-queue", "summaries", "--subscribe", topic)["url"]
        seed(sides, emu, "cont", size, "cost-center=CC-4100")
        alert = json.loads(BUDGET_ALERT.read_text())
        env = {"TAGWARDEN_CONTINUATION_QUEUE_URL": url, "TAGWARDEN_LEDGER_TABLE": table,
               "TAGWARDEN_ALERT_TOPICS": alert["Records"][0]["Sns"]["TopicArn"],
               "TAGWARDEN_POLICY_FILE": str(enforce_policy(8, "notify, stop-notebooks"))}
        windows = [("timeout", timeout)]
        while windows:
            kind, value = windows.pop(0)
            if rows:
                sides.drive(emu, "start-notebooks", "cont", str(size))
            emu.reset_calls()
            out = sides.drive(emu, "enforce-continued", str(BUDGET_ALERT), f"bench-continued-{len(rows) + 1}",
                              f"--{kind}", str(value), "--summaries", summaries, env=env)
            calls = emu.calls()
            stops = calls["by_action"].get("sagemaker.StopNotebookInstance", 0)
            done = out["results"].get("stop-notebooks done", 0)
            if out["last"] != "enforced" or done != size or stops != size or out["summaries"] != 1:
                raise SystemExit(f"continued enforcement ({kind} {value}): {out['last']}, {done} done, {stops} stop "
                                 f"calls, {out['summaries']} summaries for {size} notebooks: {out}")
            rows.append({"size": size, "latency": latency, "window": out["window"], "secs": out["secs"],
                         "invocations": out["invocations"], "longest": out["longest_invocation_secs"],
                         "outcomes": out["outcomes"], "calls": calls["total"], "by_action": calls["by_action"],
                         "summaries": out["summaries"], "stops": stops})
            log(f"continued enforcement of {size:,} at {latency} ms, {kind} {value}: {out['secs']:.1f} s, "
                f"{out['invocations']} invocations, {calls['total']:,} calls, {out['summaries']} summary")
            if len(rows) == 1 and out["invocations"] == 1:
                windows.append(shorter)
    return rows


def enforce_policy(concurrency: int, actions: str = "stop-notebooks") -> Path:
    """The example policy's tag section, and one budget rule that takes `actions` at 100 % (only stops
    notebooks, unless told otherwise)."""
    tags = TAG_POLICY.read_text().split("\nbudgets:")[0]
    suffix = "" if actions == "stop-notebooks" else "-" + re.sub(r"\W+", "-", actions)
    path = WORK / f"enforce-c{concurrency}{suffix}.yaml"
    path.write_text(tags + f"""
budgets:
  notify_topic_arn: arn:aws:sns:{REGION}:{ACCOUNT}:tagwarden-enforcement
  concurrency: {concurrency}
  max_resources_per_action: 100000
  rules:
    - budget: ml-*
      scope: from-budget
      steps:
        - {{at: 100, actions: [{actions}]}}
""")
    return path


def artifacts(c7n: dict, build_zips: bool) -> dict:
    """Sizes of the two Lambda zips (built by cargo-lambda) and of Custodian's policy archive."""
    out = {"c7n": c7n["zip_bytes"], "c7n_files": c7n["files"]}
    roots = [target_dir() / "lambda", REPO / "target" / "lambda", Path("/tmp/lambda-target/lambda")]
    found = next((r for r in roots if all((r / f / "bootstrap.zip").exists()
                                          for f in ("auto-tagger", "budget-enforcer"))), None)
    cargo_lambda = REPO / ".venv-tools" / "bin" / "cargo-lambda"
    if found is None and build_zips and cargo_lambda.exists():
        log("building the Lambda zips with cargo-lambda (make package)")
        env = dict(os.environ, PATH=f"{cargo_lambda.parent}:{os.environ['PATH']}")
        subprocess.run(["cargo", "lambda", "build", "--release", "--output-format", "zip", "--bin", "auto-tagger",
                        "--bin", "budget-enforcer"], cwd=REPO, env=env, check=True)
        found = target_dir() / "lambda"
    for f in ("auto-tagger", "budget-enforcer"):
        out[f] = (found / f / "bootstrap.zip").stat().st_size if found else None
    out["zips_from"] = str(found) if found else None
    site = next((C7N_VENV / "lib").glob("python3*/site-packages"))
    out["boto_mb"] = sum(p.stat().st_size for d in ("boto3", "botocore") for p in (site / d).rglob("*")
                         if p.is_file()) / 1e6
    return out


# ---------------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {cpu}, {mem / 1048576:.1f} GiB RAM, " \
           f"{platform.system()} {platform.release()}"


def fmt_ms(s: dict, digits: int = 1) -> str:
    return f"{s['median']:.{digits}f} ms ({s['min']:.{digits}f}–{s['max']:.{digits}f}, n={s['n']})"


def verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def table(r: dict, smoke: bool) -> str:
    c, w, calls, enf, art = r["cold"], r["warm"], r["calls"], r["enforce"], r["artifacts"]
    rows = [("Machine", r["machine"], r["versions"], "", "", "")]
    ratio = c["py"]["ms"]["median"] / c["rs"]["ms"]["median"]
    rows.append(("Cold start, wall: fresh process, load config, one CreateNotebookInstance event until tags are "
                 "written (median, min–max)", fmt_ms(c["rs"]["ms"], 0), fmt_ms(c["py"]["ms"], 0),
                 f"{ratio:.1f}× faster", "≥ 20×", verdict(ratio >= 20)))
    ratio_rss = c["py"]["rss"]["median"] / c["rs"]["rss"]["median"]
    rows.append((f"Cold start, peak RSS ({'GNU time %M' if TIME.exists() else 'wait4 ru_maxrss'} of the process, median)",
                 f"{c['rs']['rss']['median']:.1f} MiB", f"{c['py']['rss']['median']:.1f} MiB",
                 f"1/{ratio_rss:.1f}", "≤ 1/6", verdict(ratio_rss >= 6)))
    rows.append(("Cold start, AWS calls (last run, by action)", calls_text(c["calls"]["rs"]),
                 calls_text(c["calls"]["py"]), "", "", ""))
    warm_ratio = w["py"]["median"] / w["rs"]["median"]
    floor_ratio = w["rs"]["median"] / w["floor"]["median"]
    rows.append((f"Warm per-event latency, one process, {w['rs']['n'] + 1} events in a row "
                 f"(median; p90; first event apart; account of {w['rs']['account']} notebooks)",
                 f"{w['rs']['median']:.2f} ms; p90 {w['rs']['p90']:.2f} ms; first {w['rs']['first']:.0f} ms",
                 f"{w['py']['median']:.1f} ms; p90 {w['py']['p90']:.1f} ms; first {w['py']['first']:.0f} ms",
                 f"{warm_ratio:.1f}× faster", "≥ 10×", verdict(warm_ratio >= 10)))
    rows.append((f"Floor: one bare AddTags from the Rust SDK (median of {w['floor']['n']})",
                 f"{w['floor']['median']:.2f} ms (p90 {w['floor']['p90']:.2f}); a bare ListTags: "
                 f"{w['floor_list_tags']['median']:.2f} ms", "",
                 f"warm = {floor_ratio:.2f}× floor", "≤ 2.2×", verdict(floor_ratio <= 2.2)))
    rows.append(("Tags written and checked (cold / warm)", f"{c['rs']['tagged']} / {w['rs']['tagged']}",
                 f"{c['py']['tagged']} / {w['py']['tagged']}", "", "", ""))
    flat_rs = len({(calls[s]["rs"]["first"], *calls[s]["rs"]["warm"]) for s in calls}) == 1
    for size, row in calls.items():
        rows.append((f"AWS calls per event, {size:,} notebooks in the account (first event of a process; "
                     f"then each warm event)", f"{row['rs']['first']}; {', '.join(map(str, row['rs']['warm']))}",
                     f"{row['py']['first']}; {', '.join(map(str, row['py']['warm']))}",
                     f"Custodian warm {statistics.median(row['py']['warm_ms']):.0f} ms/event" if row['py']['warm_ms']
                     else "", "constant" if size == list(calls)[-1] else "",
                     verdict(flat_rs) if size == list(calls)[-1] else ""))
    big = list(calls)[-1]
    rows.append((f"… by action at {big:,} notebooks (one event, fresh process)", calls_text({"by_action": calls[big]["by_action"]["rs"]}),
                 calls_text({"by_action": calls[big]["by_action"]["py"]}), "", "", ""))
    for (latency, size, conc), e in sorted(enf.items()):
        if conc != 8:
            continue
        seq = enf[(latency, size, 1)]
        speed = seq["secs"] / e["secs"]
        target = "≥ 5×" if latency == 30 and size == min(s for _, s, _ in enf) else ""
        ok = verdict(speed >= 5 and e["max_in_flight"] <= 8) if target else ""
        rows.append((f"Budget enforcement: stop {size:,} in-scope notebooks, emulator latency {latency} ms "
                     f"(concurrency 8 vs sequential concurrency 1; wall, AWS calls, max in flight)",
                     f"{e['secs']:.1f} s, {e['calls']:,} calls, max {e['max_in_flight']} in flight",
                     f"sequential: {seq['secs']:.1f} s, {seq['calls']:,} calls, max {seq['max_in_flight']}",
                     f"{speed:.1f}× faster", target, ok))
    t = r["throttled"]
    rows.append((f"Budget enforcement under throttling: stop {t['size']:,} notebooks with StopNotebookInstance "
                 f"throttled at {t['per_second']}/s (concurrency 8; wall against the floor N / rate, share of stop "
                 f"calls throttled)",
                 f"completes: {t['secs']:.1f} s, {t['throttled']:,} of {t['stops']:,} stops throttled "
                 f"({100 * t['throttled'] / max(t['stops'], 1):.0f} %), max {t['max_in_flight']} in flight",
                 f"floor {t['floor']:.0f} s", f"{t['secs'] / t['floor']:.2f}× the floor", "completes, each once",
                 verdict(t["stops"] - t["throttled"] == t["size"])))
    rows.append(sweep_row(r["sweep"]))
    rows += continued_rows(r["continued"])
    zips = [art.get("auto-tagger"), art.get("budget-enforcer")]
    ours = (f"auto-tagger {zips[0] / 1e6:.2f} MB, budget-enforcer {zips[1] / 1e6:.2f} MB (provided.al2023: "
            "needs nothing)") if all(zips) else "zips not built (`make package`)"
    theirs = (f"{art['c7n'] / 1e6:.2f} MB ({art['c7n_files']} files; python3.11 runtime + its boto3/botocore, "
              f"{art['boto_mb']:.0f} MB unpacked)")
    rows.append(("Artifact: deployment zip", ours, theirs,
                 f"{art['c7n'] / zips[0]:.2f}× (auto-tagger vs archive)" if all(zips) else "", "", ""))
    head = ["Measure", "Tagwarden", "Cloud Custodian / baseline", "Ratio", "Target", "Met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |" for row in rows]
    title = "Tagwarden vs Cloud Custodian" + (" — SMOKE RUN (tiny N, not a measurement)" if smoke else "")
    return f"## {title}\n\n" + "\n".join(lines) + "\n"


def per_resource(by_action: dict, size: int) -> str:
    """`ListTags 1.00, AddTags 1.00, …, ListModels ×67` per resource, most frequent first; an action made
    less than once per 200 resources is given as its count."""
    def one(action: str, n: int) -> str:
        return f"{action.split('.', 1)[1]} {n / size:.2f}" if n / size >= 0.005 else f"{action.split('.', 1)[1]} ×{n:,}"
    return ", ".join(one(k, v) for k, v in sorted(by_action.items(), key=lambda kv: -kv[1])) or "none"


def sweep_row(w: dict) -> tuple:
    function_calls = sum(w["function_by_action"].values())
    kinds = ", ".join(f"{n:,} {k.replace('-', ' ')}s" for k, n in w["by_kind"].items())
    rate = w["size"] / w["secs"]
    ours = (f"{w['secs']:.1f} s, {rate:.0f} resources/s; {w['invocations']} invocations ({w['pages']} pages, "
            f"{w['retried']} retried; longest {w['longest']:.1f} s of {w['timeout']} s); "
            f"{function_calls / w['size']:.2f} AWS calls per resource (the function's: "
            f"{per_resource(w['function_by_action'], w['size'])}; plus {w['poller_calls']:,} of the event source's "
            f"receives and deletes)")
    ledger = w["ledger"]
    proof = (f"visited exactly once: {w['visited_once']:,} of {w['size']:,} (the handler's outcomes: "
             f"{', '.join(f'{k} {v:,}' for k, v in w['labels'].items())}); AddTags {w['add_tags']:,} (emulator); "
             f"ledger: {ledger['counts'].get('tagged', 0):,} tagged over {ledger['pages_done']} pages, "
             f"run {'complete' if ledger['complete'] else 'INCOMPLETE'}. Seeding took {w['seed_secs']:.0f} s")
    ok = w["visited_once"] == w["size"] == w["add_tags"] and ledger["complete"] and w["longest"] <= w["timeout"]
    return (f"Queued sweep: {w['size']:,} resources ({kinds}) through the sweep queue, one SQS batch (≤ 5 pages "
            f"of 100) per invocation, as Lambda's event source delivers them (wall, rate, invocations, AWS calls "
            f"per resource, visits)", ours, proof, f"{rate:.0f} resources/s", "each visited once", verdict(ok))


def window_text(window: dict) -> str:
    if "timeout_secs" in window:
        return f"function timeout {window['timeout_secs']} s (work stops {window['work_secs']} s in)"
    return f"work window {window['work_ms']} ms per invocation"


def continued_rows(runs: list) -> list:
    rows = []
    alone = runs[0]
    for i, c in enumerate(runs):
        source = "the template's" if i == 0 else "shorter, so that continuation is exercised"
        function = {k: v for k, v in c["by_action"].items() if k not in POLLER_ACTIONS}
        poller = c["calls"] - sum(function.values())
        ours = (f"completes: {c['secs']:.1f} s, {c['invocations']} invocation{'s' if c['invocations'] != 1 else ''} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(c['outcomes'].items()))}; longest {c['longest']:.1f} s), "
                f"{sum(function.values()):,} AWS calls ({per_resource(function, c['size'])} per notebook; plus "
                f"{poller:,} of the event source's receives and deletes), {c['summaries']} summary")
        if i == 0 and c["invocations"] == 1 and len(runs) > 1:
            other = "one invocation fits it all at this timeout: the next row makes it continue"
        elif i:
            other = f"in one invocation: {alone['secs']:.1f} s"
        else:
            other = ""
        ratio = f"{c['secs'] / alone['secs']:.2f}× the one-invocation wall" if i else ""
        within = c["longest"] <= c["window"].get("timeout_secs", float("inf"))
        ok = c["stops"] == c["size"] and c["summaries"] == 1 and within
        rows.append((f"Budget enforcement through continuations: stop {c['size']:,} in-scope notebooks (policy "
                     f"notify, stop-notebooks; concurrency 8), emulator latency {c['latency']} ms, "
                     f"{window_text(c['window'])} — {source} (wall, invocations, AWS calls, summaries)",
                     ours, other, ratio, "completes, each stopped once, summary once", verdict(ok)))
    return rows


def calls_text(calls: dict) -> str:
    by = calls.get("by_action", {})
    return ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(by.items())) or "none"


# ---------------------------------------------------------------------------------------------------------

def main() -> None:
    try:
        import boto3  # noqa: F401  (reading tags back)
    except ImportError:
        venv_python = REPO / ".venv" / "bin" / "python"
        if not venv_python.exists():
            raise SystemExit("bench/run.py needs the emulator's venv: run `make venv`")
        os.execv(venv_python, [str(venv_python), __file__, *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="1 iteration, tiny N: checks the harness (~2 min)")
    parser.add_argument("--out", type=Path, help="where to write the table (default bench/RESULTS.md)")
    args = parser.parse_args()
    plan = SMOKE if args.smoke else FULL
    out_path = args.out or (WORK / "RESULTS-smoke.md" if args.smoke else BENCH / "RESULTS.md")
    started = time.time()
    WORK.mkdir(exist_ok=True)

    c7n_version = ensure_c7n()
    cli, driver = build(plan["release"])
    c7n = json.loads(subprocess.run([C7N_PY, BENCH / "c7n_side.py", "package", BENCH / "c7n-policy.yml",
                                     WORK / "c7n"], capture_output=True, text=True, check=True).stdout)
    sides = Sides(cli, driver, Path(c7n["lambda_dir"]))
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.split()[1]
    moto = subprocess.run([REPO / ".venv" / "bin" / "python", "-c",
                           "from importlib.metadata import version; print(version('moto'))"],
                          capture_output=True, text=True).stdout.strip()
    results = {"machine": machine(),
               "versions": f"rustc {rustc} ({'release' if plan['release'] else 'debug'} build), c7n {c7n_version} "
                           f"on Python {platform.python_version()}, moto {moto}"}
    with emulator(0) as emu:
        results["cold"] = cold_starts(sides, emu, plan["cold_runs"])
        results["warm"] = warm_loops(sides, emu, plan["warm_events"], plan["floor_calls"])
        results["calls"] = calls_per_event(sides, emu, plan["sizes"], plan["calls_events"])
    results["enforce"] = enforcement(sides, plan["latencies"], plan["enforce_sizes"])
    results["throttled"] = throttled_enforcement(sides, *plan["throttled"])
    results["sweep"] = queued_sweep(sides, plan["sweep"])
    results["continued"] = continued_enforcement(sides, *plan["continued"])
    results["artifacts"] = artifacts(c7n, build_zips=not args.smoke)

    text = table(results, args.smoke)
    text += (f"\nRun {time.strftime('%Y-%m-%d %H:%M %Z')} by `{'make bench-smoke' if args.smoke else 'make bench'}` "
             f"in {time.time() - started:.0f} s; all against the local emulator (tests/emulator). What each figure "
             "means and how it is taken: [bench/README.md](README.md).\n")
    print(text)
    out_path.write_text(text)
    (WORK / ("results-smoke.json" if args.smoke else "results.json")).write_text(
        json.dumps({k: v for k, v in results.items() if k != "enforce"}
                   | {"enforce": {f"{l}ms-{s}-c{c}": v for (l, s, c), v in results["enforce"].items()}},
                   indent=1, default=str))
    log(f"wrote {out_path} in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
