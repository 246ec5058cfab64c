"""Tagwarden's moto extension for CloudTrail: the 90-day event history (``LookupEvents``).

moto 5.2.5's ``cloudtrail`` service has trails, but not ``LookupEvents`` (an
HTML 500).  This module registers it on moto's own ``CloudTrailResponse``
(dispatched by ``X-Amz-Target:
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``) over
events kept on moto's ``CloudTrailBackend``, with the wire shapes of the AWS
API model (cloudtrail 2013-11-01):

- request: ``LookupAttributes`` (at most one ``{AttributeKey, AttributeValue}``;
  keys ``EventId``, ``EventName``, ``ReadOnly``, ``Username``,
  ``ResourceType``, ``ResourceName``, ``EventSource``, ``AccessKeyId``),
  ``StartTime``, ``EndTime`` (epoch seconds), ``MaxResults`` (1..50, default
  50), ``NextToken``;
- response: ``Events`` newest first, each ``EventId``, ``EventName``,
  ``ReadOnly`` (the string ``"true"``/``"false"``), ``AccessKeyId``,
  ``EventTime`` (epoch seconds), ``EventSource``, ``Username``, ``Resources``
  and ``CloudTrailEvent`` (the record as a JSON string); ``NextToken``;
- errors: ``InvalidLookupAttributesException`` (more than one attribute, an
  unknown key), ``InvalidMaxResultsException``, ``InvalidTimeRangeException``
  (start after end), ``InvalidNextTokenException``.

How events get there: the tests record CloudTrail records (the ``detail`` of an
EventBridge "AWS API Call via CloudTrail" event) with ``record()``, through the
admin endpoint ``POST /_tagwarden/cloudtrail-event`` (``tagwarden_moto.py``),
in the record's own ``recipientAccountId`` and ``awsRegion``.

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from moto.cloudtrail.models import CloudTrailBackend, cloudtrail_backends
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError

_installed = False
MAX_PAGE = 50
ATTRIBUTE_KEYS = {"EventId", "EventName", "ReadOnly", "Username", "ResourceType",
                  "ResourceName", "EventSource", "AccessKeyId"}


class TrailError(JsonRESTError):
    code = 400


def _events(backend: CloudTrailBackend) -> list[dict[str, Any]]:
    """The backend's event history, oldest first."""
    if not hasattr(backend, "tw_events"):
        backend.tw_events = []
    return backend.tw_events


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _username(record: dict[str, Any]) -> str | None:
    identity = record.get("userIdentity") or {}
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    arn = identity.get("arn") or ""
    # AWS gives an assumed role's session name, an IAM user's name.
    if identity.get("type") == "AssumedRole" and "/" in arn:
        return arn.rsplit("/", 1)[1]
    return identity.get("userName") or issuer.get("userName")


def _resources(record: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    for key, value in sorted((record.get("responseElements") or {}).items()):
        if isinstance(value, str) and value.startswith("arn:"):
            found.append({"ResourceType": "AWS::SageMaker::" + key[:1].upper() + key[1:-3],
                          "ResourceName": value})
    return found


def record(record: dict[str, Any]) -> dict[str, Any]:
    """Keeps one CloudTrail record in its account's and region's history; returns its lookup entry
    (raises ValueError for a record without the fields the history is keyed by)."""
    for field in ("eventID", "eventName", "eventSource", "eventTime", "awsRegion", "recipientAccountId"):
        if not isinstance(record.get(field), str):
            raise ValueError(f"a CloudTrail record needs {field!r}")
    entry = {
        "EventId": record["eventID"], "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "AccessKeyId": (record.get("userIdentity") or {}).get("accessKeyId"),
        "EventTime": _epoch(record["eventTime"]), "EventSource": record["eventSource"],
        "Username": _username(record), "Resources": _resources(record),
        "CloudTrailEvent": json.dumps(record),
    }
    backend = cloudtrail_backends[record["recipientAccountId"]][record["awsRegion"]]
    _events(backend).append({k: v for k, v in entry.items() if v is not None})
    return entry


def _matches(entry: dict[str, Any], key: str, value: str) -> bool:
    if key in ("ResourceType", "ResourceName"):
        field = key
        return any(r.get(field) == value for r in entry.get("Resources", []))
    return entry.get(key) == value


def lookup_events(self: CloudTrailResponse) -> str:
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise TrailError("InvalidLookupAttributesException",
                           "You cannot specify more than one lookup attribute.")
    for attribute in attributes:
        if attribute.get("AttributeKey") not in ATTRIBUTE_KEYS:
            raise TrailError("InvalidLookupAttributesException",
                               f"Invalid attribute key: {attribute.get('AttributeKey')}")
    max_results = self._get_param("MaxResults") or MAX_PAGE
    if not 1 <= int(max_results) <= MAX_PAGE:
        raise TrailError("InvalidMaxResultsException",
                           "MaxResults must be between 1 and 50.")
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    if start is not None and end is not None and float(start) > float(end):
        raise TrailError("InvalidTimeRangeException", "Start time must be before end time.")
    events = [e for e in reversed(_events(self.cloudtrail_backend))
              if all(_matches(e, a["AttributeKey"], a.get("AttributeValue")) for a in attributes)
              and (start is None or e["EventTime"] >= float(start))
              and (end is None or e["EventTime"] <= float(end))]
    token = self._get_param("NextToken")
    offset = 0
    if token:
        try:
            offset = int(token)
        except ValueError:
            raise TrailError("InvalidNextTokenException", "Invalid NextToken.") from None
        if not 0 < offset <= len(events):
            raise TrailError("InvalidNextTokenException", "Invalid NextToken.")
    page = events[offset:offset + int(max_results)]
    body: dict[str, Any] = {"Events": page}
    if offset + len(page) < len(events):
        body["NextToken"] = str(offset + len(page))
    return json.dumps(body)


def install() -> None:
    """Adds LookupEvents to moto's CloudTrail (idempotent)."""
    global _installed
    if _installed:
        return
    CloudTrailResponse.lookup_events = lookup_events
    _installed = True
