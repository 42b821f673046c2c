"""One HTTP attempt on the wire: build the request, send it, read the answer under caps.

`build_request` turns an `Operation` call into bytes and refuses, before
anything is sent, a body over ``max_request_bytes`` or more items than the
operation's documented ``max_inputs`` (`RequestTooLarge`).

`send_once` sends one request and always returns an `Exchange`: the status and
body, or the `Failure` that ended the attempt. The answer is streamed and read
as it arrives (``read1``), so the total deadline is checked between socket
reads even when a server trickles bytes, and reading stops as soon as the
answer passes its cap (a declared ``Content-Length`` over the cap is refused
before reading): an oversized answer ends as ``Failure.TOO_LARGE``, never in
memory exhaustion.

Requests go out through urllib3's connection pools directly. ``requests`` sat
on top of them before and cost about 0.4 ms of CPU per call in merging
settings, hooks and cookies we never use (`benchmarks/pipeline_partition.py`:
a push sends one request per lead); it also closed every streamed
connection it had not read through its own iterator, so each call opened a
new one. Here a connection whose answer was read to the end goes back to its
pool for the next call.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3.exceptions
from urllib3 import BaseHTTPResponse, PoolManager

from sales_pipeline.clients.errors import RequestTooLarge
from sales_pipeline.clients.operation import Operation, QueryValue, Timeouts
from sales_pipeline.clients.resolution import Exchange, Failure

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Request:
    """A request ready to send (the credential is added at send time)."""

    url: str
    body: bytes | None
    content_type: str | None


def build_request(
    vendor: str,
    base_url: str,
    operation: Operation,
    *,
    path_params: Mapping[str, str] | None,
    params: Mapping[str, QueryValue] | None,
    json_body: Any,
    form: Mapping[str, str] | None,
    max_request_bytes: int,
) -> Request:
    """The request for one call of ``operation``.

    Raises:
        RequestTooLarge: The body exceeds ``max_request_bytes``, or its
            ``operation.inputs_key`` list exceeds ``operation.max_inputs``.
    """
    quoted = {key: quote(str(value), safe="") for key, value in (path_params or {}).items()}
    url = base_url + operation.path.format(**quoted)
    items = json_body.get(operation.inputs_key) if isinstance(json_body, dict) else None
    limit = operation.max_inputs
    if limit is not None and isinstance(items, list) and len(items) > limit:
        raise RequestTooLarge(
            f"{len(items)} items; the vendor takes at most {limit}",
            vendor=vendor,
            operation=operation.name,
            field=operation.inputs_key,
        )
    body: bytes | None = None
    content_type: str | None = None
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = "application/json"
    elif form is not None:
        body = urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    if body is not None and len(body) > max_request_bytes:
        raise RequestTooLarge(
            f"request body of {len(body)} bytes exceeds {max_request_bytes}",
            vendor=vendor,
            operation=operation.name,
            field="body",
        )
    query: dict[str, QueryValue] = {**dict(operation.fixed_params), **(params or {})}
    if query:
        url += "?" + urlencode(query, doseq=True)
    return Request(url=url, body=body, content_type=content_type)


def send_once(
    http: PoolManager,
    operation: Operation,
    request: Request,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    max_response_bytes: int,
) -> Exchange:
    """Send ``request`` once and read its answer; never raises for network trouble."""
    deadline = time.monotonic() + timeouts.total_s
    try:
        response = http.urlopen(
            operation.method,
            request.url,
            body=request.body,
            headers=dict(headers),
            timeout=urllib3.Timeout(connect=timeouts.connect_s, read=timeouts.read_s),
            preload_content=False,
            redirect=False,
            retries=False,
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Exchange(operation=operation.name, status=None, failure=classify(exc))
    received = Exchange(operation=operation.name, status=response.status, headers=response.headers)
    try:
        body = _read_body(response, deadline, max_response_bytes)
    except _BodyTooLargeError:
        return _with_failure(received, Failure.TOO_LARGE)
    except _DeadlinePassedError:
        return _with_failure(received, Failure.TIMEOUT)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return _with_failure(received, classify(exc))
    finally:
        response.release_conn()
    text = body.decode(_charset(response.headers.get("Content-Type", "")), errors="replace")
    data, parsed = _parse_json(text)
    malformed = not parsed and operation.expects_json and 200 <= response.status < 300 and text
    return Exchange(
        operation=operation.name,
        status=response.status,
        failure=Failure.MALFORMED_BODY if malformed else None,
        headers=response.headers,
        text=text,
        data=data,
    )


class _BodyTooLargeError(Exception):
    """The answer passed its cap."""


class _DeadlinePassedError(Exception):
    """The total deadline passed while the body was streaming."""


def _read_body(response: BaseHTTPResponse, deadline: float, limit: int) -> bytes:
    """The whole body of ``response``; a read that stops early closes the connection, so
    the rest of the answer never reaches the next call on it."""
    declared = response.headers.get("Content-Length", "")
    chunks: list[bytes] = []
    size = 0
    try:
        if declared.isdigit() and int(declared) > limit:
            raise _BodyTooLargeError
        while chunk := response.read1(_CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > limit:
                raise _BodyTooLargeError
            if time.monotonic() > deadline:
                raise _DeadlinePassedError
            chunks.append(chunk)
    except BaseException:
        response.close()
        raise
    return b"".join(chunks)


def _charset(content_type: str) -> str:
    """The charset a ``Content-Type`` names, if Python knows it; UTF-8 otherwise (JSON's)."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                break
    return "utf-8"


def _with_failure(exchange: Exchange, failure: Failure) -> Exchange:
    return Exchange(
        operation=exchange.operation,
        status=exchange.status,
        failure=failure,
        headers=exchange.headers,
    )


def classify(exc: BaseException) -> Failure:
    """Map a urllib3 or socket exception to a `Failure`."""
    if _caused_by(exc, urllib3.exceptions.ConnectTimeoutError):
        return Failure.CONNECT
    if _caused_by(exc, urllib3.exceptions.ReadTimeoutError) or isinstance(exc, TimeoutError):
        return Failure.TIMEOUT
    return Failure.DROPPED


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` appears in the chain of ``exc`` (args, reason, cause, context)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
    return False


def _parse_json(text: str) -> tuple[Any, bool]:
    """``(data, parsed)``: the JSON value of ``text``; an empty body parses as None."""
    if not text.strip():
        return None, True
    try:
        return json.loads(text), True
    except ValueError:
        return None, False
