"""Tagwarden's moto extension for Cost Explorer: cost-allocation tags.

moto 5.2.5's ``ce`` service has cost categories, resource tags and
GetCostAndUsage, but not ``ListCostAllocationTags`` or
``UpdateCostAllocationTagsStatus`` (an HTML 500).  This module registers both
on moto's own ``CostExplorerBackend`` (state) and ``CostExplorerResponse``
(one method per action, snake_case, dispatched by
``X-Amz-Target: AWSInsightsIndexService.<Op>``), with the wire shapes of the
AWS API model (ce 2017-10-25):

- ``CostAllocationTag``: ``TagKey``, ``Type`` (``UserDefined`` |
  ``AWSGenerated``), ``Status`` (``Active`` | ``Inactive``),
  ``LastUpdatedDate``, ``LastUsedDate`` (ISO 8601 strings).
- ``ListCostAllocationTags``: filters ``Status``, ``TagKeys``, ``Type``;
  ``MaxResults`` (default 100) and ``NextToken`` pagination.
- ``UpdateCostAllocationTagsStatus``: 1..20 entries; a key billing has not
  seen is not an error of the call but an ``Errors`` entry with code
  ``TagKeysNotFoundException`` (as in the API reference's example 2);
  updating to the current status is a no-op.

What billing "has seen": a key is known once some SageMaker resource of the
account (any region, including the extension's profiles/spaces/apps) carries
it -- in AWS that takes up to 24 hours; here it is immediate.  Keys starting
with ``aws:`` are ``AWSGenerated``, the rest ``UserDefined``.  A key that was
activated stays listed after the resource that carried it is gone.

Payer account: cost-allocation tags are managed by the organization's payer
(management) account.  Calls from another account -- e.g. with credentials
from STS AssumeRole into a member account -- are answered like AWS answers a
linked account: ``AccessDeniedException`` "Failed to update Cost Allocation
Tag: Linked account doesn't have access to cost allocation tags." (HTTP 400).
The payer is ``TAGWARDEN_EMULATOR_PAYER_ACCOUNT`` (default 123456789012,
moto's default account).  That ListCostAllocationTags refuses linked
accounts the same way is an assumption (only the Update message is on record).

GetCostForecast (not in moto; README section 15): answered from forecasts
seeded through ``POST /_tagwarden/ce-forecast`` (test support), computed
linearly: a seed gives a tag condition and a daily mean; the answer's
``ForecastResultsByTime`` has one entry per DAILY day or MONTHLY month slice of
the requested ``TimePeriod`` with ``MeanValue`` = daily mean x days, and
``Total`` their sum.  A request matches the seed whose ``Tag`` equals the
``Tags`` condition of its ``Filter`` (top level or inside ``And``): ``Key``
with ``Values: [v]`` matches ``{"Key": k, "Value": v}``, ``Key`` with
``MatchOptions: ["ABSENT"]`` (or no values) matches ``{"Key": k, "Value": ""}``,
a filter without ``Tags`` matches a seed without ``Tag``.  No matching seed:
``DataUnavailableException`` ("Insufficient amount of historical data to
generate forecast."), what AWS answers without enough history.  Validation as
the model and its documentation: ``TimePeriod``, ``Metric`` (enum) and
``Granularity`` (DAILY or MONTHLY) required, the start not before today (UTC),
the end after the start.

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from moto.ce.models import CostExplorerBackend, ce_backends
from moto.ce.responses import CostExplorerResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow

_installed = False
DEFAULT_PAYER = "123456789012"
MAX_UPDATE = 20
DEFAULT_PAGE = 100
LINKED_MESSAGE = ("Failed to update Cost Allocation Tag: "
                  "Linked account doesn't have access to cost allocation tags.")


class AccessDenied(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


class ValidationError(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


def _now() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def _statuses(backend: CostExplorerBackend) -> dict[str, dict[str, str]]:
    """Key -> stored CostAllocationTag fields (Status, LastUpdatedDate) set by updates."""
    if not hasattr(backend, "tw_cost_allocation_tags"):
        backend.tw_cost_allocation_tags = {}
    return backend.tw_cost_allocation_tags


def seen_keys(account_id: str) -> set[str]:
    """Tag keys carried by any SageMaker resource of the account, in every region it has used."""
    from moto.sagemaker.models import sagemaker_backends

    keys: set[str] = set()
    for backend in list(sagemaker_backends[account_id].values()):
        for resource in backend.iter_tagged_resources():
            keys.update(resource.tags)
    return keys


def _check_payer(account_id: str) -> None:
    if account_id != os.environ.get("TAGWARDEN_EMULATOR_PAYER_ACCOUNT", DEFAULT_PAYER):
        raise AccessDenied(LINKED_MESSAGE)


def _tag(key: str, stored: dict[str, str] | None, used: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TagKey": key,
        "Type": "AWSGenerated" if key.startswith("aws:") else "UserDefined",
        "Status": (stored or {}).get("Status", "Inactive"),
    }
    if stored and stored.get("LastUpdatedDate"):
        out["LastUpdatedDate"] = stored["LastUpdatedDate"]
    if used:
        out["LastUsedDate"] = used
    return out


def list_cost_allocation_tags(self: CostExplorerBackend, status: str | None,
                              tag_keys: list[str] | None, tag_type: str | None,
                              next_token: str | None, max_results: int | None
                              ) -> tuple[list[dict[str, Any]], str | None]:
    _check_payer(self.account_id)
    seen = seen_keys(self.account_id)
    stored = _statuses(self)
    today = _now()
    tags = [_tag(k, stored.get(k), today if k in seen else None)
            for k in sorted(seen | set(stored))]
    if status:
        tags = [t for t in tags if t["Status"] == status]
    if tag_keys:
        tags = [t for t in tags if t["TagKey"] in tag_keys]
    if tag_type:
        tags = [t for t in tags if t["Type"] == tag_type]
    size = max_results or DEFAULT_PAGE
    if not 1 <= size <= 1000:
        raise ValidationError("MaxResults must be between 1 and 1000")
    try:
        start = int(next_token or 0)
    except ValueError:
        raise JsonRESTError("InvalidNextTokenException", "The pagination token is invalid.")
    page = tags[start:start + size]
    more = start + size < len(tags)
    return page, (str(start + size) if more else None)


def update_cost_allocation_tags_status(self: CostExplorerBackend,
                                       entries: list[dict[str, str]]) -> list[dict[str, str]]:
    _check_payer(self.account_id)
    if not entries or len(entries) > MAX_UPDATE:
        raise ValidationError(
            f"CostAllocationTagsStatus must have between 1 and {MAX_UPDATE} items")
    seen = seen_keys(self.account_id)
    stored = _statuses(self)
    errors = []
    for entry in entries:
        key, status = entry.get("TagKey", ""), entry.get("Status", "")
        if status not in ("Active", "Inactive"):
            raise ValidationError(f"Status {status!r} is not one of Active, Inactive")
        if key not in seen and key not in stored:
            errors.append({"TagKey": key, "Code": "TagKeysNotFoundException",
                           "Message": f"Failed to update Cost Allocation Tag: {key}"})
            continue
        current = stored.get(key, {}).get("Status", "Inactive")
        if current != status:
            stored[key] = {"Status": status, "LastUpdatedDate": _now()}
    return errors


def r_list_cost_allocation_tags(self: CostExplorerResponse) -> str:
    params = json.loads(self.body or "{}")
    tags, token = self.ce_backend.list_cost_allocation_tags(
        status=params.get("Status"), tag_keys=params.get("TagKeys"),
        tag_type=params.get("Type"), next_token=params.get("NextToken"),
        max_results=params.get("MaxResults"))
    out: dict[str, Any] = {"CostAllocationTags": tags}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def r_update_cost_allocation_tags_status(self: CostExplorerResponse) -> str:
    params = json.loads(self.body or "{}")
    errors = self.ce_backend.update_cost_allocation_tags_status(
        params.get("CostAllocationTagsStatus") or [])
    return json.dumps({"Errors": errors})


# --------------------------------------------------------------------------
# GetCostForecast (section 15)
# --------------------------------------------------------------------------

FORECAST_METRICS = {"BLENDED_COST", "UNBLENDED_COST", "AMORTIZED_COST", "NET_UNBLENDED_COST",
                    "NET_AMORTIZED_COST", "USAGE_QUANTITY", "NORMALIZED_USAGE_AMOUNT", "LIST_COST",
                    "CONTRACTED_COST", "BILLED_COST", "PUBLIC_EQUIVALENT_BILLED_COST",
                    "PUBLIC_ON_DEMAND_COST"}
NO_HISTORY = "Insufficient amount of historical data to generate forecast."


def _forecasts(backend: CostExplorerBackend) -> list[dict[str, Any]]:
    if not hasattr(backend, "tw_forecasts"):
        backend.tw_forecasts = []
    return backend.tw_forecasts


def seed_forecasts(body: dict[str, Any]) -> int:
    """``POST /_tagwarden/ce-forecast``: ``{"account_id"?, "forecasts": [{"Tag"?: {"Key", "Value"},
    "DailyMean": "1.25"}]}``; a later seed of the same tag replaces the earlier one."""
    backend = ce_backends[str(body.get("account_id") or DEFAULT_PAYER)]["global"]
    seeds = _forecasts(backend)
    for entry in body.get("forecasts") or []:
        tag = entry.get("Tag")
        key = (tag["Key"], tag.get("Value") or "") if tag else None
        Decimal(str(entry["DailyMean"]))  # a bad number fails the seed, not a later request
        seeds[:] = [s for s in seeds if s["tag"] != key]
        seeds.append({"tag": key, "daily": str(entry["DailyMean"])})
    return len(seeds)


def _tag_condition(expression: dict[str, Any] | None) -> tuple[str, str] | None:
    """The (key, value) a Filter's Tags condition names; value "" for ABSENT."""
    if not expression:
        return None
    tags = expression.get("Tags")
    if tags:
        values = tags.get("Values") or []
        if "ABSENT" in (tags.get("MatchOptions") or []) or not values:
            return (tags.get("Key", ""), "")
        return (tags.get("Key", ""), values[0])
    for inner in expression.get("And") or []:
        found = _tag_condition(inner)
        if found:
            return found
    return None


