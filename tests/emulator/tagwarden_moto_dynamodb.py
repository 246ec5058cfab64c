"""Tagwarden's moto extension for DynamoDB: Query and Scan answer in time at estate scale.

moto 5.2.5 writes every response through its model-driven serializer, which walks each attribute value
through the ten members of the ``AttributeValue`` union: 2-5 ms of CPU per enforcement-ledger item. A 1 MB
Query page of the ledger holds some 2,000 items, so one page takes longer than the SDK's 10 s operation
timeout, and an enforcement of a few thousand resources cannot read its own entries back (the last part of
an enforcement that continues reads every part's entries for its summary). DynamoDB answers such a page in
milliseconds.

``Query`` and ``Scan`` results are plain data already: moto's ``DynamoResult`` holds ``{type: value}``
dicts, with raw bytes for binary values. They are written here with ``json.dumps`` -- the awsJson 1.0 body
the serializer writes, binary values base64-encoded as the protocol does -- with the serializer's
``Content-Type``. Anything else in a result (a timestamp, a set) goes through moto's serializer as before.
Paging (1 MB, ``Limit``, ``LastEvaluatedKey``), filters and errors are moto's own.

Use: ``tagwarden_moto.install()`` calls ``install()`` here.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler

_installed = False
# Off: every answer goes through moto's serializer (the self-test compares both bodies).
ENABLED = True
CONTENT_TYPE = "application/x-amz-json-1.0"


class _NotPlain(TypeError):
    """A value json.dumps cannot write as the serializer would."""


def _blob(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise _NotPlain(type(value).__name__)


def plain_body(result: object) -> str | None:
    """The awsJson 1.0 body of a Query or Scan result, or None when it holds more than plain data."""
    try:
        return json.dumps(result, default=_blob, separators=(",", ":"))
    except (_NotPlain, ValueError):
        return None


def _fast(method: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    def answer(self: DynamoHandler) -> Any:
        result = method(self)
        if not ENABLED or not isinstance(result, ActionResult):
            return result
        body = plain_body(result.result)
        if body is None:
            return result
        return body, {"status": 200, "Content-Type": CONTENT_TYPE}
    answer.__name__ = method.__name__
    return answer


def install() -> None:
    """Patch moto's DynamoDB handler (idempotent)."""
    global _installed
    if _installed:
        return
    for name in ("query", "scan"):
        setattr(DynamoHandler, name, _fast(getattr(DynamoHandler, name)))
    _installed = True
