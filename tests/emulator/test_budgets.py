"""Self-test of tagwarden_moto_budgets.py: UpdateBudget, notification subscribers, budget resource tags,
DescribeBudgets paging and Cost Explorer GetTags against the AWS API model (raw bodies checked strictly).

Run: .venv/bin/python -m pytest tests/emulator/test_budgets.py -q
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from test_extension import ACCOUNT, REGION, ROLE, check_shape, err, http, server  # noqa: F401

OPS = {"UpdateBudget", "DescribeSubscribersForNotification", "CreateSubscriber", "DeleteSubscriber",
       "TagResource", "ListTagsForResource", "DescribeBudgets", "CreateBudget", "GetTags"}
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
NOTE = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE"}
SNS = {"SubscriptionType": "SNS", "Address": TOPIC}


def _client(service: str, url: str, checked: list):
    client = boto3.client(service, endpoint_url=url, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def before_parse(operation_model, response_dict, **_):
        if operation_model.name not in OPS:
            return
        body = json.loads(response_dict["body"] or b"{}")
        if response_dict["status_code"] < 400:
            check_shape(body, operation_model.output_shape, operation_model.name)
        checked.append(operation_model.name)

    client.meta.events.register("before-parse", before_parse)
    return client


def arn(name: str) -> str:
    return f"arn:aws:budgets::{ACCOUNT}:budget/{name}"


def budget(name: str, amount: str = "100", spend: str | None = None) -> dict:
    out = {"BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
           "BudgetLimit": {"Amount": amount, "Unit": "USD"},
           "CostFilters": {"TagKeyValue": ["user:cost-center$CC-4100"]}}
    if spend:
        out["CalculatedSpend"] = {"ActualSpend": {"Amount": spend, "Unit": "USD"}}
    return out


@pytest.fixture
def budgets(server):  # noqa: F811
    http(f"{server}/moto-api/reset", "POST")
    checked: list[str] = []
    client = _client("budgets", server, checked)
    client.create_budget(AccountId=ACCOUNT, Budget=budget("ml-a", spend="42"),
                         NotificationsWithSubscribers=[{"Notification": NOTE, "Subscribers": [SNS]}],
                         ResourceTags=[{"Key": "tagwarden:managed", "Value": "true"}])
    return client, checked


def test_update_budget_replaces_the_limit_and_keeps_spend_and_notifications(budgets):
    client, checked = budgets
    client.update_budget(AccountId=ACCOUNT, NewBudget=budget("ml-a", amount="250"))
    got = client.describe_budget(AccountId=ACCOUNT, BudgetName="ml-a")["Budget"]
    assert got["BudgetLimit"]["Amount"] == "250"
    assert got["CalculatedSpend"]["ActualSpend"]["Amount"] == "42"
    assert len(client.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName="ml-a")["Notifications"]) == 1
    with pytest.raises(ClientError) as e:
        client.update_budget(AccountId=ACCOUNT, NewBudget=budget("missing"))
    assert err(e)[0] == "NotFoundException"
    assert "UpdateBudget" in checked


def test_subscribers_are_listed_added_and_removed_once(budgets):
    client, checked = budgets
    subs = client.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE)
    assert subs["Subscribers"] == [SNS]
    mail = {"SubscriptionType": "EMAIL", "Address": "a@example.com"}
    client.create_subscriber(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE, Subscriber=mail)
    with pytest.raises(ClientError) as e:
        client.create_subscriber(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE, Subscriber=mail)
    assert err(e)[0] == "DuplicateRecordException"
    client.delete_subscriber(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE, Subscriber=SNS)
    subs = client.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE)
    assert subs["Subscribers"] == [mail]
    with pytest.raises(ClientError) as e:
        client.delete_subscriber(AccountId=ACCOUNT, BudgetName="ml-a", Notification=NOTE, Subscriber=SNS)
    assert err(e)[0] == "NotFoundException"
    other = dict(NOTE, Threshold=99.0)
    with pytest.raises(ClientError) as e:
        client.describe_subscribers_for_notification(AccountId=ACCOUNT, BudgetName="ml-a", Notification=other)
    assert err(e)[0] == "NotFoundException"
    assert {"DescribeSubscribersForNotification", "CreateSubscriber", "DeleteSubscriber"} <= set(checked)


def test_resource_tags_come_from_create_budget_and_tag_resource_and_go_with_the_budget(budgets):
    client, checked = budgets
    tags = client.list_tags_for_resource(ResourceARN=arn("ml-a"))["ResourceTags"]
    assert tags == [{"Key": "tagwarden:managed", "Value": "true"}]
    client.tag_resource(ResourceARN=arn("ml-a"), ResourceTags=[{"Key": "owner", "Value": "platform"},
                                                              {"Key": "tagwarden:managed", "Value": "yes"}])
    tags = client.list_tags_for_resource(ResourceARN=arn("ml-a"))["ResourceTags"]
    assert tags == [{"Key": "owner", "Value": "platform"}, {"Key": "tagwarden:managed", "Value": "yes"}]
    client.delete_budget(AccountId=ACCOUNT, BudgetName="ml-a")
    with pytest.raises(ClientError) as e:
        client.list_tags_for_resource(ResourceARN=arn("ml-a"))
    assert err(e)[0] == "NotFoundException"
    client.create_budget(AccountId=ACCOUNT, Budget=budget("ml-a"))
    assert client.list_tags_for_resource(ResourceARN=arn("ml-a"))["ResourceTags"] == []
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceARN="arn:aws:s3:::bucket", ResourceTags=[])
    assert err(e)[0] == "InvalidParameterException"
    assert {"TagResource", "ListTagsForResource"} <= set(checked)


def test_describe_budgets_pages_with_max_results(budgets):
    client, _ = budgets
    for i in range(4):
        client.create_budget(AccountId=ACCOUNT, Budget=budget(f"ml-{i}"))
    first = client.describe_budgets(AccountId=ACCOUNT, MaxResults=3)
    assert len(first["Budgets"]) == 3 and first["NextToken"]
    rest = client.describe_budgets(AccountId=ACCOUNT, MaxResults=3, NextToken=first["NextToken"])
    assert len(rest["Budgets"]) == 2 and "NextToken" not in rest


def test_get_tags_lists_the_values_of_a_key_billing_knows(server):  # noqa: F811
    http(f"{server}/moto-api/reset", "POST")
    checked: list[str] = []
    sm = _client("sagemaker", server, checked)
    for name, value in (("m1", "CC-4100"), ("m2", "CC-4200"), ("m3", "CC-4100")):
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"},
                        Tags=[{"Key": "cost-center", "Value": value}, {"Key": "team", "Value": name}])
    ce = _client("ce", server, checked)
    period = {"Start": "2026-11-01", "End": "2026-12-01"}
    got = ce.get_tags(TimePeriod=period, TagKey="cost-center")
    assert (got["Tags"], got["ReturnSize"], got["TotalSize"]) == (["CC-4100", "CC-4200"], 2, 2)
    page = ce.get_tags(TimePeriod=period, TagKey="team", MaxResults=2)
    assert page["Tags"] == ["m1", "m2"] and page["NextPageToken"]
    rest = ce.get_tags(TimePeriod=period, TagKey="team", NextPageToken=page["NextPageToken"])
    assert rest["Tags"] == ["m3"] and "NextPageToken" not in rest
    assert ce.get_tags(TimePeriod=period, TagKey="cost-center", SearchString="42")["Tags"] == ["CC-4200"]
    assert "GetTags" in checked
