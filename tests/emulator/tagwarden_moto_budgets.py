"""Tagwarden's moto extension for AWS Budgets (budgets as code) and Cost Explorer ``GetTags``.

moto 5.2.5's ``budgets`` service has Create/Describe/DeleteBudget(s) and
Create/Delete/DescribeNotification(s), but not what ``tagwarden budgets
apply`` keeps in step: ``UpdateBudget``, the subscribers of a notification
(``DescribeSubscribersForNotification``, ``CreateSubscriber``,
``DeleteSubscriber``) and budget resource tags (``TagResource``,
``ListTagsForResource``, ``ResourceTags`` of ``CreateBudget``); its
``DescribeBudgets`` ignores ``MaxResults``/``NextToken``.  Cost Explorer lacks
``GetTags``.  This module registers them on moto's own ``BudgetsBackend`` /
``BudgetsResponse`` (dispatched by ``X-Amz-Target:
AWSBudgetServiceGateway.<Op>``) and ``CostExplorerResponse``, with the wire
shapes of the AWS API model (budgets 2016-10-20, ce 2017-10-25):

- ``UpdateBudget``: ``AccountId``, ``NewBudget`` (a ``Budget``); replaces the
  stored budget, keeping ``CalculatedSpend`` unless the request sets it
  (AWS computes spend; tests set it this way) and the time period.
  ``NotFoundException`` for an unknown budget.
- ``DescribeSubscribersForNotification``: ``Subscribers`` (``SubscriptionType``,
  ``Address``); ``NotFoundException`` for an unknown budget or notification.
- ``CreateSubscriber`` / ``DeleteSubscriber``: one subscriber of a notification;
  ``DuplicateRecordException`` when it exists, ``NotFoundException`` when not.
- ``TagResource`` / ``ListTagsForResource``: ``ResourceARN``
  ``arn:aws:budgets::ACCOUNT:budget/NAME``, ``ResourceTags`` (``Key``,
  ``Value``); a key set again is overwritten; ``NotFoundException`` for a
  budget that does not exist.  Deleting a budget drops its tags.
- ``DescribeBudgets``: ``MaxResults`` (default 100) and an opaque ``NextToken``.
- ``GetTags`` (Cost Explorer) with ``TagKey``: the values billing knows for
  the key -- those carried by the account's SageMaker resources (in AWS, by
  resources that have had cost since the tag was activated), sorted; without
  ``TagKey``: the keys.  ``SearchString`` filters by substring;
  ``MaxResults``/``NextPageToken`` page.  ``TimePeriod`` is required but not
  used to filter (the emulator keeps no usage history).

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import json
from typing import Any

from moto.budgets.exceptions import DuplicateRecordException, NotFoundException
from moto.budgets.models import Budget, BudgetsBackend
from moto.budgets.responses import BudgetsResponse
from moto.ce.responses import CostExplorerResponse
from moto.core.exceptions import JsonRESTError

_installed = False
DEFAULT_PAGE = 100


class InvalidParameter(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidParameterException", message)


def _budget(backend: BudgetsBackend, account_id: str, name: str) -> Budget:
    if name not in backend.budgets[account_id]:
        raise NotFoundException(f"Unable to get budget: {name} - the budget doesn't exist.")
    return backend.budgets[account_id][name]


def _tags(backend: BudgetsBackend) -> dict[str, dict[str, str]]:
    """Budget ARN -> tags."""
    if not hasattr(backend, "tw_tags"):
        backend.tw_tags = {}
    return backend.tw_tags


def _arn(account_id: str, name: str) -> str:
    return f"arn:aws:budgets::{account_id}:budget/{name}"


def _parse_arn(arn: str) -> tuple[str, str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "budgets" or not parts[5].startswith("budget/"):
        raise InvalidParameter(f"{arn} is not a budget ARN (arn:aws:budgets::ACCOUNT:budget/NAME)")
    return parts[4], parts[5][len("budget/"):]


def _notification(budget: Budget, details: dict[str, Any]) -> Any:
    for n in budget.notifications:
        if n.details == details:
            return n
    raise NotFoundException("Unable to find the notification - the notification doesn't exist.")


def _page(items: list[Any], max_results: Any, token: Any) -> tuple[list[Any], str | None]:
    size = int(max_results or DEFAULT_PAGE)
    start = int(token) if token else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


# -- Budgets ---------------------------------------------------------------

def r_update_budget(self: BudgetsResponse) -> str:
    account_id = self._get_param("AccountId")
    new = dict(self._get_param("NewBudget"))
    old = _budget(self.backend, account_id, new.get("BudgetName", ""))
    if "BudgetLimit" not in new and "PlannedBudgetLimits" not in new:
        raise InvalidParameter("A budget needs a BudgetLimit or PlannedBudgetLimits.")
    for kept in ("CalculatedSpend", "TimePeriod"):
        if kept not in new and kept in old.budget:
            new[kept] = old.budget[kept]
    notifications = old.notifications
    old.budget = new
    old.notifications = notifications
    from moto.core.utils import unix_time
    old.budget["LastUpdatedTime"] = unix_time()
    return json.dumps({})


def r_describe_subscribers_for_notification(self: BudgetsResponse) -> str:
    budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
    notification = _notification(budget, self._get_param("Notification"))
    page, token = _page(list(notification.subscribers), self._get_param("MaxResults"), self._get_param("NextToken"))
    out: dict[str, Any] = {"Subscribers": page}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def r_create_subscriber(self: BudgetsResponse) -> str:
    budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
    notification = _notification(budget, self._get_param("Notification"))
    subscriber = self._get_param("Subscriber")
    if subscriber in notification.subscribers:
        raise DuplicateRecordException(record_type="subscriber", record_name=subscriber.get("Address", ""))
    notification.subscribers = list(notification.subscribers) + [subscriber]
    return json.dumps({})


def r_delete_subscriber(self: BudgetsResponse) -> str:
    budget = _budget(self.backend, self._get_param("AccountId"), self._get_param("BudgetName"))
    notification = _notification(budget, self._get_param("Notification"))
    subscriber = self._get_param("Subscriber")
    if subscriber not in notification.subscribers:
        raise NotFoundException("Unable to delete subscriber - the subscriber doesn't exist.")
    notification.subscribers = [s for s in notification.subscribers if s != subscriber]
    return json.dumps({})


def r_tag_resource(self: BudgetsResponse) -> str:
    account_id, name = _parse_arn(self._get_param("ResourceARN"))
    _budget(self.backend, account_id, name)
    tags = _tags(self.backend).setdefault(_arn(account_id, name), {})
    for tag in self._get_param("ResourceTags") or []:
        tags[tag["Key"]] = tag.get("Value", "")
    return json.dumps({})


def r_list_tags_for_resource(self: BudgetsResponse) -> str:
    account_id, name = _parse_arn(self._get_param("ResourceARN"))
    _budget(self.backend, account_id, name)
    tags = _tags(self.backend).get(_arn(account_id, name), {})
    return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]})


_orig_create_budget = BudgetsResponse.create_budget
_orig_delete_budget = BudgetsResponse.delete_budget


def r_create_budget(self: BudgetsResponse) -> str:
    out = _orig_create_budget(self)
    account_id = self._get_param("AccountId")
    name = self._get_param("Budget")["BudgetName"]
    tags = {t["Key"]: t.get("Value", "") for t in self._get_param("ResourceTags") or []}
    if tags:
        _tags(self.backend)[_arn(account_id, name)] = tags
    return out


def r_delete_budget(self: BudgetsResponse) -> str:
    out = _orig_delete_budget(self)
    _tags(self.backend).pop(_arn(self._get_param("AccountId"), self._get_param("BudgetName")), None)
    return out


def r_describe_budgets(self: BudgetsResponse) -> str:
    budgets = list(self.backend.describe_budgets(account_id=self._get_param("AccountId")))
    page, token = _page(budgets, self._get_param("MaxResults"), self._get_param("NextToken"))
    out: dict[str, Any] = {"Budgets": page}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


# -- Cost Explorer GetTags ---------------------------------------------------

def r_get_tags(self: CostExplorerResponse) -> str:
    from moto.sagemaker.models import sagemaker_backends

    if not self._get_param("TimePeriod"):
        raise JsonRESTError("ValidationException", "TimePeriod is required")
    key = self._get_param("TagKey")
    found: set[str] = set()
    for backend in list(sagemaker_backends[self.current_account].values()):
        for resource in backend.iter_tagged_resources():
            if key is None:
                found.update(resource.tags)
            elif resource.tags.get(key):
                found.add(resource.tags[key])
    search = self._get_param("SearchString")
    values = sorted(v for v in found if not search or search in v)
    page, token = _page(values, self._get_param("MaxResults"), self._get_param("NextPageToken"))
    out: dict[str, Any] = {"Tags": page, "ReturnSize": len(page), "TotalSize": len(values)}
    if token:
        out["NextPageToken"] = token
    return json.dumps(out)


def install() -> None:
    """Patch moto's Budgets and Cost Explorer classes (idempotent)."""
    global _installed
    if _installed:
        return
    for name, fn in list(globals().items()):
        if name.startswith("r_") and callable(fn) and name != "r_get_tags":
            setattr(BudgetsResponse, name[2:], fn)
    CostExplorerResponse.get_tags = r_get_tags
    _installed = True
