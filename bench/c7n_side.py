"""Cloud Custodian's side of the benchmark; runs in bench/.venv-c7n (see bench/README.md).

  package POLICY OUT_DIR      build the Lambda archive c7n's `mu` builds for the policy (PolicyLambda:
                              c7n + config.json + custodian_policy.py) into OUT_DIR/custodian-archive.zip
                              and unpack it into OUT_DIR/lambda/; prints {"zip_bytes", "files"}.
  cold LAMBDA_DIR EVENT       one event, as a fresh Lambda would: import the archive's handler from its
                              folder, `custodian_policy.run(event, context)`.
  warm LAMBDA_DIR EVENTS.jsonl [--count-calls]
                              one interpreter, every event in a row through dispatch_event; prints the
                              time (and the emulator-counted AWS calls) of each.
"""
import json
import os
import sys
import time
import urllib.request
import uuid


class Context:
    """The parts of a Lambda context object a handler may read."""

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "custodian-sagemaker-notebook-auto-tag"
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            "arn:aws:lambda:us-east-1:123456789012:function:" + self.function_name)
        self.memory_limit_in_mb = 512
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 300000


def package(policy_path, out_dir):
    import zipfile
    from c7n import mu
    from c7n.config import Config
    from c7n.loader import PolicyLoader
    from c7n.resources import load_resources

    load_resources(("aws.sagemaker-notebook",))
    config = Config.empty(region="us-east-1", account_id="123456789012")
    policy = list(PolicyLoader(config).load_file(policy_path))[0]
    archive = mu.PolicyLambda(policy).get_archive()
    os.makedirs(out_dir, exist_ok=True)
    zip_path = os.path.join(out_dir, "custodian-archive.zip")
    with open(zip_path, "wb") as f:
        f.write(archive.get_bytes())
    archive.remove()
    lambda_dir = os.path.join(out_dir, "lambda")
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(lambda_dir)
        files = len(z.namelist())
    print(json.dumps({"zip_bytes": os.path.getsize(zip_path), "files": files,
                      "zip": zip_path, "lambda_dir": lambda_dir}))


def enter(lambda_dir):
    """As the Lambda runtime does: the unpacked archive is the working directory and first on sys.path."""
    lambda_dir = os.path.abspath(lambda_dir)
    os.chdir(lambda_dir)
    sys.path.insert(0, lambda_dir)


def cold(lambda_dir, event_path):
    with open(event_path) as f:
        event = json.load(f)
    enter(lambda_dir)
    import custodian_policy
    result = custodian_policy.run(event, Context())
    print(json.dumps({"resources": len(result) if isinstance(result, list) else result}))


def emulator_calls():
    url = os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/_tagwarden/calls"
    with urllib.request.urlopen(url) as r:
        return json.load(r)["total"]


def warm(lambda_dir, events_path, count_calls):
    with open(events_path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    enter(lambda_dir)
    started = time.perf_counter()
    import custodian_policy
    init_ms = (time.perf_counter() - started) * 1000
    ms, calls = [], []
    before = emulator_calls() if count_calls else 0
    for event in events:
        started = time.perf_counter()
        custodian_policy.run(event, Context())
        ms.append((time.perf_counter() - started) * 1000)
        if count_calls:
            after = emulator_calls()
            calls.append(after - before)
            before = after
    print(json.dumps({"init_ms": init_ms, "ms": ms, "calls": calls}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "package":
        package(*args)
    elif cmd == "cold":
        cold(*args)
    elif cmd == "warm":
        warm(args[0], args[1], "--count-calls" in args)
    else:
        sys.exit(__doc__)
