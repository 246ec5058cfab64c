"""Tagwarden's moto extension for Cost Explorer: Cost Anomaly Detection (README section 17).

moto 5.2.5's ``ce`` service has no anomaly monitors and no anomalies (an HTML
500).  The budget-enforcer verifies a Cost Anomaly Detection alert against
AWS's own record, so this module registers, on moto's own
``CostExplorerBackend`` (state) and ``CostExplorerResponse`` (one method per
action, dispatched by ``X-Amz-Target: AWSInsightsIndexService.<Op>``), with
the wire shapes of the AWS API model (ce 2017-10-25):

- ``CreateAnomalyMonitor`` (``AnomalyMonitor``: ``MonitorName`` and
  ``MonitorType`` required; ``DIMENSIONAL`` needs ``MonitorDimension``,
  ``CUSTOM`` a ``MonitorSpecification`` expression, kept as given) ->
  ``MonitorArn`` ``arn:aws:ce::ACCOUNT:anomalymonitor/<uuid>``.
- ``GetAnomalyMonitors`` (``MonitorArnList`` optional; ``MaxResults``,
  ``NextPageToken``): the monitors, in creation order; an ARN not known ->
  ``UnknownMonitorException``.
- ``GetAnomalies`` (``DateInterval`` required; ``MonitorArn``, ``Feedback``,
  ``TotalImpact`` {``NumericOperator``, ``StartValue``, ``EndValue``},
  ``MaxResults``, ``NextPageToken``): the seeded anomalies whose end date
  (``AnomalyEndDate``, else ``AnomalyStartDate``) falls in the interval, as the
  API reference says of ``DateInterval``.  A monitor with no anomalies, or
  not known, answers an empty list (the model lists no
  ``UnknownMonitorException`` for this call).

Anomalies are not detected here: tests seed them with
``POST /_tagwarden/ce-anomalies`` (``{"account_id"?, "anomalies": [<Anomaly
as the model shapes it>]}``).  A seed must name a monitor created before and
carry the model's required members (``AnomalyId``, ``AnomalyScore``,
``Impact`` with ``MaxImpact``, ``MonitorArn``); a later seed of the same id
replaces the earlier one.

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from moto.ce.models import CostExplorerBackend, ce_backends
from moto.ce.responses import CostExplorerResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow

_installed = False
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_PAGE = 100
MONITOR_TYPES = {"DIMENSIONAL", "CUSTOM"}
MONITOR_DIMENSIONS = {"SERVICE", "LINKED_ACCOUNT", "TAG", "COST_CATEGORY"}
OPERATORS = {"EQUAL", "GREATER_THAN_OR_EQUAL", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "LESS_THAN", "BETWEEN"}


class ValidationError(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


class UnknownMonitor(JsonRESTError):
    code = 400

    def __init__(self, arn: str):
        super().__init__("UnknownMonitorException", f"Cost anomaly monitor {arn} does not exist")


def _state(backend: CostExplorerBackend) -> dict[str, Any]:
    if not hasattr(backend, "tw_anomalies"):
        backend.tw_anomalies = {"monitors": [], "anomalies": {}}
    return backend.tw_anomalies


def _page(items: list[Any], token: str | None, size: int | None) -> tuple[list[Any], str | None]:
    size = size or DEFAULT_PAGE
    if not 1 <= size <= 1000:
        raise ValidationError("MaxResults must be between 1 and 1000")
    try:
        start = int(token or 0)
    except ValueError:
        raise JsonRESTError("InvalidNextTokenException", "The pagination token is invalid.")
    return items[start:start + size], (str(start + size) if start + size < len(items) else None)


def create_anomaly_monitor(self: CostExplorerBackend, monitor: dict[str, Any]) -> str:
    name, kind = monitor.get("MonitorName"), monitor.get("MonitorType")
    if not name or not kind:
        raise ValidationError("AnomalyMonitor.MonitorName and MonitorType are required")
    if kind not in MONITOR_TYPES:
        raise ValidationError(f"MonitorType {kind!r} is not one of {sorted(MONITOR_TYPES)}")
    dimension = monitor.get("MonitorDimension")
    if dimension is not None and dimension not in MONITOR_DIMENSIONS:
        raise ValidationError(f"MonitorDimension {dimension!r} is not one of {sorted(MONITOR_DIMENSIONS)}")
    if kind == "DIMENSIONAL" and not dimension:
        raise ValidationError("A DIMENSIONAL monitor needs a MonitorDimension")
    if kind == "CUSTOM" and not monitor.get("MonitorSpecification"):
        raise ValidationError("A CUSTOM monitor needs a MonitorSpecification")
    arn = f"arn:aws:ce::{self.account_id}:anomalymonitor/{uuid.uuid4()}"
    today = utcnow().date().isoformat()
    stored: dict[str, Any] = {"MonitorArn": arn, "MonitorName": name, "CreationDate": today,
                              "LastUpdatedDate": today, "MonitorType": kind, "DimensionalValueCount": 0}
    if dimension:
        stored["MonitorDimension"] = dimension
    if monitor.get("MonitorSpecification"):
        stored["MonitorSpecification"] = monitor["MonitorSpecification"]
    _state(self)["monitors"].append(stored)
    return arn


def get_anomaly_monitors(self: CostExplorerBackend, arns: list[str] | None, token: str | None,
                         size: int | None) -> tuple[list[dict[str, Any]], str | None]:
    monitors = _state(self)["monitors"]
    if arns:
        known = {m["MonitorArn"] for m in monitors}
        for arn in arns:
            if arn not in known:
                raise UnknownMonitor(arn)
        monitors = [m for m in monitors if m["MonitorArn"] in arns]
    return _page(monitors, token, size)


def _day(text: Any, member: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise ValidationError(f"{member} {text!r} is not a date (YYYY-MM-DD)")


def _impact_matches(total: float, condition: dict[str, Any] | None) -> bool:
    if not condition:
        return True
    operator, start = condition.get("NumericOperator"), condition.get("StartValue")
    if operator not in OPERATORS or start is None:
        raise ValidationError("TotalImpact needs a NumericOperator of the model's enum and a StartValue")
    end = condition.get("EndValue")
    return {
        "EQUAL": total == start, "GREATER_THAN_OR_EQUAL": total >= start, "LESS_THAN_OR_EQUAL": total <= start,
        "GREATER_THAN": total > start, "LESS_THAN": total < start,
        "BETWEEN": end is not None and start <= total <= end,
    }[operator]


def get_anomalies(self: CostExplorerBackend, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    interval = params.get("DateInterval")
    if not interval or not interval.get("StartDate"):
        raise ValidationError("DateInterval with a StartDate is required")
    start = _day(interval["StartDate"], "DateInterval.StartDate")
    end = _day(interval["EndDate"], "DateInterval.EndDate") if interval.get("EndDate") else utcnow().date()
    if end < start:
        raise ValidationError("DateInterval.EndDate must not be before its StartDate")
    found = []
    for anomaly in _state(self)["anomalies"].values():
        if params.get("MonitorArn") and anomaly["MonitorArn"] != params["MonitorArn"]:
            continue
        if params.get("Feedback") and anomaly.get("Feedback") != params["Feedback"]:
            continue
        last = _day(anomaly.get("AnomalyEndDate") or anomaly.get("AnomalyStartDate") or "", "AnomalyEndDate")
        if not start <= last <= end:
            continue
        if not _impact_matches(float(anomaly["Impact"].get("TotalImpact", 0.0)), params.get("TotalImpact")):
            continue
        found.append(anomaly)
    return _page(found, params.get("NextPageToken"), params.get("MaxResults"))


def seed_anomalies(body: dict[str, Any]) -> int:
    """``POST /_tagwarden/ce-anomalies``: keeps anomalies (the model's ``Anomaly`` shape) for ``GetAnomalies``."""
    backend = ce_backends[str(body.get("account_id") or DEFAULT_ACCOUNT)]["global"]
    state = _state(backend)
    known = {m["MonitorArn"] for m in state["monitors"]}
    for anomaly in body.get("anomalies") or []:
        for member in ("AnomalyId", "AnomalyScore", "Impact", "MonitorArn"):
            if member not in anomaly:
                raise ValueError(f"an anomaly needs {member}")
        if "MaxImpact" not in anomaly["Impact"]:
            raise ValueError("an anomaly's Impact needs MaxImpact")
        if anomaly["MonitorArn"] not in known:
            raise ValueError(f"no monitor {anomaly['MonitorArn']}: create it first (CreateAnomalyMonitor)")
        for member in ("AnomalyStartDate", "AnomalyEndDate"):
            if anomaly.get(member):
                _day(anomaly[member], member)
        state["anomalies"][anomaly["AnomalyId"]] = anomaly
    return len(state["anomalies"])


def _params(self: CostExplorerResponse) -> dict[str, Any]:
    try:
        return json.loads(self.body or "{}")
    except ValueError:
        raise ValidationError("the request is not JSON")


def r_create_anomaly_monitor(self: CostExplorerResponse) -> str:
    arn = self.ce_backend.create_anomaly_monitor(_params(self).get("AnomalyMonitor") or {})
    return json.dumps({"MonitorArn": arn})


def r_get_anomaly_monitors(self: CostExplorerResponse) -> str:
    params = _params(self)
    monitors, token = self.ce_backend.get_anomaly_monitors(
        params.get("MonitorArnList"), params.get("NextPageToken"), params.get("MaxResults"))
    out: dict[str, Any] = {"AnomalyMonitors": monitors}
    if token:
        out["NextPageToken"] = token
    return json.dumps(out)


def r_get_anomalies(self: CostExplorerResponse) -> str:
    anomalies, token = self.ce_backend.get_anomalies(_params(self))
    out: dict[str, Any] = {"Anomalies": anomalies}
    if token:
        out["NextPageToken"] = token
    return json.dumps(out)


def install() -> None:
    """Patch moto's Cost Explorer classes (idempotent)."""
    global _installed
    if _installed:
        return
    CostExplorerBackend.create_anomaly_monitor = create_anomaly_monitor
    CostExplorerBackend.get_anomaly_monitors = get_anomaly_monitors
    CostExplorerBackend.get_anomalies = get_anomalies
    CostExplorerResponse.create_anomaly_monitor = r_create_anomaly_monitor
    CostExplorerResponse.get_anomaly_monitors = r_get_anomaly_monitors
    CostExplorerResponse.get_anomalies = r_get_anomalies
    _installed = True
