"""Self-test of tagwarden_moto_pricing.py: GetProducts and DescribeServices against the AWS API model (raw
bodies checked strictly), PriceList as JSON strings, filters honoured, paging, errors, seeded records.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from test_extension import REGION, check_shape, http, server  # noqa: F401

PRICING_MODEL = botocore.session.get_session().get_service_model("pricing")


@pytest.fixture
def pricing(server):
    client = boto3.client("pricing", endpoint_url=server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def before_parse(operation_model, response_dict, **_):
        if response_dict["status_code"] >= 400:
            return
        check_shape(json.loads(response_dict["body"]), operation_model.output_shape, operation_model.name)

    client.meta.events.register("before-parse", before_parse)
    return client


def _match(field: str, value: str, kind: str = "TERM_MATCH") -> dict:
    return {"Type": kind, "Field": field, "Value": value}


def _hourly(record: dict) -> float:
    (term,) = record["terms"]["OnDemand"].values()
    (dimension,) = term["priceDimensions"].values()
    assert dimension["unit"] == "Hrs"
    return float(dimension["pricePerUnit"]["USD"])


def test_get_products_answers_json_strings_and_honours_every_filter(pricing):
    out = pricing.get_products(ServiceCode="AmazonSageMaker", FormatVersion="aws_v1", Filters=[
        _match("regionCode", "us-east-1"), _match("instanceName", "ml.m5.xlarge")])
    assert all(isinstance(item, str) for item in out["PriceList"])
    records = [json.loads(item) for item in out["PriceList"]]
    assert {r["product"]["attributes"]["component"] for r in records} == {"Training", "Hosting"}
    hosting = [r for r in records if r["product"]["attributes"]["component"] == "Hosting"]
    assert _hourly(hosting[0]) == 0.269
    out = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[
        _match("instanceName", "ml.t3.medium"), _match("component", "notebook")])
    assert [_hourly(json.loads(r)) for r in out["PriceList"]] == [0.05]
    out = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[_match("regionCode", "eu-west-1")])
    assert out["PriceList"] == []
    out = pricing.get_products(ServiceCode="AmazonEC2")
    assert out["PriceList"] == []


def test_get_products_pages_with_next_token(pricing):
    first = pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=2)
    assert len(first["PriceList"]) == 2 and first["NextToken"]
    rest = pricing.get_products(ServiceCode="AmazonSageMaker", MaxResults=100, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    every = pricing.get_products(ServiceCode="AmazonSageMaker")["PriceList"]
    assert first["PriceList"] + rest["PriceList"] == every


def test_bad_requests_get_the_models_errors(pricing):
    with pytest.raises(ClientError) as err:
        pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[_match("x", "y", "REGEX")])
    assert err.value.response["Error"]["Code"] in ("InvalidParameterException", "ParamValidation")
    with pytest.raises(ClientError) as err:
        pricing.describe_services(ServiceCode="NoSuchService")
    assert err.value.response["Error"]["Code"] == "NotFoundException"


def test_describe_services_names_the_sagemaker_attributes(pricing):
    out = pricing.describe_services(ServiceCode="AmazonSageMaker", FormatVersion="aws_v1")
    (service,) = out["Services"]
    assert {"instanceName", "component", "regionCode"} <= set(service["AttributeNames"])


def test_seeded_records_are_served_with_the_published_ones(pricing, server):
    forged = json.loads(pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[
        _match("instanceName", "ml.g5.xlarge")])["PriceList"][0])
    forged["product"]["attributes"].update(instanceName="ml.c5.xlarge", instanceType="ml.c5.xlarge")
    forged["product"]["sku"] = "FORGEDC5"
    status, _ = http(server + "/_tagwarden/price-list", "POST", {"records": [forged]})
    assert status == 200
    out = pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[_match("instanceName", "ml.c5.xlarge")])
    assert len(out["PriceList"]) == 1
    status, _ = http(server + "/_tagwarden/price-list", "POST", {"records": [{"no": "product"}]})
    assert status == 400
