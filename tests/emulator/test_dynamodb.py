"""Self-test of tagwarden_moto_dynamodb.py: Query and Scan bodies written without moto's serializer are the
bodies its serializer writes (every attribute type, paging, consumed capacity, Select COUNT), they match the
AWS API model strictly, and a 1 MB ledger page answers well inside the SDK's 10 s operation timeout.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json
import time

import boto3
import botocore.session
import pytest
from moto import mock_aws

import tagwarden_moto
import tagwarden_moto_dynamodb
from test_extension import REGION, check_shape, server  # noqa: F401

DYNAMODB_MODEL = botocore.session.get_session().get_service_model("dynamodb")


def _client(endpoint: str | None = None):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _ledger(client, name: str = "ledger") -> None:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "resource", "at")],
        GlobalSecondaryIndexes=[{"IndexName": "by-resource", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "resource", "KeyType": "HASH"},
                                               {"AttributeName": "at", "KeyType": "RANGE"}]}])


def _entry(i: int) -> dict:
    """An enforcement-ledger entry as the budget-enforcer writes it (about 700 bytes)."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/cont-{i:05d}"
    return {"pk": {"S": "budget#ml-marketing"}, "sk": {"S": f"act#2026-12-02T13:03:17.{i:06d}Z#m-1#stop-notebooks#{arn}"},
            "resource": {"S": arn}, "at": {"S": f"2026-12-02T13:03:17.{i:06d}Z"}, "account": {"S": "123456789012"},
            "result": {"S": "done"}, "trigger": {"S": "m-1"}, "budget": {"S": "ml-marketing"},
            "before": {"S": json.dumps({"kind": "notebook", "name": f"cont-{i:05d}", "status": "InService"})},
            "dry_run": {"BOOL": False}, "expires": {"N": "1830776597"}, "step": {"N": "100"},
            "action": {"S": "stop-notebooks"}, "region": {"S": "us-east-1"}, "period_start": {"S": "2026-12-01"}}


EVERY_TYPE = {"pk": {"S": "types"}, "sk": {"S": "one"}, "n": {"N": "-12.5"}, "b": {"B": b"\x00\xffbin"},
              "bool": {"BOOL": True}, "null": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
              "bs": {"BS": [b"x", b"\x01"]}, "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"B": b"\x02"}}}]},
              "m": {"M": {"inner": {"S": "v"}, "empty": {"L": []}}}, "empty": {"S": ""}}

REQUESTS = [
    ("query", {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "types"}}}),
    ("query", {"KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b", "Limit": 7,
               "ExpressionAttributeValues": {":pk": {"S": "budget#ml-marketing"}, ":a": {"S": "act#"},
                                             ":b": {"S": "act$"}}, "ReturnConsumedCapacity": "TOTAL"}),
    ("query", {"IndexName": "by-resource", "KeyConditionExpression": "#r = :r",
               "ExpressionAttributeNames": {"#r": "resource"}, "ReturnConsumedCapacity": "INDEXES",
               "ExpressionAttributeValues": {":r": {"S": "arn:aws:sagemaker:us-east-1:123456789012:"
                                                          "notebook-instance/cont-00003"}}}),
    ("query", {"KeyConditionExpression": "pk = :pk", "Select": "COUNT",
               "ExpressionAttributeValues": {":pk": {"S": "budget#ml-marketing"}}}),
    ("query", {"KeyConditionExpression": "pk = :pk", "ProjectionExpression": "sk, #s",
               "ExpressionAttributeNames": {"#s": "step"}, "ScanIndexForward": False,
               "ExpressionAttributeValues": {":pk": {"S": "budget#ml-marketing"}}}),
    ("scan", {"Limit": 5}),
    ("scan", {"FilterExpression": "#b = :b", "ExpressionAttributeNames": {"#b": "bool"},
              "ExpressionAttributeValues": {":b": {"BOOL": True}}}),
]


def test_query_and_scan_bodies_are_the_serializers_bodies():
    """The same requests, answered once through moto's serializer and once without it: equal JSON."""
    tagwarden_moto.install()
    bodies: dict[bool, list] = {}
    with mock_aws():
        client = _client()
        _ledger(client)
        client.put_item(TableName="ledger", Item=EVERY_TYPE)
        for i in range(40):
            client.put_item(TableName="ledger", Item=_entry(i))
        raw: list = []
        client.meta.events.register(
            "before-parse", lambda operation_model, response_dict, **_: raw.append(
                (operation_model.name, response_dict["headers"].get("Content-Type"), response_dict["body"])))
        for fast in (False, True):
            tagwarden_moto_dynamodb.ENABLED = fast
            raw.clear()
            parsed = [getattr(client, op)(TableName="ledger", **kw) for op, kw in REQUESTS]
            bodies[fast] = [(op, ctype, json.loads(body)) for op, ctype, body in raw]
            for (op, _), answer in zip(REQUESTS, parsed):
                answer.pop("ResponseMetadata")
        tagwarden_moto_dynamodb.ENABLED = True
    assert bodies[True] == bodies[False]
    for op, _, body in bodies[True]:
        check_shape(body, DYNAMODB_MODEL.operation_model(op.capitalize()).output_shape, op)
    every = next(body for op, _, body in bodies[True] if body.get("Items") and body["Items"][0]["pk"]["S"] == "types")
    assert every["Items"][0]["b"] == {"B": "AP9iaW4="}, "binary values are base64, as awsJson 1.0 writes blobs"


def test_a_one_megabyte_ledger_page_answers_well_inside_the_sdk_timeout(server):
    client = _client(server)
    _ledger(client, "big-ledger")
    for i in range(2500):
        client.put_item(TableName="big-ledger", Item=_entry(i))
    started = time.monotonic()
    pages, items = 0, 0
    for page in client.get_paginator("query").paginate(
            TableName="big-ledger", KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={":pk": {"S": "budget#ml-marketing"}, ":a": {"S": "act#"},
                                       ":b": {"S": "act$"}}):
        pages += 1
        items += len(page["Items"])
    elapsed = time.monotonic() - started
    assert pages >= 2 and items == 2500, f"paged at 1 MB ({pages} pages), every entry read back ({items})"
    assert elapsed < 5, f"{elapsed:.1f} s for {items} entries"
