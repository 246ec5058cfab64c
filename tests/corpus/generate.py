#!/usr/bin/env python3
"""Writes Tagwarden's bad-input corpus: malformed and hostile events for both functions, and broken policies.

    python3 tests/corpus/generate.py          # (re)write tests/corpus/{auto-tagger,budget-enforcer,policy}/ and MANIFEST.json
    python3 tests/corpus/generate.py --check  # exit 1 if the committed corpus differs from what this script writes

Deterministic: no clock, no randomness. Every case is one file whose name says what it is; MANIFEST.json lists
each with the class the test (tests/e2e/corpus.rs) expects and a one-line description:

- auto-tagger, budget-enforcer
  - "not-json": the bytes are not a JSON document (or exceed serde_json's nesting limit of 128). The Lambda
    runtime deserializes the payload into a serde_json::Value before the handler runs and fails the invocation
    itself, so the handler never sees these. Tested through serde_json (what the runtime does) and through the
    CLI's `replay`, whose `read_json` is the same step, which must exit non-zero with "is not JSON".
  - "skipped": the handler returns a skipped outcome with a non-empty reason containing `contains`.
  - "rejected" (budget-enforcer): handle_lambda returns the rejected outcome (never retried) whose error
    contains `contains`.
  - "restored" (budget-enforcer): a well-formed restore command for a budget with nothing to undo.
- policy: "invalid": Policy::from_file fails; the message contains every string in `contains` (key path and problem).
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
# A model the test never creates: every well-formed create event ends at "resource no longer exists".
MISSING_MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/corpus-model-that-does-not-exist"
NOT_JSON_ENTRY = "runtime: not a JSON document; the Lambda runtime rejects it before the handler, `replay` exits non-zero"


class Corpus:
    def __init__(self):
        self.files = {}  # relative path -> bytes
        self.cases = []

    def add(self, function, name, data, expect, description, contains=None, entry="handler"):
        ext = "json" if expect != "not-json" else "bin"
        if function == "policy":
            ext = "yaml"
        rel = f"{function}/{name}.{ext}"
        if rel in self.files:
            raise SystemExit(f"duplicate case {rel}")
        if function == "policy":
            data = data.encode("utf-8")
        elif not isinstance(data, bytes):
            data = (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        self.files[rel] = data
        case = {"file": rel, "function": function, "expect": expect, "description": description}
        if contains is not None:
            case["contains"] = contains if isinstance(contains, list) else [contains]
        if expect == "not-json":
            entry = NOT_JSON_ENTRY
        case["entry"] = entry
        self.cases.append(case)

    def manifest(self):
        counts = {}
        for case in self.cases:
            key = f"{case['function']}/{case['expect']}"
            counts[key] = counts.get(key, 0) + 1
        doc = {
            "generated_by": "tests/corpus/generate.py",
            "classes": {
                "not-json": "not a JSON document: the Lambda runtime rejects it before the handler; `replay` exits non-zero",
                "skipped": "the handler's skipped outcome, with a reason containing `contains`",
                "rejected": "budget-enforcer handle_lambda's rejected outcome (not retried), error containing `contains`",
                "restored": "a well-formed restore command with nothing to undo",
                "unverified": "budget-enforcer's unverified outcome: the budget's own record does not confirm the alert "
                              "(here: no such budget); nothing done but its one notice (sns.Publish), reason containing "
                              "`contains`",
                "invalid": "Policy::from_file fails with a message containing every `contains` string",
            },
            "counts": dict(sorted(counts.items())),
            "cases": self.cases,
        }
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------- auto-tagger

def identity():
    return {
        "type": "AssumedRole",
        "principalId": "AROAR7CIDEPLOYER4K8JD:corpus",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/corpus",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-deployer",
                "accountId": ACCOUNT,
                "userName": "ci-deployer",
            }
        },
    }


def ct(event_name="CreateModel", arn_field="modelArn", arn=MISSING_MODEL, request=None, **detail_overrides):
    detail = {
        "eventVersion": "1.09",
        "userIdentity": identity(),
        "eventTime": "2026-11-27T09:02:10Z",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": event_name,
        "awsRegion": REGION,
        "requestParameters": request if request is not None else {"modelName": "corpus-model-that-does-not-exist"},
        "responseElements": {arn_field: arn},
        "eventID": "00000000-0000-4000-8000-000000000001",
        "eventType": "AwsApiCall",
    }
    detail.update(detail_overrides)
    return {
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000000",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-11-27T09:02:10Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


WRONG_TYPES = [("null", None), ("number", 42), ("bool", True), ("array", ["x"]), ("object", {"x": 1})]
GONE = "resource no longer exists"


def auto_tagger(c):
    f = "auto-tagger"
    base = ct()
    base_text = json.dumps(base, indent=1)
    c.add(f, "control-well-formed-missing-resource", base, "skipped",
          "control: a well-formed CreateModel for a model that does not exist", GONE)

    # Not JSON at all: what the Lambda runtime would refuse.
    for cut in (1, 2, 17, 100, 400, len(base_text) // 2, len(base_text) - 2, len(base_text) - 1):
        c.add(f, f"truncated-at-{cut}-bytes", base_text[:cut].encode(), "not-json",
              f"a create event cut after {cut} bytes")
    raw_not_json = {
        "empty-file": (b"", "zero bytes"),
        "whitespace-only": (b" \n\t\r\n", "only whitespace"),
        "plain-text-hello": (b"hello", "a word"),
        "single-quoted-json": (base_text.replace('"', "'").encode(), "JSON with single quotes (Python repr)"),
        "trailing-comma": (b'{"detail": {"eventName": "CreateModel",},}', "trailing commas"),
        "trailing-garbage": ((base_text + "}}garbage").encode(), "a valid event followed by garbage"),
        "two-documents": ((base_text + "\n" + base_text).encode(), "two JSON documents back to back (JSON lines)"),
        "nan-literal": (b'{"detail": {"eventName": NaN}}', "a NaN literal"),
        "infinity-literal": (b'{"detail": {"awsRegion": Infinity}}', "an Infinity literal"),
        "comments": (b'// a comment\n{"detail": {}}', "JavaScript comments"),
        "utf8-bom": (b"\xef\xbb\xbf" + base_text.encode(), "a valid event behind a UTF-8 byte-order mark"),
        "utf16-encoded": (base_text.encode("utf-16"), "the event encoded as UTF-16"),
        "invalid-utf8-in-string": (b'{"detail": {"eventName": "Create\xff\xfeModel"}}', "invalid UTF-8 inside a string"),
        "nul-bytes": (b"\x00" * 64, "64 NUL bytes"),
        "raw-control-char-in-string": (b'{"detail": {"eventName": "Create\x01Model"}}', "an unescaped control character in a string"),
        "lone-surrogate-escape": (b'{"detail": {"eventName": "\\ud800"}}', "a lone UTF-16 surrogate escape"),
        "bad-escape": (b'{"detail": {"eventName": "\\q"}}', "an invalid escape sequence"),
        "unterminated-string": (b'{"detail": {"eventName": "CreateModel', "a string that never ends"),
        "yaml-instead-of-json": (b"detail:\n  eventName: CreateModel\n", "YAML instead of JSON"),
        "xml-instead-of-json": (b"<event><detail eventName='CreateModel'/></event>", "XML instead of JSON"),
        "html-error-page": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "an HTML error page"),
        "number-overflow-literal": (b"1e400", "a number literal beyond f64"),
        "deep-nesting-10000-arrays": (b"[" * 10000 + b"]" * 10000, "10,000 nested arrays (over serde_json's limit of 128)"),
        "deep-nesting-200-objects-in-detail": (
            b'{"detail": {"requestParameters": ' + b'{"a": ' * 200 + b"1" + b"}" * 200 + b"}}",
            "200 nested objects inside requestParameters (over the limit of 128)"),
        "deep-nesting-unclosed": (b"[" * 5000, "5,000 opening brackets and nothing else"),
    }
    for name, (data, description) in raw_not_json.items():
        c.add(f, name, data, "not-json", description)

    # JSON, but not an event object.
    for name, value in [("null", None), ("true", True), ("number", 42), ("string", "CreateModel"),
                        ("empty-array", []), ("array-of-the-event", [base])]:
        c.add(f, f"top-level-{name}", value, "skipped", f"the whole payload is {name}", "not a JSON object")
    positional_detail = ["sagemaker.amazonaws.com", "CreateModel", "AwsApiCall", "e", REGION, None, identity(), {},
                         {"modelArn": MISSING_MODEL}]
    c.add(f, "top-level-positional-array", ["id", "AWS API Call via CloudTrail", "aws.sagemaker", ACCOUNT, REGION,
                                            base["detail"]], "skipped",
          "the envelope's fields as an array in declaration order (serde would read it positionally)",
          "not a JSON object")
    c.add(f, "detail-positional-array", dict(base, detail=positional_detail), "skipped",
          "detail's fields as an array in declaration order (serde would read it positionally)", "no detail")

    # Missing envelopes.
    c.add(f, "empty-object", {}, "skipped", "an empty object", "no detail")
    c.add(f, "bare-cloudtrail-record-without-eventbridge-envelope", base["detail"], "skipped",
          "the CloudTrail record itself, without the EventBridge envelope", "no detail")
    c.add(f, "cloudtrail-log-file-records", {"Records": [base["detail"]]}, "skipped",
          "a CloudTrail log file (Records array) instead of an EventBridge event", "no detail")
    c.add(f, "sns-wrapped-event", {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": base_text}}]}, "skipped",
          "the event wrapped in an SNS notification", "no detail")
    c.add(f, "sqs-wrapped-event", {"Records": [{"eventSource": "aws:sqs", "body": base_text}]}, "skipped",
          "the event wrapped in an SQS message", "no detail")
    c.add(f, "detail-as-json-string", dict(base, detail=json.dumps(base["detail"])), "skipped",
          "detail holds the record as a JSON string", "no detail")
    for name, value in WRONG_TYPES:
        c.add(f, f"detail-{name}", dict(base, detail=value), "skipped", f"detail is {name}",
              "no detail" if name != "object" else "not a SageMaker event")
        event = json.loads(base_text)
        event["detail"]["userIdentity"]["sessionContext"] = value
        c.add(f, f"session-context-{name}", event, "skipped", f"userIdentity.sessionContext is {name}", GONE)

    # Wrong type in every field, one field at a time.
    envelope_fields = {"id": GONE, "detail-type": GONE, "source": "not a SageMaker event", "account": GONE,
                       "region": GONE, "time": GONE, "resources": GONE, "version": GONE}
    for field, reason in envelope_fields.items():
        for name, value in WRONG_TYPES:
            c.add(f, f"envelope-{field}-{name}", dict(base, **{field: value}), "skipped",
                  f"EventBridge field {field!r} is {name} (read as absent)", reason)
    detail_fields = {
        "eventSource": "not a SageMaker event", "eventName": "no eventName", "eventType": GONE, "eventID": GONE,
        "awsRegion": GONE, "eventVersion": GONE, "eventTime": GONE, "userIdentity": GONE,
        "requestParameters": GONE, "responseElements": "no modelArn in responseElements",
    }
    for field, reason in detail_fields.items():
        for name, value in WRONG_TYPES:
            event = json.loads(base_text)
            event["detail"][field] = value
            c.add(f, f"detail-{field}-{name}", event, "skipped", f"detail.{field} is {name}", reason)
    for name, value in WRONG_TYPES:
        event = json.loads(base_text)
        event["detail"]["errorCode"] = value
        reason = GONE if value is None else "failed call"
        c.add(f, f"detail-errorCode-{name}", event, "skipped",
              f"detail.errorCode is {name}: null is absent, any other value means the call failed", reason)
        event = json.loads(base_text)
        event["detail"]["responseElements"]["modelArn"] = value
        c.add(f, f"response-modelArn-{name}", event, "skipped", f"responseElements.modelArn is {name}",
              "no modelArn in responseElements")
        event = json.loads(base_text)
        event["detail"]["userIdentity"] = {k: value for k in identity()}
        c.add(f, f"user-identity-every-field-{name}", event, "skipped",
              f"every userIdentity field is {name}", GONE)
    nulls = {k: None for k in base}
    nulls["detail"] = {k: None for k in base["detail"]}
    c.add(f, "nulls-everywhere", nulls, "skipped", "every envelope and detail field is null", "not a SageMaker event")
    c.add(f, "nulls-everywhere-but-source", dict(nulls, source="aws.sagemaker",
          detail=dict(nulls["detail"], eventSource="sagemaker.amazonaws.com")), "skipped",
          "only the two source fields are set, everything else null", "no eventName")

    # Other services and other event kinds.
    others = {
        "ec2-run-instances": ("aws.ec2", "ec2.amazonaws.com", "RunInstances"),
        "s3-create-bucket": ("aws.s3", "s3.amazonaws.com", "CreateBucket"),
        "iam-create-role": ("aws.iam", "iam.amazonaws.com", "CreateRole"),
        "amplify-create-app": ("aws.amplify", "amplify.amazonaws.com", "CreateApp"),
        "sagemaker-geospatial-create": ("aws.sagemaker-geospatial", "sagemaker-geospatial.amazonaws.com", "CreateModel"),
        "source-sagemaker-eventsource-ec2": ("aws.sagemaker", "ec2.amazonaws.com", "CreateModel"),
        "source-ec2-eventsource-sagemaker": ("aws.ec2", "sagemaker.amazonaws.com", "CreateModel"),
        "eventsource-upper-case": ("aws.sagemaker", "SAGEMAKER.AMAZONAWS.COM", "CreateModel"),
        "source-with-nul": ("aws.sagemaker\u0000", "sagemaker.amazonaws.com", "CreateModel"),
        "source-with-trailing-space": ("aws.sagemaker ", "sagemaker.amazonaws.com", "CreateModel"),
    }
    for name, (source, event_source, event_name) in others.items():
        event = ct(event_name=event_name)
        event["source"] = source
        event["detail"]["eventSource"] = event_source
        c.add(f, f"other-service-{name}", event, "skipped", f"source {source!r}, eventSource {event_source!r}",
              "not a SageMaker event")
    for detail_type in ["AWS Service Event via CloudTrail", "AWS Console Sign In via CloudTrail",
                        "SageMaker Training Job State Change", "Scheduled Event", "", "aws api call via cloudtrail"]:
        slug = detail_type.lower().replace(" ", "-") or "empty"
        c.add(f, f"detail-type-{slug}", dict(ct(), **{"detail-type": detail_type}), "skipped",
              f"detail-type {detail_type!r}", "not a CloudTrail API call")

    # Failed calls.
    for code in ["AccessDenied", "ValidationException", "ResourceLimitExceeded", "ResourceInUse",
                 "ThrottlingException", "InternalFailure", "Client.UnauthorizedOperation"]:
        event = ct(errorCode=code, errorMessage=f"corpus: {code}", responseElements=None)
        c.add(f, f"failed-call-{code.lower().replace('.', '-')}", event, "skipped",
              f"CreateModel failed with {code}", f"failed call: {code}")
    event = ct(errorCode="AccessDenied")
    c.add(f, "failed-call-with-response-arn", event, "skipped",
          "errorCode set although responseElements carries an ARN", "failed call: AccessDenied")
    c.add(f, "failed-call-code-300-chars", ct(errorCode="E" * 300, responseElements=None), "skipped",
          "a 300-character errorCode", "failed call: EEEE")
    c.add(f, "failed-call-code-unicode", ct(errorCode="Zugriff verweigert \u202e\u0007", responseElements=None),
          "skipped", "an errorCode with an RTL override and a bell", "failed call")
    c.add(f, "failed-call-empty-code", ct(errorCode="", responseElements=None), "skipped",
          "an empty errorCode string", "failed call")

    # Operations that are not create calls Tagwarden handles.
    for op in ["AddTags", "DeleteTags"]:
        # Tag changes are handled (tamper protection), but these name no resource.
        c.add(f, f"tag-change-without-resource-{op.lower()}", ct(event_name=op), "skipped",
              f"a {op} call whose requestParameters name no resource", "no resourceArn in requestParameters")
    tag_changes = {
        "tag-change-s3-arn": ("DeleteTags", {"resourceArn": "arn:aws:s3:::bucket", "tagKeys": ["cost-center"]},
                              "a DeleteTags naming an S3 bucket", "not a SageMaker ARN"),
        "tag-change-workteam": ("AddTags", {"resourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/w",
                                            "tags": [{"key": "cost-center", "value": "CC-0000"}]},
                                "an AddTags on a kind Tagwarden does not tag", "is not one Tagwarden tags"),
        "tag-change-missing-model": ("DeleteTags", {"resourceArn": MISSING_MODEL, "tagKeys": ["cost-center"]},
                                     "a protected key deleted from a model that does not exist",
                                     "resource no longer exists"),
        "tag-change-10000-unprotected-keys": ("DeleteTags", {"resourceArn": MISSING_MODEL,
                                                             "tagKeys": [f"k{i}" for i in range(10_000)]},
                                              "10,000 unprotected keys deleted", "no protected key changed"),
        "tag-change-keys-not-strings": ("DeleteTags", {"resourceArn": MISSING_MODEL, "tagKeys": [1, None, {}]},
                                        "tagKeys of the wrong types", "the call names no tag keys"),
    }
    for name, (op, request, description, reason) in tag_changes.items():
        c.add(f, name, ct(event_name=op, request=request, responseElements=None), "skipped", description, reason)
    for op in ["DeleteEndpoint", "StopTrainingJob", "UpdateEndpoint", "DescribeModel",
               "ListModels", "CreatePresignedDomainUrl", "CreateModel ", "createmodel", "CREATEMODEL",
               "Create\u039codel", "CreateModel\u0000", "CreateModel\u200b", "", "Create" + "Model" * 60]:
        slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in op)[:40].strip("-").lower() or "empty"
        c.add(f, f"unsupported-operation-{slug}-{len(op)}-{sum(map(ord, op)) % 997}", ct(event_name=op), "skipped",
              f"eventName {op[:40]!r} ({len(op)} chars)", "unsupported operation")

    # ARNs that are not what they claim.
    bad_arns = {
        "empty": ("", "is not a SageMaker ARN"),
        "truncated-no-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model", "is not a SageMaker ARN"),
        "no-region": (f"arn:aws:sagemaker::{ACCOUNT}:model/x", "is not a SageMaker ARN"),
        "other-service": (f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0abc", "is not a SageMaker ARN"),
        "not-an-arn": ("corpus-model", "is not a SageMaker ARN"),
        "other-region": (f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model/corpus", "resource is in eu-west-1"),
        "china-partition": (f"arn:aws-cn:sagemaker:cn-north-1:{ACCOUNT}:model/corpus", "resource is in cn-north-1"),
        "region-with-control-chars": (f"arn:aws:sagemaker:us-east-1\u0007:{ACCOUNT}:model/x", "resource is in"),
        "other-account": (f"arn:aws:sagemaker:{REGION}:210987654321:model/corpus-elsewhere", GONE),
        "unicode-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/\u6a21\u578b-\u00fc\u00f1\u00ee", GONE),
        "emoji-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/\U0001f525\U0001f4b8", GONE),
        "rtl-override-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/abc\u202egpj.exe", GONE),
        "newline-in-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/a\nb", GONE),
        "nul-in-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/a\u0000b", GONE),
        "path-traversal-name": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/../../etc/passwd", GONE),
        "name-300-chars": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/" + "m" * 300, GONE),
        "name-5000-chars": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/" + "m" * 5000, GONE),
        "account-not-digits": (f"arn:aws:sagemaker:{REGION}:abc:model/x", GONE),
    }
    for name, (arn, reason) in bad_arns.items():
        c.add(f, f"arn-{name}", ct(arn=arn), "skipped", f"responseElements.modelArn: {name}", reason)
    c.add(f, "arn-versioned-model-package", ct(
        event_name="CreateModelPackage", arn_field="modelPackageArn",
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/corpus-group/1"), "skipped",
        "a versioned model package (cannot be tagged)", "versioned model packages")
    c.add(f, "arn-in-wrong-response-field", ct(arn_field="endpointArn"), "skipped",
          "CreateModel whose ARN is under endpointArn", "no modelArn in responseElements")

    # Hostile tags and values in the request (the resource does not exist: nothing may be written).
    def tagged(tags, **kw):
        return ct(request={"modelName": "corpus-model-that-does-not-exist", "tags": tags}, **kw)

    hostile_tags = {
        "sixty-tags": [{"key": f"k{i:02}", "value": f"v{i}"} for i in range(60)],
        "aws-prefixed-keys": [{"key": "aws:cloudformation:stack-name", "value": "x"}, {"key": "AWS:Team", "value": "y"}],
        "sagemaker-prefixed-keys": [{"key": "sagemaker:domain-arn", "value": "x"}],
        "value-300-chars": [{"key": "team", "value": "v" * 300}],
        "key-200-chars": [{"key": "k" * 200, "value": "x"}],
        "control-chars": [{"key": "team\u0000", "value": "a\u0007b\u001b[31m"}],
        "unicode-and-emoji": [{"key": "\u00e9quipe", "value": "\U0001f680 \u0645\u0631\u062d\u0628\u0627"}],
        "rtl-override-and-zero-width": [{"key": "cost\u200bcenter", "value": "\u202eCC-0001"}],
        "case-duplicates": [{"key": "team", "value": "a"}, {"key": "Team", "value": "b"}, {"key": "TEAM", "value": "c"}],
        "wrong-shapes": [1, None, "team=a", ["team", "a"], {"key": 5, "value": []}, {}],
        "capitalised-fields": [{"Key": "team", "Value": "a"}],
        "empty-key-and-value": [{"key": "", "value": ""}],
    }
    for name, tags in hostile_tags.items():
        c.add(f, f"tags-{name}", tagged(tags), "skipped", f"requestParameters.tags: {name}", GONE)
    for name, value in WRONG_TYPES:
        c.add(f, f"tags-field-{name}", tagged(value), "skipped", f"requestParameters.tags is {name}", GONE)

    # Hostile identities.
    hostile_ids = {
        "root": {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT},
        "aws-service": {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
        "unicode-user-name": {"type": "IAMUser", "userName": "\u00e4\u00f6\u00fc\u202e\u0000", "arn": "x"},
        "arn-10000-chars": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/" + "s" * 10000},
        "source-identity-control-chars": dict(identity(), sessionContext={"sourceIdentity": "alice\u0000\n\u001b"}),
        "session-issuer-wrong-types": dict(identity(), sessionContext={"sessionIssuer": [1, 2], "sourceIdentity": 7}),
        "type-unknown": {"type": "Alien", "arn": "arn:aws:sts::1:alien/x"},
    }
    for name, who in hostile_ids.items():
        c.add(f, f"identity-{name}", ct(userIdentity=who), "skipped", f"userIdentity: {name}", GONE)

    # Duplicated keys: serde_json keeps the last.
    c.add(f, "duplicate-source-key-last-wins-other",
          base_text.replace('"source": "aws.sagemaker",', '"source": "aws.sagemaker", "source": "aws.ec2",', 1).encode(),
          "skipped", "source given twice; the last (aws.ec2) counts", "not a SageMaker event", )
    # Deep but legal nesting (under serde_json's limit) in an ignored field.
    deep = json.loads(base_text)
    nested = "leaf"
    for _ in range(100):
        nested = [nested]
    deep["detail"]["requestParameters"]["deep"] = nested
    c.add(f, "deep-nesting-100-in-request", deep, "skipped", "100 nested arrays in requestParameters (legal)", GONE)

    # Huge payloads (>= 1 MB); keep to two for auto-tagger.
    huge = json.loads(base_text)
    huge["detail"]["requestParameters"]["blob"] = "x" * (1 << 20)
    c.add(f, "huge-1mb-request-parameters", (json.dumps(huge) + "\n").encode(), "skipped",
          "a 1 MiB string in requestParameters", GONE)
    c.add(f, "huge-1mb-event-name", (json.dumps(ct(event_name="Create" + "A" * (1 << 20))) + "\n").encode(), "skipped",
          "a 1 MiB eventName", "unsupported operation")


# ------------------------------------------------------------------------------------------ budget-enforcer

PROSE = ("You requested that we alert you when the ACTUAL Cost associated with your {name} budget is greater than "
         "$800.00 for the current month. The ACTUAL Cost associated with this budget is $812.40. You can find "
         "additional details below and by accessing the AWS Budgets dashboard [1].")
LINES = {
    "Budget Name": "corpus-budget",
    "Budget Type": "Cost",
    "Budgeted Amount": "$1,000.00",
    "Alert Type": "ACTUAL",
    "Alert Threshold": "> $800.00",
    "ACTUAL Amount": "$812.40",
}
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:tagwarden-budget-alerts"
SUBJECT = "AWS Budgets: corpus-budget has exceeded your alert threshold"
NO_RULE = "no budget rule matches"


def message(lines=None, prose=None, drop=(), extra=()):
    lines = dict(LINES, **(lines or {}))
    for key in drop:
        lines.pop(key, None)
    body = [f"{k}: {v}" for k, v in lines.items()] + list(extra)
    prose = PROSE.format(name=lines.get("Budget Name", "your")) if prose is None else prose
    return (f"AWS Budget Notification November 27, 2026\nAWS Account {ACCOUNT}\n\nDear AWS Customer,\n\n{prose}\n\n"
            + "\n".join(body) + "\n\n[1] https://console.aws.amazon.com/billing/home#/budgets\n")


_MESSAGE_IDS = iter(range(3, 1_000_000))


def sns(msg, subject=SUBJECT, topic=TOPIC, **record_overrides):
    # Every SNS message has its own MessageId, as SNS gives it: the enforcer skips one it has already handled.
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC}:00000000-0000-4000-8000-000000000002",
        "Sns": {
            "Type": "Notification",
            "MessageId": f"00000000-0000-4000-8000-{next(_MESSAGE_IDS):012d}",
            "TopicArn": topic,
            "Subject": subject,
            "Message": msg,
            "Timestamp": "2026-11-27T09:02:11.208Z",
        },
    }
    record.update(record_overrides)
    return {"Records": [record]}


def budget_enforcer(c):
    f = "budget-enforcer"
    base = sns(message())
    base_text = json.dumps(base, indent=1)
    c.add(f, "control-well-formed-alert-no-rule", base, "skipped",
          "control: a well-formed alert for a budget no policy rule names", NO_RULE)

    # Not JSON.
    for cut in (1, 13, 60, 200, len(base_text) // 2, len(base_text) - 2, len(base_text) - 1):
        c.add(f, f"truncated-at-{cut}-bytes", base_text[:cut].encode(), "not-json", f"an SNS event cut after {cut} bytes")
    raw = {
        "empty-file": (b"", "zero bytes"),
        "plain-text-alert-email": (message().encode(), "the alert's e-mail text itself, not an SNS event"),
        "trailing-comma": (b'{"Records": [],}', "a trailing comma"),
        "nan-amount-literal": (b'{"Records": [{"Sns": {"Message": NaN}}]}', "a NaN literal"),
        "utf8-bom": (b"\xef\xbb\xbf" + base_text.encode(), "a valid event behind a byte-order mark"),
        "invalid-utf8-in-message": (b'{"Records": [{"Sns": {"Message": "Budget Name: \xc3\x28"}}]}', "invalid UTF-8"),
        "lone-surrogate-in-message": (b'{"Records": [{"Sns": {"Message": "Budget Name: \\udfff"}}]}', "a lone surrogate escape"),
        "unescaped-newline-in-message": (b'{"Records": [{"Sns": {"Message": "Budget Name: x\nAlert Type: ACTUAL"}}]}',
                                         "raw newlines inside the Message string"),
        "deep-nesting-10000-arrays": (b"[" * 10000 + b"]" * 10000, "10,000 nested arrays (over serde_json's limit)"),
        "deep-nesting-10000-objects-in-records": (
            b'{"Records": ' + b'{"a": ' * 10000 + b"0" + b"}" * 10000 + b"}", "10,000 nested objects under Records"),
        "query-string": (b"Records=1&Sns=2", "a form-encoded body"),
        "xml-sns-notification": (b"<Notification><Message>Budget Name: x</Message></Notification>", "XML"),
    }
    for name, (data, description) in raw.items():
        c.add(f, name, data, "not-json", description)

    # JSON that is not an object.
    for name, value in [("null", None), ("true", True), ("number", 1050), ("string", message()), ("empty-array", []),
                        ("array-of-the-event", [base])]:
        c.add(f, f"top-level-{name}", value, "rejected", f"the whole payload is {name}", "expected a JSON object")

    # Missing or wrong envelopes.
    record = base["Records"][0]
    envelopes = {
        "empty-object": ({}, "no 'Records' array"),
        "bare-sns-object": (record["Sns"], "no 'Records' array"),
        "bare-record": (record, "no 'Records' array"),
        "eventbridge-event": ({"detail-type": "Budget Alert", "source": "aws.budgets", "detail": {}}, "no 'Records' array"),
        "records-lowercase": ({"records": [record]}, "no 'Records' array"),
        "records-empty": ({"Records": []}, "expected one SNS record, got 0"),
        "records-two": ({"Records": [record, record]}, "expected one SNS record, got 2"),
        "records-hundred": ({"Records": [record] * 100}, "expected one SNS record, got 100"),
        "record-without-sns": ({"Records": [{"EventSource": "aws:sns"}]}, "no 'Sns' object"),
        "record-sqs": ({"Records": [{"eventSource": "aws:sqs", "body": message()}]}, "a message from the continuation queue must be a 'continue' or a place's 'idle' command"),
        "record-s3": ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "the record comes from 'aws:s3'"),
        "record-source-spoofed-unicode": ({"Records": [dict(record, EventSource="aws:sns\u200b")]}, "the record comes from"),
        "sns-message-missing": ({"Records": [dict(record, Sns={"Subject": SUBJECT})]}, "'Sns' has no 'Message' string"),
        "sqs-wrapped-sns": ({"Records": [{"eventSource": "aws:sqs", "body": base_text}]}, "a message from the continuation queue must be a 'continue' or a place's 'idle' command"),
        "cloudwatch-alarm": ({"AlarmName": "x", "NewStateValue": "ALARM"}, "no 'Records' array"),
    }
    for name, (value, reason) in envelopes.items():
        c.add(f, f"envelope-{name}", value, "rejected", name.replace("-", " "), reason)
    for name, value in WRONG_TYPES:
        reason = "is null, not an array" if value is None else "not an array"
        if isinstance(value, list):
            reason = "expected one SNS record, got 1"
        c.add(f, f"records-{name}", {"Records": value}, "rejected", f"Records is {name}",
              reason if not isinstance(value, list) else "no 'Sns' object")
        c.add(f, f"record-{name}", {"Records": [value]}, "rejected", f"the one record is {name}", "no 'Sns' object")
        c.add(f, f"sns-{name}", {"Records": [dict(record, Sns=value)]}, "rejected", f"Sns is {name}",
              "no 'Sns' object" if name != "object" else "'Sns' has no 'Message' string")
        c.add(f, f"message-{name}", sns(value), "rejected", f"Sns.Message is {name}", "'Sns' has no 'Message' string")
        c.add(f, f"subject-{name}", sns(message(), subject=value), "skipped",
              f"Sns.Subject is {name}; the message decides", NO_RULE)
        c.add(f, f"topic-arn-{name}", sns(message(), topic=value), "skipped",
              f"Sns.TopicArn is {name}; the message decides", NO_RULE)
        c.add(f, f"event-source-{name}", sns(message(), EventSource=value), "skipped",
              f"EventSource is {name} (not a string: not checked)", NO_RULE)
    nulls = sns(None, subject=None, topic=None, EventSource=None, EventVersion=None, EventSubscriptionArn=None)
    nulls["Records"][0]["Sns"] = {k: None for k in nulls["Records"][0]["Sns"]}
    c.add(f, "nulls-everywhere", nulls, "rejected", "every record and Sns field is null", "'Sns' has no 'Message' string")

    # Messages that are not alerts.
    not_alerts = {
        "empty": ("", "the message is empty"),
        "whitespace": ("  \n\t ", "the message is empty"),
        "json-message": (json.dumps({"budgetName": "corpus-budget", "actualAmount": 812.4}), "the message is JSON"),
        "json-array-message": ("[1, 2, 3]", "the message is JSON"),
        "hello": ("hello", "no 'Budget Name:' line"),
        "cloudwatch-alarm-text": ("ALARM: \"HighCPU\" in US East (N. Virginia)", "no 'Budget Name:' line"),
        "only-prose": (message(drop=list(LINES)), "no 'Budget Name:' line"),
        "html": ("<html><body>Budget</body></html>", "no 'Budget Name:' line"),
    }
    for name, (msg, reason) in not_alerts.items():
        c.add(f, f"message-{name}", sns(msg), "rejected", f"Message: {name}", reason)
    c.add(f, "wrong-subject-and-not-an-alert", sns("Your order has shipped", subject="Amazon.com order 112-000"),
          "rejected", "a shop notification (wrong subject, no alert lines)", "subject: 'Amazon.com order 112-000'")
    c.add(f, "wrong-subject-real-alert", sns(message(), subject="Amazon CloudWatch Alarm: HighCPU"), "skipped",
          "a well-formed alert under a CloudWatch subject; the message decides", NO_RULE)

    # Missing and empty lines.
    for key in ["Budget Name", "Budgeted Amount", "Alert Type", "ACTUAL Amount"]:
        reason = "no 'Budget Name:' line" if key == "Budget Name" else f"missing '{key}:' line"
        slug = key.lower().replace(" ", "-")
        c.add(f, f"missing-line-{slug}", sns(message(drop=[key])), "rejected", f"no {key!r} line", reason)
        empty_reason = "Budget Name: the value is empty" if key == "Budget Name" else key
        c.add(f, f"empty-line-{slug}", sns(message(lines={key: ""})), "rejected", f"{key!r} line empty", empty_reason)
    for key in ["Budget Type", "Alert Threshold"]:
        slug = key.lower().replace(" ", "-")
        c.add(f, f"missing-optional-line-{slug}", sns(message(drop=[key])), "skipped",
              f"no {key!r} line (optional)", NO_RULE)
    c.add(f, "forecasted-without-forecasted-amount", sns(message(lines={"Alert Type": "FORECASTED"})), "rejected",
          "FORECASTED alert carrying only an ACTUAL Amount line", "missing 'FORECASTED Amount:' line")
    c.add(f, "conflicting-budget-names", sns(message(extra=["Budget Name: ml-marketing"])), "rejected",
          "two Budget Name lines naming different budgets", "appears twice")
    c.add(f, "conflicting-amounts", sns(message(extra=["ACTUAL Amount: $5,000.00"])), "rejected",
          "two ACTUAL Amount lines", "appears twice")
    c.add(f, "repeated-identical-lines", sns(message(extra=["Budget Name: corpus-budget"] * 1000)), "skipped",
          "the Budget Name line repeated 1,000 times with the same value", NO_RULE)
    for value in ["PANIC", "actual!", "ACTUAL FORECASTED", "\u0410CTUAL"]:
        slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in value).strip("-").lower()
        c.add(f, f"alert-type-{slug}-{len(value)}", sns(message(lines={"Alert Type": value})), "rejected",
              f"Alert Type {value!r}", "expected ACTUAL or FORECASTED")

    # Amounts: negative, absurd, other locales' formats. The budget is ml-marketing, which the example policy
    # acts on: any of these read as a number would be enforced, so each must be refused.
    amounts = {
        "negative-dollar": ("-$812.40", "must not be negative"),
        "dollar-negative": ("$-812.40", "must not be negative"),
        "unicode-minus": ("\u2212$812.40", "must not be negative"),
        "absurd-1e15": ("$1,000,000,000,000,000.00", "implausibly large"),
        "absurd-400-digits": ("$" + "9" * 400, "implausibly large"),
        "scientific-notation": ("8.124e2", "cannot read"),
        "scientific-notation-upper": ("8.124E+2", "cannot read"),
        "german-format": ("1.234,56", "refusing to guess"),
        "german-format-euro": ("1.234,56 \u20ac", "refusing to guess"),
        "french-format-space": ("1 234,56", "cannot read"),
        "french-format-nbsp": ("1\u00a0234,56 EUR", "cannot read"),
        "swiss-apostrophe": ("1'234.56", "cannot read"),
        "indian-grouping": ("12,34,567.00", "refusing to guess"),
        "arabic-indic-digits": ("\u0663\u0664\u0665", "cannot read"),
        "arabic-separators": ("\u0661\u066c\u0662\u0663\u0664\u066b\u0665\u0666", "cannot read"),
        "fullwidth-digits": ("\uff18\uff11\uff12", "cannot read"),
        "devanagari-digits": ("\u096e\u0967\u0968", "cannot read"),
        "comma-decimal": ("812,4", "refusing to guess"),
        "two-dots": ("$1.2.3", "refusing to guess"),
        "leading-dot": ("$.5", "cannot read"),
        "trailing-dot": ("$5.", "cannot read"),
        "nan": ("NaN", "cannot read"),
        "infinity": ("Infinity", "cannot read"),
        "hex": ("0x32C", "differs from the budgeted amount"),
        "words": ("eight hundred dollars", "cannot read"),
        "empty-after-symbol": ("$", "cannot read"),
        "unit-mismatch": ("812.40 EUR", "differs from the budgeted amount"),
        "value-300-chars": ("$" + "1" * 299, "implausibly large"),
    }
    for name, (amount, reason) in amounts.items():
        msg = message(lines={"Budget Name": "ml-marketing", "ACTUAL Amount": amount})
        c.add(f, f"amount-{name}", sns(msg), "rejected", f"ACTUAL Amount {amount[:30]!r} on ml-marketing", reason)
    budgeted = {
        "zero": ("$0.00", "budgeted amount must be positive"),
        "tiny": ("$0.00001", "too small"),
        "negative": ("-$1,000.00", "must not be negative"),
        "german-format": ("1.000,00 \u20ac", "refusing to guess"),
        "absurd": ("$9,999,999,999,999.00", "implausibly large"),
        "scientific": ("1e3", "cannot read"),
    }
    for name, (amount, reason) in budgeted.items():
        msg = message(lines={"Budget Name": "ml-marketing", "Budgeted Amount": amount, "ACTUAL Amount": "1e3"})
        if name not in ("scientific",):
            msg = message(lines={"Budget Name": "ml-marketing", "Budgeted Amount": amount})
        c.add(f, f"budgeted-{name}", sns(msg), "rejected", f"Budgeted Amount {amount!r} on ml-marketing", reason)
    both_scientific = message(lines={"Budget Name": "ml-marketing", "Budgeted Amount": "1e3", "ACTUAL Amount": "2e3",
                                     "Alert Threshold": "> 80%"})
    c.add(f, "both-amounts-scientific", sns(both_scientific), "rejected",
          "1e3 budgeted, 2e3 spent: must not be read as 1 and 2 of a unit 'e3'", "cannot read")
    for name, threshold, reason in [("less-than", "< 80%", "only 'greater than'"), ("equal", "= 100%", "only 'greater than'"),
                                    ("words", "> lots", "cannot read"), ("percent-with-unit", "> 80 USD%", "cannot read")]:
        c.add(f, f"threshold-{name}", sns(message(lines={"Alert Threshold": threshold})), "rejected",
              f"Alert Threshold {threshold!r}", reason)

    # Well-formed but hostile: must never lead to an action.
    # A name an `ml-*` rule matches reaches DescribeBudget: no such budget, so the alert is unverified.
    no_budget = ("unverified", "does not exist")
    hostile_names = {
        "unicode": ("\u9810\u7b97-\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9", ("skipped", NO_RULE)),
        "rtl-override": ("ml-\u202etekram", no_budget),
        "emoji": ("\U0001f4b8\U0001f525", ("skipped", NO_RULE)),
        "100-chars": ("b" * 100, ("skipped", NO_RULE)),
        "ml-prefix-100-chars": ("ml-" + "x" * 97, no_budget),
        "control-chars-ml-prefix": ("ml-\u0007\u001b[31mred", no_budget),
        "colons-and-spaces": ("ml: marketing: 2026", ("skipped", NO_RULE)),
        "glob-characters": ("ml-*", no_budget),
    }
    for name, (budget, (expect, reason)) in hostile_names.items():
        msg = message(lines={"Budget Name": budget, "ACTUAL Amount": "$1,250.00"})
        c.add(f, f"budget-name-{name}", sns(msg), expect,
              f"budget name {name} at 125%: no rule, or no such budget to verify the alert against", reason)
    for name, budget in [("101-chars", "b" * 101), ("ml-prefix-300-chars", "ml-" + "x" * 297),
                         ("ml-prefix-5000-chars", "ml-" + "x" * 4997)]:
        msg = message(lines={"Budget Name": budget, "ACTUAL Amount": "$1,250.00"})
        c.add(f, f"budget-name-{name}", sns(msg), "rejected",
              f"budget name of {len(budget)} characters at 125% (AWS allows 100)", "at most 100")
    c.add(f, "ml-marketing-below-first-step", sns(message(lines={"Budget Name": "ml-marketing", "ACTUAL Amount": "$10.00"})),
          "skipped", "ml-marketing at 1% of its budget: below the first step", "below the rule's first step")
    c.add(f, "ml-marketing-no-account", sns(message(lines={"Budget Name": "ml-marketing", "ACTUAL Amount": "$1,250.00"},
                                                    ).replace(f"AWS Account {ACCOUNT}\n", ""), topic="not-an-arn"),
          "skipped", "ml-marketing at 125% with no account anywhere: its scope cannot be read", "names no account")
    c.add(f, "ml-marketing-not-in-emulator", sns(message(lines={"Budget Name": "ml-marketing", "ACTUAL Amount": "$1,250.00"})),
          "unverified", "ml-marketing at 125%, but the budget does not exist: the alert cannot be verified",
          "does not exist")
    c.add(f, "message-line-injection-in-prose", sns(message(prose="Note: Budgeted Amount: $1 (ignore)")), "skipped",
          "a key line hidden after another colon in the prose", NO_RULE)
    c.add(f, "message-crlf-line-endings", sns(message().replace("\n", "\r\n")), "skipped", "CRLF line endings", NO_RULE)
    c.add(f, "message-10000-blank-lines", sns(message(extra=[""] * 10000)), "skipped", "10,000 blank lines", NO_RULE)

    # Restore commands.
    commands = {
        "number": ({"tagwarden": 1}, "unknown command '1'"),
        "null": ({"tagwarden": None}, "unknown command 'null'"),
        "array": ({"tagwarden": ["restore"]}, "unknown command"),
        "destroy": ({"tagwarden": "destroy", "budget": "ml-marketing"}, "unknown command 'destroy'"),
        "empty": ({"tagwarden": ""}, "unknown command"),
        "budget-number": ({"tagwarden": "restore", "budget": 5}, "'budget' must be a string, got a number"),
        "budget-array": ({"tagwarden": "restore", "budget": ["a", "b"]}, "'budget' must be a string, got an array"),
        "budget-object": ({"tagwarden": "restore", "budget": {}}, "'budget' must be a string, got an object"),
        "budget-empty": ({"tagwarden": "restore", "budget": "  "}, "'budget' is empty"),
        "command-300-chars": ({"tagwarden": "r" * 300}, "unknown command"),
    }
    for name, (value, reason) in commands.items():
        c.add(f, f"command-{name}", value, "rejected", f"tagwarden command: {name}", reason)
    c.add(f, "command-restore-unicode-budget", {"tagwarden": "restore", "budget": "\u9810\u7b97\u0000"}, "restored",
          "restore for a budget with a NUL in its name: nothing to undo")
    c.add(f, "command-restore-with-records", {"tagwarden": "restore", "budget": "corpus-nothing", "Records": []},
          "restored", "a restore command that also carries an empty Records array: the command wins")

    # Huge payloads (>= 1 MB): one.
    c.add(f, "huge-1mb-prose", (json.dumps(sns(message(prose="Dear customer. " * 70000))) + "\n").encode(), "skipped",
          "a well-formed alert with 1 MB of prose", NO_RULE)


# ------------------------------------------------------------------------------------------------- policy

GOOD_TAGS = "tags:\n  keys:\n    team: {required: true}\n"
RULE = "    - budget: ml-*\n      scope: account\n      steps:\n        - {at: 100, actions: [notify]}\n"


def policy(c):
    f = "policy"
    cases = {
        # name: (yaml, [substrings], description)
        "unknown-top-level-key": ("tagz:\n  keys:\n    team: {}\n", ["tagz", "unknown field"], "misspelt `tags`"),
        "missing-tags": ("version: 1\n", ["tags", "missing field"], "no tags section"),
        "version-2": ("version: 2\n" + GOOD_TAGS, ["version", "unsupported policy version 2"], "a future version"),
        "version-string": ("version: one\n" + GOOD_TAGS, ["version", "invalid type"], "version is a word"),
        "keys-empty": ("tags:\n  keys: {}\n", ["tags.keys", "at least one key"], "no keys"),
        "keys-list": ("tags:\n  keys: [team, project]\n", ["tags.keys", "invalid type: sequence"], "keys as a list"),
        "key-aws-prefix": ("tags:\n  keys:\n    aws:team: {}\n", ["keys.aws:team", "reserved prefix"], "an aws: key"),
        "key-sagemaker-prefix": ("tags:\n  keys:\n    SageMaker:team: {}\n", ["keys.SageMaker:team", "reserved prefix"],
                                 "a sagemaker: key"),
        "key-200-chars": (f"tags:\n  keys:\n    {'k' * 200}: {{}}\n", ["keys.kkkk", "1 to 128 characters"], "a 200-char key"),
        "key-control-char": ('tags:\n  keys:\n    "team\\u0007": {}\n', ["keys.team", "characters outside"],
                             "a key with a bell character"),
        "key-emoji": ("tags:\n  keys:\n    \"\U0001f4b8\": {}\n", ["keys.\U0001f4b8", "characters outside"], "an emoji key"),
        "misspelt-required": ("tags:\n  keys:\n    team:\n      requried: true\n", ["requried", "unknown field", "line 4"],
                              "`requried`"),
        "required-yes-string": ("tags:\n  keys:\n    team: {required: 'yes'}\n", ["required", "invalid type"],
                                "required: 'yes' (a string)"),
        "pattern-invalid-regex": ("tags:\n  keys:\n    team: {pattern: '('}\n", ["keys.team.pattern", "regex"],
                                  "an unclosed group"),
        "pattern-too-big": ("tags:\n  keys:\n    team: {pattern: 'a{1000}{1000}{1000}'}\n",
                            ["keys.team.pattern", "size limit"], "a regex that compiles to more than the size limit"),
        "default-not-allowed": ("tags:\n  keys:\n    env: {allowed: [dev, prod], default: qa}\n",
                                ["keys.env.default", "not one of"], "a default outside the allowed values"),
        "default-300-chars": (f"tags:\n  keys:\n    team: {{default: {'v' * 300}}}\n",
                              ["keys.team.default", "300 characters"], "a 300-character default"),
        "default-bad-pattern": ("tags:\n  keys:\n    cc: {pattern: '^CC-[0-9]{4}$', default: CC-12}\n",
                                ["keys.cc.default", "does not match"], "a default that breaks the pattern"),
        "allowed-html": ("tags:\n  keys:\n    team: {allowed: ['<script>']}\n", ["keys.team.allowed", "characters outside"],
                         "an allowed value with < and >"),
        "alias-collides": ("tags:\n  keys:\n    team: {aliases: [squad]}\n    squad: {}\n",
                           ["keys.squad", "also names key"], "an alias that is another key"),
        "alias-aws-prefix": ("tags:\n  keys:\n    team: {aliases: ['aws:team']}\n", ["keys.team.aliases", "reserved prefix"],
                             "an aws: alias"),
        "keys-differ-only-in-case": ("tags:\n  keys:\n    cost-center: {}\n    CostCenter: {}\n",
                                     ["keys.CostCenter", "also names key"], "two spellings of one key"),
        "duplicate-key": ("tags:\n  keys:\n    team: {}\n    team: {required: true}\n", ["team", "line"],
                          "the same key twice"),
        "sources-twice": ("tags:\n  sources: [domain, domain]\n  keys:\n    a: {}\n", ["sources", "listed twice"],
                          "a source listed twice"),
        "sources-unknown": ("tags:\n  sources: [linkedin]\n  keys:\n    a: {}\n", ["sources", "unknown variant `linkedin`"],
                            "an unknown source"),
        "sources-string": ("tags:\n  sources: domain\n  keys:\n    a: {}\n", ["sources", "invalid type"],
                           "sources as a string"),
        "invalid-values-unknown": ("tags:\n  invalid_values: maybe\n  keys:\n    a: {}\n",
                                   ["invalid_values", "unknown variant `maybe`"], "invalid_values: maybe"),
        "drop-aliased-keys-string": ("tags:\n  drop_aliased_keys: yes please\n  keys:\n    a: {}\n",
                                     ["drop_aliased_keys", "invalid type"], "a sentence for a boolean"),
        "notify-topic-not-sns": ("tags:\n  notify_topic_arn: arn:aws:sqs:us-east-1:1:q\n  keys:\n    a: {}\n",
                                 ["tags", "notify_topic_arn", "not an SNS topic ARN"], "an SQS queue ARN as the topic"),
        "creator-tag-aws": ("tags:\n  creator_tag: aws:creator\n  keys:\n    a: {}\n", ["creator_tag", "reserved prefix"],
                            "an aws: creator tag"),
        "creator-tag-is-a-key": ("tags:\n  creator_tag: team\n  keys:\n    team: {}\n", ["creator_tag", "also a policy key"],
                                 "creator tag equal to a policy key"),
        "too-many-required": ("tags:\n  keys:\n" + "".join(f"    k{i}: {{required: true}}\n" for i in range(41)),
                              ["tags.keys", "41 required keys"], "41 required keys"),
        "budgets-unknown-field": (GOOD_TAGS + "budgets:\n  rulez: []\n", ["budgets", "rulez"], "misspelt `rules`"),
        "rule-without-scope": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: ml-*\n      steps: [{at: 100, actions: [notify]}]\n",
                               ["budgets.rules", "`scope` is required"], "a rule without scope"),
        "rule-scope-unknown": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: galaxy\n      steps: [{at: 100, actions: [notify]}]\n",
                               ["budgets.rules", "scope \"galaxy\""], "scope: galaxy"),
        "rule-scope-tags-empty": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: {tags: {}}\n      steps: [{at: 100, actions: [notify]}]\n",
                                  ["budgets.rules", "scope.tags is empty"], "empty tag scope"),
        "rule-scope-tag-aws": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: {tags: {'aws:x': y}}\n      steps: [{at: 100, actions: [notify]}]\n",
                               ["budgets.rules", "scope.tags", "reserved prefix"], "an aws: key in the scope"),
        "rule-budget-empty": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: ' '\n      scope: account\n      steps: [{at: 100, actions: [notify]}]\n",
                              ["budgets.rules", "`budget` must name a budget"], "a blank budget name"),
        "step-at-string": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: eighty, actions: [notify]}]\n",
                           ["budgets.rules[0].steps[0].at", "invalid type"], "at: eighty"),
        "step-at-negative": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: -5, actions: [notify]}]\n",
                             ["budgets.rules", "not a percentage"], "a negative step"),
        "step-at-absurd": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: 1e300, actions: [notify]}]\n",
                           ["budgets.rules", "not a percentage"], "a step at 1e300 %"),
        "steps-descending": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: 120, actions: [notify]}, {at: 80, actions: [notify]}]\n",
                             ["budgets.rules", "ascending order"], "steps out of order"),
        "step-no-actions": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: 100, actions: []}]\n",
                            ["budgets.rules", "has no actions"], "a step with no actions"),
        "action-unknown": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: 100, actions: [self-destruct]}]\n",
                           ["budgets.rules[0].steps[0].actions[0]", "unknown variant `self-destruct`"], "an unknown action"),
        "deny-iam-without-policy-arn": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      steps: [{at: 100, actions: [deny-iam]}]\n",
                                        ["budgets", "deny_policy_arn is not set"], "deny-iam with no deny policy"),
        "deny-policy-arn-not-iam": (GOOD_TAGS + "budgets:\n  deny_policy_arn: arn:aws:s3:::bucket\n  rules: []\n",
                                    ["budgets", "deny_policy_arn", "not an IAM policy ARN"], "an S3 ARN as the deny policy"),
        "concurrency-zero": (GOOD_TAGS + "budgets:\n  concurrency: 0\n", ["budgets", "concurrency must be 1 to 64"], "concurrency 0"),
        "concurrency-negative": (GOOD_TAGS + "budgets:\n  concurrency: -1\n", ["budgets.concurrency", "invalid type"],
                                 "concurrency -1"),
        "max-resources-zero": (GOOD_TAGS + "budgets:\n  max_resources_per_action: 0\n",
                               ["budgets", "max_resources_per_action must be at least 1"], "a cap of 0"),
        "exempt-tag-moved": (GOOD_TAGS + "budgets:\n  exempt_tag: tagwarden:exempt=true\n",
                             ["budgets", "exempt_tag", "exemptions moved to budgets.exemptions"],
                             "the removed exempt_tag (a resource's own tags never exempt it)"),
        "exemption-two-selectors": (GOOD_TAGS + "budgets:\n  exemptions:\n    - {resource: 'a*', role: 'arn:aws:iam::1:role/r', reason: x}\n",
                                    ["budgets.exemptions", "exactly one of resource, resource_type or role"],
                                    "an exemption with two selectors"),
        "exemption-no-reason": (GOOD_TAGS + "budgets:\n  exemptions:\n    - {resource: 'prod-*'}\n",
                                ["budgets.exemptions", "a reason is required"], "an exemption without a reason"),
        "exemption-bad-date": (GOOD_TAGS + "budgets:\n  exemptions:\n    - {resource: 'prod-*', reason: x, expires: 2026-02-30}\n",
                               ["budgets.exemptions", "day 30 is not in month 2"], "an exemption expiring on 30 February"),
        "min-instances-negative": (GOOD_TAGS + "budgets:\n  rules:\n    - budget: x\n      scope: account\n      endpoints: {min_instances: -2}\n      steps: [{at: 100, actions: [scale-endpoints]}]\n",
                                   ["budgets.rules", "min_instances must be 0 or more"], "min_instances -2"),
        "tab-indentation": ("tags:\n\tkeys:\n\t\tteam: {}\n", ["line 2"], "tabs for indentation (a YAML syntax error: the line is named)"),
        "unclosed-flow-mapping": ("tags:\n  keys:\n    team: {required: true\n", ["line"], "a flow mapping never closed"),
        "billion-laughs": ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                           "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                           "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                           "tags: {keys: {team: {allowed: *h}}}\n", ["a"], "alias expansion bomb (billion laughs)"),
        "deep-nesting": ("tags: " + "[" * 10000 + "]" * 10000 + "\n", ["tags", "invalid type: sequence"], "10,000 nested sequences"),
        "empty-file": ("", ["tags"], "an empty file"),
        "json-array": ('["tags", "keys"]\n', ["invalid type: sequence"], "a JSON array"),
        "binary-garbage": ("\u0000\u0001\u0002PK\u0003\u0004", ["control characters"], "bytes of a zip file"),
    }
    for name, (text, contains, description) in cases.items():
        c.add(f, name, text, "invalid", description, contains)


def build():
    c = Corpus()
    auto_tagger(c)
    budget_enforcer(c)
    policy(c)
    files = dict(c.files)
    files["MANIFEST.json"] = c.manifest()
    return files


def write(files, root):
    for sub in ("auto-tagger", "budget-enforcer", "policy"):
        shutil.rmtree(root / sub, ignore_errors=True)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def committed(root):
    found = {}
    for sub in ("auto-tagger", "budget-enforcer", "policy"):
        for path in sorted((root / sub).glob("*")) if (root / sub).is_dir() else []:
            found[f"{sub}/{path.name}"] = path.read_bytes()
    manifest = root / "MANIFEST.json"
    if manifest.exists():
        found["MANIFEST.json"] = manifest.read_bytes()
    return found


def main(argv):
    files = build()
    if "--check" in argv:
        on_disk = committed(HERE)
        missing = sorted(set(files) - set(on_disk))
        extra = sorted(set(on_disk) - set(files))
        changed = sorted(k for k in set(files) & set(on_disk) if files[k] != on_disk[k])
        for label, names in (("missing", missing), ("not generated", extra), ("differs", changed)):
            for name in names[:20]:
                print(f"corpus: {label}: tests/corpus/{name}", file=sys.stderr)
        if missing or extra or changed:
            print("corpus: out of date; run python3 tests/corpus/generate.py", file=sys.stderr)
            return 1
        print(f"corpus: {len(files) - 1} cases match tests/corpus/generate.py")
        return 0
    write(files, HERE)
    size = sum(len(d) for d in files.values())
    print(f"corpus: wrote {len(files) - 1} cases ({size / 1e6:.1f} MB) under {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
