"""Tagwarden's moto extension for CloudWatch: the Smithy RPC v2 CBOR protocol.

The AWS API model of CloudWatch (monitoring 2010-08-01) lists the protocols
``smithy-rpc-v2-cbor``, ``json`` and ``query``; the AWS SDK for Rust (and
botocore 1.44) send ``smithy-rpc-v2-cbor``: ``POST
/service/GraniteServiceVersion20100801/operation/<Op>`` with the header
``smithy-protocol: rpc-v2-cbor`` and a CBOR body.  moto 5.2.5 answers
CloudWatch on the query protocol only.  This module answers the calls the
idle rules and their tests make on that protocol, with moto's own
CloudWatch backend holding the metrics:

- ``PutMetricData`` (``Namespace``, ``MetricData`` with ``MetricName``,
  ``Dimensions``, ``Timestamp``, ``Value``/``Values``/``Counts``, ``Unit``):
  an empty map;
- ``GetMetricData`` (``MetricDataQueries`` with ``Id`` and ``MetricStat``
  {``Metric`` {``Namespace``, ``MetricName``, ``Dimensions``}, ``Period``,
  ``Stat``}, ``StartTime``, ``EndTime``, ``ScanBy``): ``MetricDataResults``
  with ``Id``, ``Label``, ``Values``, ``Timestamps``, ``StatusCode``
  (moto's computation, one value per period that has data), no
  ``NextToken``.  More than 500 queries is the ``InvalidParameterValue``
  error AWS gives (the limit the idle rules batch by).

Wire shapes (Smithy RPC v2 CBOR): request and response bodies are CBOR maps
with the model's member names; timestamps are tag 1 (epoch seconds); the
response carries ``smithy-protocol: rpc-v2-cbor`` and ``Content-Type:
application/cbor``; an error is HTTP 400 with ``__type`` and ``message`` and,
the model being ``awsQueryCompatible``, the ``x-amzn-query-error`` header.
Other operations answer ``UnknownOperationException``.

Use: ``tagwarden_moto.TagwardenMiddleware`` hands such requests to
:func:`handle`.
"""

from __future__ import annotations

import io
import math
import re
import struct
from datetime import datetime, timezone
from typing import Any

from botocore.parsers import RpcV2CBORParser

PATH_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
MAX_QUERIES = 500
_REGION_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/monitoring/aws4_request")
_ACCOUNT = "123456789012"


def is_cbor_request(environ: dict[str, Any]) -> bool:
    """Whether this is a CloudWatch call on the RPC v2 CBOR protocol."""
    return (environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor"
            and environ.get("PATH_INFO", "").startswith(PATH_PREFIX))


def decode(body: bytes) -> Any:
    """One CBOR data item (botocore's own decoder)."""
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(f"CBOR length too large: {n}")


def encode(value: Any) -> bytes:
    """CBOR of maps, lists, strings, bytes, booleans, None, integers, floats and datetimes (tag 1)."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return b"\xc1" + encode(moment.timestamp())
    if isinstance(value, str):
        data = value.encode("utf-8")
        return _head(3, len(data)) + data
    if isinstance(value, (bytes, bytearray)):
        return _head(2, len(value)) + bytes(value)
    if isinstance(value, (list, tuple)):
        return _head(4, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def _naive_utc(value: Any) -> Any:
    """moto keeps naive UTC datetimes; CBOR timestamps decode aware."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _reply(start_response: Any, status: str, body: dict[str, Any],
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = encode(body)
    headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
               ("Content-Length", str(len(data))), ("x-amzn-RequestId", "tagwarden-cloudwatch")]
    start_response(status, headers + (extra or []))
    return [data]


def _error(start_response: Any, code: str, message: str, status: str = "400 Bad Request") -> list[bytes]:
    body = {"__type": f"com.amazonaws.cloudwatch#{code}", "message": message}
    return _reply(start_response, status, body, [("x-amzn-query-error", f"{code};Sender")])


def _backend(environ: dict[str, Any]) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    scope = _REGION_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region = scope.group(1) if scope else "us-east-1"
    return cloudwatch_backends[_ACCOUNT][region]


def handle(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers one RPC v2 CBOR CloudWatch call with moto's backend."""
    operation = environ.get("PATH_INFO", "")[len(PATH_PREFIX):]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        request = decode(environ["wsgi.input"].read(length) if length else b"")
    except Exception as err:  # noqa: BLE001 - a body that is not CBOR is the caller's error
        return _error(start_response, "SerializationException", f"body is not CBOR: {err}")
    if not isinstance(request, dict):
        return _error(start_response, "SerializationException", "the body must be a CBOR map")
    backend = _backend(environ)
    if operation == "PutMetricData":
        namespace = request.get("Namespace")
        if not namespace:
            return _error(start_response, "MissingParameter", "The parameter Namespace is required.")
        data = [dict(m, Timestamp=_naive_utc(m.get("Timestamp"))) for m in request.get("MetricData", [])]
        backend.put_metric_data(namespace, data)
        return _reply(start_response, "200 OK", {})
    if operation == "GetMetricData":
        queries = request.get("MetricDataQueries") or []
        if len(queries) > MAX_QUERIES:
            return _error(start_response, "InvalidParameterValue",
                          f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}.")
        start, end = _naive_utc(request.get("StartTime")), _naive_utc(request.get("EndTime"))
        if start is None or end is None:
            return _error(start_response, "MissingParameter", "The parameters StartTime and EndTime are required.")
        for query in queries:
            if "MetricStat" not in query and "Expression" not in query:
                return _error(start_response, "InvalidParameterValue",
                              "The parameter MetricDataQueries.member.1.MetricStat is required.")
        results = backend.get_metric_data(queries=queries, start_time=start, end_time=end,
                                          scan_by=request.get("ScanBy") or "TimestampDescending")
        shaped = [{"Id": r["id"], "Label": r["label"],
                   "Values": [float(v) for v in r["values"] if not math.isnan(float(v))],
                   "Timestamps": list(r["timestamps"]), "StatusCode": r["status_code"]} for r in results]
        return _reply(start_response, "200 OK", {"MetricDataResults": shaped, "Messages": []})
    return _error(start_response, "UnknownOperationException",
                  f"operation {operation} is not answered on the CBOR protocol by the emulator", "404 Not Found")