def _date(text: Any, member: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise ValidationError(f"TimePeriod.{member} {text!r} is not a date (YYYY-MM-DD)")


def _slices(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    out, cursor = [], start
    while cursor < end:
        if granularity == "DAILY":
            nxt = cursor + timedelta(days=1)
        else:
            nxt = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((cursor, min(nxt, end)))
        cursor = min(nxt, end)
    return out


def _amount(value: Decimal) -> str:
    return format(value.quantize(Decimal("1E-10")).normalize(), "f")


def get_cost_forecast(self: CostExplorerBackend, params: dict[str, Any]) -> dict[str, Any]:
    period, metric, granularity = params.get("TimePeriod"), params.get("Metric"), params.get("Granularity")
    if not period or not metric or not granularity:
        raise ValidationError("TimePeriod, Metric and Granularity are required")
    if metric not in FORECAST_METRICS:
        raise ValidationError(f"Metric {metric!r} is not one of {sorted(FORECAST_METRICS)}")
    if granularity not in ("DAILY", "MONTHLY"):
        raise ValidationError("GetCostForecast supports only DAILY and MONTHLY granularities")
    start, end = _date(period.get("Start"), "Start"), _date(period.get("End"), "End")
    if start < utcnow().date():
        raise ValidationError(f"Start date {start} must be equal to or later than the current date")
    if end <= start:
        raise ValidationError("End date must be after the start date")
    condition = _tag_condition(params.get("Filter"))
    seed = next((s for s in _forecasts(self) if s["tag"] == condition), None)
    if seed is None:
        raise JsonRESTError("DataUnavailableException", NO_HISTORY)
    daily = Decimal(seed["daily"])
    results, total = [], Decimal(0)
    for lo, hi in _slices(start, end, granularity):
        mean = daily * (hi - lo).days
        total += mean
        result = {"TimePeriod": {"Start": lo.isoformat(), "End": hi.isoformat()}, "MeanValue": _amount(mean)}
        if params.get("PredictionIntervalLevel"):
            result["PredictionIntervalLowerBound"] = _amount(mean * Decimal("0.9"))
            result["PredictionIntervalUpperBound"] = _amount(mean * Decimal("1.1"))
        results.append(result)
    return {"Total": {"Amount": _amount(total), "Unit": "USD"}, "ForecastResultsByTime": results}


def r_get_cost_forecast(self: CostExplorerResponse) -> str:
    try:
        params = json.loads(self.body or "{}")
    except (ValueError, InvalidOperation):
        raise ValidationError("the request is not JSON")
    return json.dumps(self.ce_backend.get_cost_forecast(params))


def install() -> None:
    """Patch moto's Cost Explorer classes (idempotent)."""
    global _installed
    if _installed:
        return
    CostExplorerBackend.list_cost_allocation_tags = list_cost_allocation_tags
    CostExplorerBackend.update_cost_allocation_tags_status = update_cost_allocation_tags_status
    CostExplorerResponse.list_cost_allocation_tags = r_list_cost_allocation_tags
    CostExplorerResponse.update_cost_allocation_tags_status = r_update_cost_allocation_tags_status
    CostExplorerBackend.get_cost_forecast = get_cost_forecast
    CostExplorerResponse.get_cost_forecast = r_get_cost_forecast
    _installed = True
