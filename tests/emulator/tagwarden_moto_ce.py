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

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import json
import os
from typing import Any

from moto.ce.models import CostExplorerBackend
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


def install() -> None:
    """Patch moto's Cost Explorer classes (idempotent)."""
    global _installed
    if _installed:
        return
    CostExplorerBackend.list_cost_allocation_tags = list_cost_allocation_tags
    CostExplorerBackend.update_cost_allocation_tags_status = update_cost_allocation_tags_status
    CostExplorerResponse.list_cost_allocation_tags = r_list_cost_allocation_tags
    CostExplorerResponse.update_cost_allocation_tags_status = r_update_cost_allocation_tags_status
    _installed = True
