"""Self-test of tagwarden_moto_ce.py: ListCostAllocationTags and UpdateCostAllocationTagsStatus
against the AWS API model (raw bodies checked strictly), billing's "seen" keys taken from SageMaker
resource tags, pagination, and the linked-account refusal; GetCostForecast from seeded daily means
(section 15), next to moto's own seeded GetCostAndUsage.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from test_extension import ACCOUNT, REGION, ROLE, check_shape, err, http, server  # noqa: F401

CE_MODEL = botocore.session.get_session().get_service_model("ce")
CE_OPS = {"ListCostAllocationTags", "UpdateCostAllocationTagsStatus", "GetCostForecast"}


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


# --------------------------------------------------------------------------
# GetCostForecast (section 15)
# --------------------------------------------------------------------------

SAGEMAKER = {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}}


def tag_filter(key: str, value: str | None) -> dict:
    tags = {"Key": key, "MatchOptions": ["ABSENT"]} if value is None else {"Key": key, "Values": [value]}
    return {"And": [SAGEMAKER, {"Tags": tags}]}


def test_forecast_is_the_seeded_daily_mean_times_the_days_of_each_slice(world, server):  # noqa: F811
    ce, checked = world
    status, _ = http(f"{server}/_tagwarden/ce-forecast", "POST", {"forecasts": [
        {"Tag": {"Key": "team", "Value": "nlp"}, "DailyMean": "2.5"},
        {"Tag": {"Key": "team", "Value": ""}, "DailyMean": "0.125"}]})
    assert status == 200
    today = date.today()
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    end = (first_next + timedelta(days=32)).replace(day=1)  # two month slices
    period = {"Start": today.isoformat(), "End": end.isoformat()}
    answer = ce.get_cost_forecast(TimePeriod=period, Metric="UNBLENDED_COST", Granularity="MONTHLY",
                                  Filter=tag_filter("team", "nlp"))
    days = (end - today).days
    assert float(answer["Total"]["Amount"]) == 2.5 * days and answer["Total"]["Unit"] == "USD"
    slices = answer["ForecastResultsByTime"]
    assert [s["TimePeriod"] for s in slices] == [
        {"Start": today.isoformat(), "End": first_next.isoformat()},
        {"Start": first_next.isoformat(), "End": end.isoformat()}]
    assert float(slices[0]["MeanValue"]) == 2.5 * (first_next - today).days
    untagged = ce.get_cost_forecast(TimePeriod=period, Metric="UNBLENDED_COST", Granularity="DAILY",
                                    Filter=tag_filter("team", None))
    assert len(untagged["ForecastResultsByTime"]) == days
    assert float(untagged["Total"]["Amount"]) == 0.125 * days
    assert checked.count("GetCostForecast") == 2


def test_forecast_without_a_seed_or_with_bad_dates_is_refused_as_aws_does(world, server):  # noqa: F811
    ce, _ = world
    today = date.today()
    ahead = {"Start": today.isoformat(), "End": (today + timedelta(days=5)).isoformat()}
    with pytest.raises(ClientError) as e:
        ce.get_cost_forecast(TimePeriod=ahead, Metric="UNBLENDED_COST", Granularity="MONTHLY",
                             Filter=tag_filter("team", "unseeded"))
    assert err(e)[:2] == ("DataUnavailableException", 400)
    past = {"Start": (today - timedelta(days=3)).isoformat(), "End": today.isoformat()}
    for period, granularity in ((past, "MONTHLY"), (ahead, "HOURLY"),
                                ({"Start": ahead["End"], "End": ahead["Start"]}, "DAILY")):
        with pytest.raises(ClientError) as e:
            ce.get_cost_forecast(TimePeriod=period, Metric="UNBLENDED_COST", Granularity=granularity)
        assert err(e)[0] == "ValidationException", (period, granularity)
    status, body = http(f"{server}/_tagwarden/ce-forecast", "POST", {"forecasts": [{"DailyMean": "x"}]})
    assert status == 400 and "bad forecast seed" in body["message"]


def test_moto_answers_get_cost_and_usage_from_seeded_results_in_request_order(world, server):  # noqa: F811
    ce, _ = world
    page = {"ResultsByTime": [{"TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"}, "Estimated": False,
                               "Total": {}, "Groups": [{"Keys": ["team$"],
                                                        "Metrics": {"UnblendedCost": {"Amount": "1.5", "Unit": "USD"}}}]}],
            "DimensionValueAttributes": []}
    status, _ = http(f"{server}/moto-api/static/ce/cost-and-usage-results", "POST", {"results": [page]})
    assert status == 201
    ask = dict(TimePeriod={"Start": "2026-10-01", "End": "2026-11-01"}, Granularity="MONTHLY",
               Metrics=["UnblendedCost"], GroupBy=[{"Type": "TAG", "Key": "team"}])
    first = ce.get_cost_and_usage(**ask)
    assert first["ResultsByTime"][0]["Groups"][0]["Keys"] == ["team$"]
    assert ce.get_cost_and_usage(**ask)["ResultsByTime"] == first["ResultsByTime"]  # same request, same answer
    assert ce.get_cost_and_usage(**{**ask, "Granularity": "DAILY"})["ResultsByTime"] == []  # queue empty
