"""Tagwarden's moto extension for the AWS Price List API (``pricing``): GetProducts, DescribeServices.

moto 5.2.5 has no ``pricing`` service at all (no ``moto/pricing`` package, nothing in its backend index):
a request signed for ``pricing`` finds no backend.  There is no moto class to register on, so the
middleware of ``tagwarden_moto`` hands requests whose SigV4 scope names ``pricing`` to :func:`handle`,
which answers with the wire shapes of the AWS API model (pricing 2017-10-15, awsJson1_1, target
``AWSPriceListService.<Op>``):

- ``GetProducts``: ``ServiceCode`` (required), ``Filters`` (``Type`` ``TERM_MATCH`` | ``EQUALS`` |
  ``CONTAINS`` | ``ANY_OF`` | ``NONE_OF``, ``Field``, ``Value``; every filter must hold; ``Field`` is
  ``ServiceCode``, ``productFamily`` or an attribute name; values compared case-insensitively),
  ``FormatVersion`` (``aws_v1``), ``MaxResults`` (1..100, default 100), ``NextToken``.  Answer:
  ``FormatVersion``, ``PriceList`` -- a list of JSON *strings*, one product with its terms each --
  and ``NextToken`` while more remain.
- ``DescribeServices``: ``ServiceCode`` (optional), ``FormatVersion``, ``MaxResults``, ``NextToken``;
  answer ``Services`` [{``ServiceCode``, ``AttributeNames``}].
- Errors as the model's: ``InvalidParameterException`` (HTTP 400, ``Message``), ``NotFoundException``
  for an unknown service code in DescribeServices, ``ExpiredNextTokenException`` is never needed here.

The records.  A few SageMaker on-demand records for us-east-1, in the Price List's shape (product
``productFamily`` ``ML Instance``, attributes ``instanceName``, ``component``, ``regionCode``,
``location``, ``usagetype``, ``operation``; ``terms.OnDemand.<sku>.<offer term>.priceDimensions``
with ``unit`` ``Hrs`` and ``pricePerUnit.USD``).  The hourly figures are AWS's published on-demand
prices for US East (N. Virginia) as they stood in late 2025, taken from:

- https://aws.amazon.com/sagemaker/pricing/ (the on-demand tables; e.g. ml.t3.medium at $0.05 per hour
  on notebook instances and Studio notebooks);
- the Price List's own records as quoted in public code that reads them (stored public copies looked
  up on 2026-12-02, not the live API; see docs/references.md): ml.m5.xlarge Training $0.23, Hosting (real-time inference) $0.269 (the value
  the Price List API returned to flexera/policy_templates' ``aws_sagemaker_pricing.py``, and
  "$0.269/hour ... us-east-1 as of October 2025" at
  https://zircon.tech/blog/the-real-cost-of-running-ai-models-on-aws-sagemaker-inference-deep-dive);
  ml.g5.xlarge Hosting $1.408 (same article: "about $1.41/hour"; 1.4084 in public SageMaker price
  tables).
- The SKUs and rate codes below are placeholders of the right form (the real ones were not available
  offline); the figures, components and attribute names are the Price List's.

Test support (not AWS): ``POST /_tagwarden/price-list`` with ``{"records": [<product JSON>, ...]}``
adds records (a forged price, another instance type) until the server stops.

Use: ``tagwarden_moto`` calls :func:`handle` from its middleware.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterable

SAGEMAKER = "AmazonSageMaker"
REGION = "us-east-1"
LOCATION = "US East (N. Virginia)"
PUBLISHED = "2025-11-01T00:00:00Z"
ON_DEMAND_TERM = "JRTCKXETXF"  # the Price List's offer term code of on-demand prices
HOURLY_RATE = "6YS6EN2CT7"  # the Price List's rate code of a per-unit hourly price

USAGE_PREFIX = {"Notebook": "Notebk", "Hosting": "Host", "Training": "Train", "Processing": "Processing",
                "Studio Notebook": "Studio"}

# (instance, component, USD per hour): see the module's docstring for where each figure comes from.
PUBLISHED_PRICES: list[tuple[str, str, str]] = [
    ("ml.t3.medium", "Notebook", "0.0500000000"),
    ("ml.t3.medium", "Studio Notebook", "0.0500000000"),
    ("ml.m5.xlarge", "Training", "0.2300000000"),
    ("ml.m5.xlarge", "Hosting", "0.2690000000"),
    ("ml.g5.xlarge", "Hosting", "1.4080000000"),
]

SAGEMAKER_ATTRIBUTES = ["component", "instanceName", "instanceType", "location", "locationType",
                        "operation", "regionCode", "servicecode", "servicename", "usagetype"]


def record(instance: str, component: str, usd: str, region: str = REGION, sku: str | None = None) -> dict[str, Any]:
    """One product of the SageMaker price list with its on-demand term, as GetProducts returns it."""
    sku = sku or ("TW" + "".join(c for c in f"{instance}{component}".upper() if c.isalnum()))[:16]
    prefix = USAGE_PREFIX.get(component, component.replace(" ", ""))
    return {
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "component": component, "instanceName": instance, "instanceType": instance,
                "location": LOCATION, "locationType": "AWS Region", "operation": "RunInstance",
                "regionCode": region, "servicecode": SAGEMAKER, "servicename": "Amazon SageMaker",
                "usagetype": f"USE1-{prefix}:{instance}",
            },
            "sku": sku,
        },
        "serviceCode": SAGEMAKER,
        "terms": {"OnDemand": {f"{sku}.{ON_DEMAND_TERM}": {
            "offerTermCode": ON_DEMAND_TERM, "sku": sku, "effectiveDate": PUBLISHED, "termAttributes": {},
            "priceDimensions": {f"{sku}.{ON_DEMAND_TERM}.{HOURLY_RATE}": {
                "rateCode": f"{sku}.{ON_DEMAND_TERM}.{HOURLY_RATE}", "unit": "Hrs", "beginRange": "0",
                "endRange": "Inf", "appliesTo": [],
                "description": f"${float(usd):.3f} per On Demand {component} {instance} hour in {LOCATION}",
                "pricePerUnit": {"USD": usd},
            }},
        }}},
        "version": "20251101000000",
        "publicationDate": PUBLISHED,
    }


_lock = threading.Lock()
_records: list[dict[str, Any]] = [record(*row) for row in PUBLISHED_PRICES]


def seed_prices(body: dict[str, Any]) -> int:
    """``POST /_tagwarden/price-list``: adds records (each a product with its terms, the GetProducts shape)."""
    records = body.get("records")
    if not isinstance(records, list):
        raise ValueError("want {\"records\": [<product>, ...]}")
    for item in records:
        if not isinstance(item, dict) or "product" not in item or "terms" not in item:
            raise ValueError("a record needs product and terms")
    with _lock:
        _records.extend(records)
        return len(_records)


class PricingError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _field(item: dict[str, Any], field: str) -> str | None:
    if field.lower() == "servicecode":
        return item.get("serviceCode")
    if field == "productFamily":
        return item["product"].get("productFamily")
    return item["product"].get("attributes", {}).get(field)


def _matches(item: dict[str, Any], f: dict[str, Any]) -> bool:
    kind, value = f["Type"], str(f["Value"])
    have = _field(item, f["Field"])
    if have is None:
        return kind == "NONE_OF"
    have = have.lower()
    if kind in ("TERM_MATCH", "EQUALS"):
        return have == value.lower()
    if kind == "CONTAINS":
        return value.lower() in have
    values = [v.strip().lower() for v in value.split(",")]
    return have in values if kind == "ANY_OF" else have not in values


def _checked_filters(filters: Any) -> list[dict[str, Any]]:
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise PricingError("InvalidParameterException", "Filters must be a list")
    for f in filters:
        if not isinstance(f, dict) or not all(isinstance(f.get(k), str) for k in ("Type", "Field", "Value")):
            raise PricingError("InvalidParameterException", "each filter needs Type, Field and Value")
        if f["Type"] not in ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF"):
            raise PricingError("InvalidParameterException",
                               f"1 validation error detected: Value '{f['Type']}' at 'filters.member.type' failed "
                               "to satisfy constraint: Member must satisfy enum value set: "
                               "[TERM_MATCH, EQUALS, CONTAINS, ANY_OF, NONE_OF]")
    return filters


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    size = params.get("MaxResults", 100)
    if not isinstance(size, int) or not 1 <= size <= 100:
        raise PricingError("InvalidParameterException", "MaxResults must be between 1 and 100")
    token = params.get("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise PricingError("InvalidNextTokenException", "The next token is not valid")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def get_products(params: dict[str, Any]) -> dict[str, Any]:
    code = params.get("ServiceCode")
    if not isinstance(code, str) or not code:
        raise PricingError("InvalidParameterException", "ServiceCode is required")
    version = params.get("FormatVersion") or "aws_v1"
    if version != "aws_v1":
        raise PricingError("InvalidParameterException", f"FormatVersion {version} is not supported")
    filters = _checked_filters(params.get("Filters"))
    with _lock:
        matching = [r for r in _records if r.get("serviceCode") == code and all(_matches(r, f) for f in filters)]
    page, token = _page(matching, params)
    out: dict[str, Any] = {"FormatVersion": version, "PriceList": [json.dumps(r) for r in page]}
    if token:
        out["NextToken"] = token
    return out


def describe_services(params: dict[str, Any]) -> dict[str, Any]:
    code = params.get("ServiceCode")
    services = [{"ServiceCode": SAGEMAKER, "AttributeNames": SAGEMAKER_ATTRIBUTES}]
    if code:
        services = [s for s in services if s["ServiceCode"] == code]
        if not services:
            raise PricingError("NotFoundException", f"Service code {code} not found", 400)
    page, token = _page(services, params)
    out: dict[str, Any] = {"Services": page, "FormatVersion": params.get("FormatVersion") or "aws_v1"}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "GetProducts": get_products,
    "DescribeServices": describe_services,
}


def handle(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answers one Price List API request (awsJson1_1)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise PricingError("UnknownOperationException", f"the emulator does not serve pricing {operation!r}")
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            raise PricingError("SerializationException", "the request is not JSON")
        status, body = "200 OK", handler(params if isinstance(params, dict) else {})
    except PricingError as err:
        status = f"{err.status} Bad Request"
        body = {"__type": err.code, "Message": err.message}
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
    return [data]
