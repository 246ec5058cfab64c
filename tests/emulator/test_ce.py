"""Self-test of tagwarden_moto_ce.py: ListCostAllocationTags and UpdateCostAllocationTagsStatus
against the AWS API model (raw bodies checked strictly), billing's "seen" keys taken from SageMaker
resource tags, pagination, and the linked-account refusal.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from test_extension import ACCOUNT, REGION, ROLE, check_shape, err, http, server  # noqa: F401

CE_MODEL = botocore.session.get_session().get_service_model("ce")
CE_OPS = {"ListCostAllocationTags", "UpdateCostAllocationTagsStatus"}


def _client(service: str, url: str, checked: list | None = None, **creds):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client(service, endpoint_url=url, region_name=REGION, **creds)

    def before_parse(operation_model, response_dict, **_):
        if service != "ce" or operation_model.name not in CE_OPS:
            return
        body = json.loads(response_dict["body"] or b"{}")
        if response_dict["status_code"] >= 400:
            assert response_dict["status_code"] == 400, body
            assert "__type" in body, body
        else:
            check_shape(body, operation_model.output_shape, operation_model.name)
        if checked is not None:
            checked.append(operation_model.name)

    client.meta.events.register("before-parse", before_parse)
    return client


@pytest.fixture
def world(server):  # noqa: F811
    http(f"{server}/moto-api/reset", "POST")
    checked: list[str] = []
    sm = _client("sagemaker", server)
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": "img"},
                    Tags=[{"Key": "cost-center", "Value": "CC-1234"}, {"Key": "team", "Value": "nlp"}])
    sm2 = boto3.client("sagemaker", endpoint_url=server, region_name="eu-west-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    sm2.create_model(ModelName="m2", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"},
                     Tags=[{"Key": "environment", "Value": "dev"}])
    return _client("ce", server, checked), checked


def statuses(ce, **kw) -> dict[str, str]:
    pages = []
    token = None
    while True:
        page = ce.list_cost_allocation_tags(**kw, **({"NextToken": token} if token else {}))
        pages.extend(page["CostAllocationTags"])
        token = page.get("NextToken")
        if not token:
            return {t["TagKey"]: t["Status"] for t in pages}


def test_keys_on_resources_in_any_region_are_known_and_inactive(world):
    ce, checked = world
    assert statuses(ce) == {"cost-center": "Inactive", "team": "Inactive", "environment": "Inactive"}
    tag = ce.list_cost_allocation_tags(TagKeys=["team"])["CostAllocationTags"][0]
    assert tag["Type"] == "UserDefined" and "LastUsedDate" in tag and "LastUpdatedDate" not in tag
    assert checked == ["ListCostAllocationTags"] * (len(checked))


def test_update_activates_known_keys_and_reports_unseen_ones_per_key(world):
    ce, checked = world
    answer = ce.update_cost_allocation_tags_status(CostAllocationTagsStatus=[
        {"TagKey": "cost-center", "Status": "Active"}, {"TagKey": "owner", "Status": "Active"}])
    assert answer["Errors"] == [{"TagKey": "owner", "Code": "TagKeysNotFoundException",
                                 "Message": "Failed to update Cost Allocation Tag: owner"}]
    assert statuses(ce, Status="Active") == {"cost-center": "Active"}
    assert "LastUpdatedDate" in ce.list_cost_allocation_tags(TagKeys=["cost-center"])["CostAllocationTags"][0]
    again = ce.update_cost_allocation_tags_status(
        CostAllocationTagsStatus=[{"TagKey": "cost-center", "Status": "Active"}])
    assert again["Errors"] == []
    assert statuses(ce, TagKeys=["team", "owner"]) == {"team": "Inactive"}
    assert set(checked) == {"ListCostAllocationTags", "UpdateCostAllocationTagsStatus"}


def test_list_paginates_with_max_results(world):
    ce, _ = world
    first = ce.list_cost_allocation_tags(MaxResults=2)
    assert len(first["CostAllocationTags"]) == 2 and first["NextToken"]
    rest = ce.list_cost_allocation_tags(MaxResults=2, NextToken=first["NextToken"])
    assert len(rest["CostAllocationTags"]) == 1 and "NextToken" not in rest


def test_more_than_twenty_keys_is_a_validation_error(world):
    ce, _ = world
    with pytest.raises(ClientError) as e:
        ce.update_cost_allocation_tags_status(CostAllocationTagsStatus=[
            {"TagKey": f"k{i}", "Status": "Active"} for i in range(21)])
    assert err(e)[0] == "ValidationException"


def test_member_account_is_refused_like_a_linked_account(world, server):  # noqa: F811
    sts = _client("sts", server)
    creds = sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/member", RoleSessionName="member-test")["Credentials"]
    member = _client("ce", server, aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    for call in (lambda: member.list_cost_allocation_tags(),
                 lambda: member.update_cost_allocation_tags_status(
                     CostAllocationTagsStatus=[{"TagKey": "team", "Status": "Active"}])):
        with pytest.raises(ClientError) as e:
            call()
        code, status, message = err(e)
        assert (code, status) == ("AccessDeniedException", 400)
        assert "Linked account doesn't have access to cost allocation tags" in message
