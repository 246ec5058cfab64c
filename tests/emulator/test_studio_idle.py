"""Self-test of tagwarden_moto_studio_idle.py: IdleSettings stored and returned by the domains', user
profiles' and spaces' Create/Describe/Update calls, raw bodies checked strictly against the AWS API model;
updates replace only the settings members they name; ranges refused as AWS does.

Run: .venv/bin/python -m pytest tests/emulator -q
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from test_extension import REGION, ROLE, SM_MODEL, check_shape, server  # noqa: F401

CHECKED = {"DescribeDomain", "DescribeUserProfile", "DescribeSpace",
           "UpdateDomain", "UpdateUserProfile", "UpdateSpace"}


@pytest.fixture
def sm(server):
    client = boto3.client("sagemaker", endpoint_url=server, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")

    def before_parse(operation_model, response_dict, **_):
        if operation_model.name in CHECKED and response_dict["status_code"] < 400:
            check_shape(json.loads(response_dict["body"]), operation_model.output_shape, operation_model.name)

    client.meta.events.register("before-parse", before_parse)
    return client


def idle(timeout, low=None, high=None):
    settings = {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": timeout}
    if low is not None:
        settings["MinIdleTimeoutInMinutes"] = low
    if high is not None:
        settings["MaxIdleTimeoutInMinutes"] = high
    return {"AppLifecycleManagement": {"IdleSettings": settings}}


def domain(sm, name):
    sm.create_domain(DomainName=name, AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
                     DefaultUserSettings={"ExecutionRole": ROLE,
                                          "JupyterLabAppSettings": idle(120)})
    return f"d-{name}"


def test_a_domains_default_settings_are_updated_member_by_member(sm):
    domain_id = domain(sm, "idle-domain")
    before = sm.describe_domain(DomainId=domain_id)
    assert before["DefaultUserSettings"]["JupyterLabAppSettings"] == idle(120)
    arn = sm.update_domain(DomainId=domain_id,
                           DefaultUserSettings={"CodeEditorAppSettings": idle(60, 60, 240)},
                           DefaultSpaceSettings={"JupyterLabAppSettings": idle(60)})["DomainArn"]
    assert arn == before["DomainArn"]
    after = sm.describe_domain(DomainId=domain_id)
    users = after["DefaultUserSettings"]
    assert users["ExecutionRole"] == ROLE, "members the update leaves out stay"
    assert users["JupyterLabAppSettings"] == idle(120)
    assert users["CodeEditorAppSettings"] == idle(60, 60, 240)
    assert after["DefaultSpaceSettings"]["JupyterLabAppSettings"] == idle(60)


def test_a_profiles_idle_settings_are_kept_from_creation_and_replaced_by_an_update(sm):
    domain_id = domain(sm, "idle-profiles")
    jl = {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}, **idle(300)}
    arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="alice",
                                 UserSettings={"ExecutionRole": ROLE, "JupyterLabAppSettings": jl})["UserProfileArn"]
    described = sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")
    assert described["UserSettings"]["JupyterLabAppSettings"] == jl
    new_jl = {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}, **idle(60, 60, 240)}
    out = sm.update_user_profile(DomainId=domain_id, UserProfileName="alice",
                                 UserSettings={"JupyterLabAppSettings": new_jl})
    assert out["UserProfileArn"] == arn
    settings = sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"]
    assert settings == {"ExecutionRole": ROLE, "JupyterLabAppSettings": new_jl}


def test_a_spaces_idle_timeout_is_set_by_an_update_and_its_app_type_kept(sm):
    domain_id = domain(sm, "idle-spaces")
    arn = sm.create_space(DomainId=domain_id, SpaceName="lab",
                          SpaceSettings={"AppType": "JupyterLab"})["SpaceArn"]
    assert "JupyterLabAppSettings" not in sm.describe_space(DomainId=domain_id, SpaceName="lab")["SpaceSettings"]
    space_idle = {"AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 90}}}
    out = sm.update_space(DomainId=domain_id, SpaceName="lab",
                          SpaceSettings={"JupyterLabAppSettings": space_idle})
    assert out["SpaceArn"] == arn
    settings = sm.describe_space(DomainId=domain_id, SpaceName="lab")["SpaceSettings"]
    assert settings == {"AppType": "JupyterLab", "JupyterLabAppSettings": space_idle}


def test_unknown_resources_and_out_of_range_timeouts_are_refused_as_aws_does(sm):
    domain_id = domain(sm, "idle-refusals")
    sm.create_user_profile(DomainId=domain_id, UserProfileName="bob")
    for call in (lambda: sm.update_domain(DomainId="d-nope", DefaultUserSettings={}),
                 lambda: sm.update_user_profile(DomainId=domain_id, UserProfileName="nobody", UserSettings={}),
                 lambda: sm.update_space(DomainId=domain_id, SpaceName="nothing", SpaceSettings={})):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    # NOTE: boto3 checks the model's range on the client side; the raw request reaches the emulator.
    raw = boto3.client("sagemaker", endpoint_url=sm.meta.endpoint_url, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=boto3.session.Config(parameter_validation=False))
    for settings, expected in ((idle(30), "Member must have value between 60 and 525600"),
                               (idle(120, 240, 180), "is greater than MaxIdleTimeoutInMinutes")):
        with pytest.raises(ClientError) as e:
            raw.update_user_profile(DomainId=domain_id, UserProfileName="bob",
                                    UserSettings={"JupyterLabAppSettings": settings})
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert expected in e.value.response["Error"]["Message"]
    assert "UserSettings" not in sm.describe_user_profile(DomainId=domain_id, UserProfileName="bob")


def test_the_added_operations_are_in_the_aws_model():
    for op in ("UpdateDomain", "UpdateUserProfile", "UpdateSpace"):
        assert op in SM_MODEL.operation_names
