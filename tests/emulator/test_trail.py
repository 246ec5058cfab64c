"""Self-test of tagwarden_moto_trail.py: LookupEvents against the AWS API model (raw bodies checked
strictly), records kept per account and region, one lookup attribute, time range, pagination.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from test_extension import ACCOUNT, REGION, check_shape, err, http, server  # noqa: F401

TRAIL_MODEL = botocore.session.get_session().get_service_model("cloudtrail")


@pytest.fixture
def trail(server):
    client = boto3.client("cloudtrail", endpoint_url=server, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def before_parse(operation_model, response_dict, **_):
        if operation_model.name != "LookupEvents" or response_dict["status_code"] >= 400:
            return
        check_shape(json.loads(response_dict["body"]), operation_model.output_shape, "LookupEvents")

    client.meta.events.register("before-parse", before_parse)
    return client


def _record(server, name: str, second: int, source: str = "sagemaker.amazonaws.com",
            account: str = ACCOUNT, region: str = REGION) -> dict:
    rec = {
        "eventVersion": "1.09", "eventID": f"e-{name}-{second}", "eventName": name,
        "eventSource": source, "eventTime": f"2026-11-27T09:00:{second:02d}Z", "awsRegion": region,
        "recipientAccountId": account, "readOnly": False,
        "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE",
                         "arn": f"arn:aws:sts::{account}:assumed-role/ci-deployer/run-{second}"},
        "responseElements": {"modelArn": f"arn:aws:sagemaker:{region}:{account}:model/m-{second}"},
    }
    assert http(f"{server}/_tagwarden/cloudtrail-event", "POST", rec)[0] == 200
    return rec


def test_lookup_events_answers_newest_first_by_attribute_in_pages(trail, server):
    for second in range(5):
        _record(server, "CreateModel", second)
    _record(server, "CreateApp", 9, source="amplify.amazonaws.com")
    _record(server, "CreateModel", 7, account="210987654321")
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateModel"}],
        PaginationConfig={"PageSize": 2})
    events = [e for page in pages for e in page["Events"]]
    assert [e["EventId"] for e in events] == [f"e-CreateModel-{s}" for s in (4, 3, 2, 1, 0)]
    first = events[0]
    assert first["Username"] == "run-4" and first["ReadOnly"] == "false"
    assert json.loads(first["CloudTrailEvent"])["responseElements"]["modelArn"].endswith(":model/m-4")
    assert first["Resources"] == [{"ResourceType": "AWS::SageMaker::Model",
                                   "ResourceName": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m-4"}]
    by_source = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "amplify.amazonaws.com"}])
    assert [e["EventName"] for e in by_source["Events"]] == ["CreateApp"]


def test_lookup_events_keeps_to_the_time_range(trail, server):
    for second in (10, 20, 30):
        _record(server, "CreateModel", second)
    from datetime import datetime, timezone
    at = lambda s: datetime(2026, 11, 27, 9, 0, s, tzinfo=timezone.utc)  # noqa: E731
    got = trail.lookup_events(StartTime=at(15), EndTime=at(30))["Events"]
    assert [e["EventId"] for e in got] == ["e-CreateModel-30", "e-CreateModel-20"]


def test_lookup_events_refuses_what_the_api_refuses(trail, server):
    two = [{"AttributeKey": "EventName", "AttributeValue": "CreateModel"},
           {"AttributeKey": "EventSource", "AttributeValue": "sagemaker.amazonaws.com"}]
    with pytest.raises(ClientError) as e:
        trail.lookup_events(LookupAttributes=two)
    assert err(e)[:2] == ("InvalidLookupAttributesException", 400)
    with pytest.raises(ClientError) as e:
        trail.lookup_events(NextToken="not-a-token")
    assert err(e)[:2] == ("InvalidNextTokenException", 400)
    assert http(f"{server}/_tagwarden/cloudtrail-event", "POST", {"eventName": "CreateModel"})[0] == 400
