"""Tagwarden's moto extension, gap 18: updating Studio domains, user profiles and spaces.

moto 5.2.5 keeps a domain's ``DefaultUserSettings`` and ``DefaultSpaceSettings`` as given to
CreateDomain and returns them from DescribeDomain, but has no UpdateDomain; the extension's user
profiles and spaces (gaps 1 and 2 in ``tagwarden_moto.py``) keep ``UserSettings`` and
``SpaceSettings`` the same way and had no UpdateUserProfile / UpdateSpace.  Added here, on moto's own
response class, so moto's model-driven parser and serializer shape every request and response
(``IdleSettings`` under ``AppLifecycleManagement`` included) as the AWS API model does:

- UpdateDomain(DomainId, DefaultUserSettings, DefaultSpaceSettings, …) -> DomainArn
- UpdateUserProfile(DomainId, UserProfileName, UserSettings) -> UserProfileArn
- UpdateSpace(DomainId, SpaceName, SpaceSettings, SpaceDisplayName) -> SpaceArn

A settings structure given in an update replaces the stored one member by member: a member the request
names (``JupyterLabAppSettings``) is replaced whole, members it leaves out are kept.  An unknown domain,
profile or space is ``ResourceNotFound``; an idle timeout outside 60..525600 minutes, or a user's
minimum above the maximum, is a ``ValidationException`` as in AWS.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

R = SageMakerResponse

IDLE_MIN, IDLE_MAX = 60, 525600
_APP_SETTINGS = ("JupyterLabAppSettings", "CodeEditorAppSettings")


def _merge(stored: dict[str, Any] | None, given: dict[str, Any] | None) -> dict[str, Any] | None:
    """Members of ``given`` replace those of ``stored``; the others stay."""
    if given is None:
        return stored
    merged = dict(stored or {})
    merged.update(given)
    return merged


def _check_idle(settings: dict[str, Any] | None, path: str) -> None:
    """The AWS API's range checks of every ``IdleSettings`` under ``settings``."""
    for app in _APP_SETTINGS:
        idle = (((settings or {}).get(app) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings")
        if not idle:
            continue
        at = f"{path}.{app[0].lower()}{app[1:]}.appLifecycleManagement.idleSettings"
        for member in ("IdleTimeoutInMinutes", "MinIdleTimeoutInMinutes", "MaxIdleTimeoutInMinutes"):
            value = idle.get(member)
            if value is not None and not IDLE_MIN <= int(value) <= IDLE_MAX:
                name = member[0].lower() + member[1:]
                raise ValidationError(
                    f"1 validation error detected: Value '{value}' at '{at}.{name}' failed to satisfy "
                    f"constraint: Member must have value between {IDLE_MIN} and {IDLE_MAX}")
        low, high = idle.get("MinIdleTimeoutInMinutes"), idle.get("MaxIdleTimeoutInMinutes")
        if low is not None and high is not None and int(low) > int(high):
            raise ValidationError(f"{at}: MinIdleTimeoutInMinutes {low} is greater than MaxIdleTimeoutInMinutes {high}")


def r_update_domain(self: R) -> ActionResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    domain = backend.domains.get(domain_id)
    if domain is None:
        arn = arn_formatter("domain", domain_id, backend.account_id, backend.region_name)
        raise ResourceNotFound(f"Domain {arn} does not exist.")
    users, spaces = self._get_param("DefaultUserSettings"), self._get_param("DefaultSpaceSettings")
    _check_idle(users, "defaultUserSettings")
    _check_idle(spaces, "defaultSpaceSettings")
    domain.default_user_settings = _merge(domain.default_user_settings, users)
    domain.default_space_settings = _merge(domain.default_space_settings, spaces)
    for param, attr in (("AppSecurityGroupManagement", "app_security_group_management"),
                        ("AppNetworkAccessType", "app_network_access_type"),
                        ("SubnetIds", "subnet_ids"), ("VpcId", "vpc_id")):
        if self._get_param(param) is not None:
            setattr(domain, attr, self._get_param(param))
    if self._get_param("DomainSettingsForUpdate") is not None:
        domain.domain_settings = _merge(domain.domain_settings, self._get_param("DomainSettingsForUpdate"))
    domain.last_modified_time = utcnow()
    return ActionResult({"DomainArn": domain.arn})


def r_update_user_profile(self: R) -> ActionResult:
    profile = self.sagemaker_backend.tw_get_user_profile(
        self._get_param("DomainId"), self._get_param("UserProfileName"))
    given = self._get_param("UserSettings")
    _check_idle(given, "userSettings")
    profile.user_settings = _merge(profile.user_settings, given)
    profile.last_modified_time = utcnow()
    return ActionResult({"UserProfileArn": profile.arn})


def r_update_space(self: R) -> ActionResult:
    space = self.sagemaker_backend.tw_get_space(self._get_param("DomainId"), self._get_param("SpaceName"))
    given = self._get_param("SpaceSettings")
    _check_idle(given, "spaceSettings")
    space.space_settings = _merge(space.space_settings, given)
    if self._get_param("SpaceDisplayName") is not None:
        space.display_name = self._get_param("SpaceDisplayName")
    space.last_modified_time = utcnow()
    return ActionResult({"SpaceArn": space.arn})


def install() -> None:
    """Registers the three operations on moto's SageMaker response class (idempotent)."""
    for name, fn in (("update_domain", r_update_domain), ("update_user_profile", r_update_user_profile),
                     ("update_space", r_update_space)):
        setattr(SageMakerResponse, name, fn)
