"""Self-test of tagwarden_moto_anomalies.py (section 17): CreateAnomalyMonitor, GetAnomalyMonitors and
GetAnomalies against the AWS API model (raw bodies checked strictly), over anomalies seeded through
POST /_tagwarden/ce-anomalies.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from test_extension import REGION, check_shape, err, http, server  # noqa: F401

OPS = {"CreateAnomalyMonitor", "GetAnomalyMonitors", "GetAnomalies"}
TODAY = date.today()


def _ce(url: str, checked: list):
    client = boto3.client("ce", endpoint_url=url, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def before_parse(operation_model, response_dict, **_):
        if operation_model.name not in OPS:
            return
        body = json.loads(response_dict["body"] or b"{}")
        if response_dict["status_code"] >= 400:
            assert response_dict["status_code"] == 400 and "__type" in body, body
        else:
            check_shape(body, operation_model.output_shape, operation_model.name)
        checked.append(operation_model.name)

    client.meta.events.register("before-parse", before_parse)
    return client


@pytest.fixture
def ce(server):  # noqa: F811
    http(f"{server}/moto-api/reset", "POST")
    checked: list[str] = []
    yield _ce(server, checked), server
    assert checked, "every call's raw body was checked against the model"


def tag_monitor(client, value: str = "nlp") -> str:
    return client.create_anomaly_monitor(AnomalyMonitor={
        "MonitorName": f"team-{value}", "MonitorType": "CUSTOM",
        "MonitorSpecification": {"Tags": {"Key": "team", "Values": [value]}}})["MonitorArn"]


def anomaly(monitor: str, anomaly_id: str, total: float, end: date = TODAY, service: str = "Amazon SageMaker") -> dict:
    return {"AnomalyId": anomaly_id, "MonitorArn": monitor, "DimensionValue": "nlp",
            "AnomalyStartDate": (end - timedelta(days=1)).isoformat(), "AnomalyEndDate": end.isoformat(),
            "AnomalyScore": {"MaxScore": 0.8, "CurrentScore": 0.7},
            "Impact": {"MaxImpact": total / 2, "TotalImpact": total, "TotalActualSpend": total + 50,
                       "TotalExpectedSpend": 50.0, "TotalImpactPercentage": round(total / 50 * 100, 2)},
            "RootCauses": [{"Service": service, "Region": "us-east-1", "LinkedAccount": "123456789012",
                            "UsageType": "USE1-Notebk:ml.p3.2xlarge"}]}


def test_monitors_are_created_and_read_back_with_their_specification(ce):
    client, _ = ce
    arn = tag_monitor(client)
    assert arn.startswith("arn:aws:ce::123456789012:anomalymonitor/")
    service = client.create_anomaly_monitor(AnomalyMonitor={
        "MonitorName": "services", "MonitorType": "DIMENSIONAL", "MonitorDimension": "SERVICE"})["MonitorArn"]
    [read] = client.get_anomaly_monitors(MonitorArnList=[arn])["AnomalyMonitors"]
    assert read["MonitorType"] == "CUSTOM" and read["MonitorSpecification"]["Tags"] == {"Key": "team", "Values": ["nlp"]}
    every = client.get_anomaly_monitors()["AnomalyMonitors"]
    assert [m["MonitorArn"] for m in every] == [arn, service]
    page = client.get_anomaly_monitors(MaxResults=1)
    assert len(page["AnomalyMonitors"]) == 1 and page["NextPageToken"]


def test_an_unknown_monitor_and_a_malformed_one_are_refused(ce):
    client, _ = ce
    with pytest.raises(ClientError) as e:
        client.get_anomaly_monitors(MonitorArnList=["arn:aws:ce::123456789012:anomalymonitor/nope"])
    assert err(e)[0] == "UnknownMonitorException"
    for monitor in ({"MonitorName": "x", "MonitorType": "DIMENSIONAL"},
                    {"MonitorName": "x", "MonitorType": "CUSTOM"},
                    {"MonitorName": "x", "MonitorType": "WEEKLY", "MonitorDimension": "SERVICE"}):
        with pytest.raises(ClientError) as e:
            client.create_anomaly_monitor(AnomalyMonitor=monitor)
        assert err(e)[0] == "ValidationException"


def test_seeded_anomalies_are_found_by_monitor_and_end_date(ce):
    client, url = ce
    nlp, cv = tag_monitor(client, "nlp"), tag_monitor(client, "cv")
    status, body = http(f"{url}/_tagwarden/ce-anomalies", "POST", {"anomalies": [
        anomaly(nlp, "an-1", 400.0), anomaly(nlp, "an-old", 90.0, end=TODAY - timedelta(days=40)),
        anomaly(cv, "an-cv", 20.0, service="Amazon Elastic Compute Cloud - Compute")]})
    assert (status, body) == (200, {"anomalies": 3})
    interval = {"StartDate": (TODAY - timedelta(days=7)).isoformat(), "EndDate": TODAY.isoformat()}
    found = client.get_anomalies(MonitorArn=nlp, DateInterval=interval)["Anomalies"]
    assert [a["AnomalyId"] for a in found] == ["an-1"]
    assert found[0]["Impact"]["TotalImpact"] == 400.0 and found[0]["RootCauses"][0]["Service"] == "Amazon SageMaker"
    every = client.get_anomalies(DateInterval={"StartDate": (TODAY - timedelta(days=60)).isoformat()})["Anomalies"]
    assert {a["AnomalyId"] for a in every} == {"an-1", "an-old", "an-cv"}
    big = client.get_anomalies(DateInterval=interval, TotalImpact={"NumericOperator": "GREATER_THAN", "StartValue": 100})
    assert [a["AnomalyId"] for a in big["Anomalies"]] == ["an-1"]
    unknown = "arn:aws:ce::123456789012:anomalymonitor/nope"
    assert client.get_anomalies(MonitorArn=unknown, DateInterval=interval)["Anomalies"] == []


def test_a_seed_needs_a_known_monitor_and_the_models_required_members(ce):
    client, url = ce
    monitor = tag_monitor(client)
    status, body = http(f"{url}/_tagwarden/ce-anomalies", "POST", {"anomalies": [
        anomaly("arn:aws:ce::123456789012:anomalymonitor/nope", "an-1", 1.0)]})
    assert status == 400 and "create it first" in body["message"]
    broken = anomaly(monitor, "an-2", 1.0)
    del broken["AnomalyScore"]
    status, body = http(f"{url}/_tagwarden/ce-anomalies", "POST", {"anomalies": [broken]})
    assert status == 400 and "AnomalyScore" in body["message"]
    client.get_anomaly_monitors()


def test_a_reversed_interval_is_a_validation_error(ce):
    client, _ = ce
    with pytest.raises(ClientError) as e:
        client.get_anomalies(DateInterval={"StartDate": "2026-11-20", "EndDate": "2026-11-01"})
    assert err(e)[0] == "ValidationException"
