"""Self-test of tagwarden_moto_cloudwatch.py: PutMetricData and GetMetricData on the Smithy RPC v2 CBOR
protocol (what the AWS SDK for Rust sends), serialized and parsed by botocore's own RPC v2 CBOR code
against the `monitoring` model, summed by moto's backend; the 500-query limit.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import create_serializer

from test_extension import REGION, server  # noqa: F401

MODEL = botocore.session.get_session().get_service_model("cloudwatch")
AUTH = f"AWS4-HMAC-SHA256 Credential=testing/20261202/{REGION}/monitoring/aws4_request, SignedHeaders=host, Signature=0"


def call(server: str, operation: str, params: dict) -> tuple[int, dict]:
    """One call as the Rust SDK makes it (path, smithy-protocol header, CBOR body); the parsed answer."""
    op = MODEL.operation_model(operation)
    request = create_serializer("smithy-rpc-v2-cbor").serialize_to_request(params, op)
    headers = dict(request["headers"], Authorization=AUTH)
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    req = urllib.request.Request(server + request["url_path"], data=request["body"], method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            status, raw, answer_headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        status, raw, answer_headers = e.code, e.read(), dict(e.headers)
    assert answer_headers.get("smithy-protocol") == "rpc-v2-cbor" and answer_headers["Content-Type"] == "application/cbor"
    if status >= 400:
        parser = RpcV2CBORParser()
        return status, parser.parse_data_item(parser.get_peekable_stream_from_bytes(raw))
    parsed = RpcV2CBORParser().parse({"status_code": status, "headers": answer_headers, "body": raw}, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    return status, parsed


def _dimensions(endpoint: str) -> list[dict]:
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]


def _query(i: int, endpoint: str, period: int) -> dict:
    metric = {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": _dimensions(endpoint)}
    return {"Id": f"q{i}", "MetricStat": {"Metric": metric, "Period": period, "Stat": "Sum"}}


def test_invocations_put_are_summed_per_endpoint_and_variant_over_the_window(server):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for value, hours_ago in ((3.0, 2), (4.0, 5), (100.0, 80)):
        datum = {"MetricName": "Invocations", "Dimensions": _dimensions("busy"),
                 "Timestamp": now - timedelta(hours=hours_ago), "Value": value, "Unit": "None"}
        assert call(server, "PutMetricData", {"Namespace": "AWS/SageMaker", "MetricData": [datum]}) == (200, {})
    window = 3 * 86_400
    status, out = call(server, "GetMetricData", {
        "MetricDataQueries": [_query(0, "busy", window), _query(1, "idle", window)],
        "StartTime": now - timedelta(seconds=window), "EndTime": now})
    assert status == 200
    members = MODEL.operation_model("GetMetricData").output_shape.members["MetricDataResults"].member.members
    assert all(set(r) <= set(members) for r in out["MetricDataResults"]), "only the model's members"
    by_id = {r["Id"]: r for r in out["MetricDataResults"]}
    assert sum(by_id["q0"]["Values"]) == 7.0, "the data point of 80 hours ago is outside the 3-day window"
    assert by_id["q1"]["Values"] == [] and by_id["q1"]["StatusCode"] == "Complete"
    assert all(isinstance(t, datetime) for t in by_id["q0"]["Timestamps"])


def test_more_than_500_queries_in_one_call_is_refused_as_aws_refuses_it(server):
    now = datetime.now(timezone.utc)
    window = {"StartTime": now - timedelta(hours=1), "EndTime": now}
    status, error = call(server, "GetMetricData", {"MetricDataQueries": [_query(i, f"e{i}", 3600) for i in range(501)], **window})
    assert (status, error["__type"].rsplit("#", 1)[-1]) == (400, "InvalidParameterValue"), error
    status, ok = call(server, "GetMetricData", {"MetricDataQueries": [_query(i, f"e{i}", 3600) for i in range(500)], **window})
    assert status == 200 and len(ok["MetricDataResults"]) == 500


def test_an_operation_the_emulator_does_not_answer_on_cbor_says_so(server):
    status, error = call(server, "ListMetrics", {"Namespace": "AWS/SageMaker"})
    assert status == 404 and error["__type"].endswith("#UnknownOperationException")
