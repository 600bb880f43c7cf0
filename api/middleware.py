"""Middleware (plain ASGI): request id, body size and type, one log line per request.

- Every request gets a fresh server-side id (UUID 4): in `request.state`,
  in the logging context, in the ``X-Request-ID`` answer header and in every
  problem body. A recommendation's `request_id` is this id.
- A request line and headers over ``POLKU_MAX_HEADER_BYTES`` are refused
  with 431 (`polku serve` also closes a connection whose head grows past it
  before it is complete: api.connections).
- Bodies over ``POLKU_MAX_BODY_BYTES`` are refused with 413 before they are
  read (by Content-Length) or as soon as the limit is passed (chunked).
- A body that is not JSON (by Content-Type) is refused with 415; under
  ``form_paths`` (the console) a form's body is taken instead.
- One log line per request: method, route template, status, milliseconds.
  The raw path and query string are never logged.
- Every answer says ``X-Content-Type-Options: nosniff``; an answer of the
  API proper (``/v1/``: recommendations, decisions, the audit log, all of
  which may hold client data) is never cached (``Cache-Control: no-store``);
  an HTML answer without a Content-Security-Policy of its own (the reports)
  gets `REPORT_CSP`: no script, styles inline, nothing fetched.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Final

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id_var
from api.problems import INTERNAL, MEDIA_TYPE, TYPE_PREFIX, log_internal

logger = logging.getLogger(__name__)

_BODY_METHODS: Final = {b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH"}
REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def safety_headers(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with the ones every answer of `path` carries (see the module's text)."""
    names = {name.lower() for name, _ in headers}
    out = list(headers)
    if b"x-content-type-options" not in names:
        out.append((b"x-content-type-options", b"nosniff"))
    if path.startswith("/v1/") and b"cache-control" not in names:
        out.append((b"cache-control", b"no-store"))
    if b"content-security-policy" not in names:
        media = next((v for k, v in headers if k.lower() == b"content-type"), b"")
        if media.split(b";", 1)[0].strip().lower() == b"text/html":
            out.append((b"content-security-policy", REPORT_CSP.encode()))
    return out


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _is_form(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/x-www-form-urlencoded", "multipart/form-data")


class PolkuMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int = 16_384,
        form_paths: tuple[str, ...] = (),
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.form_paths = form_paths
        # Paths whose bodies may be larger (a plan carries many clients' histories).
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "started": False}
        path = str(scope.get("path", ""))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                headers = safety_headers(path, list(message.get("headers", [])))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            limit = self.path_limits.get(scope.get("path", ""), self.max_body_bytes)
            refusal = self._refusal(scope, limit)
            if refusal is not None:
                await self._problem(send_with_id, request_id, *refusal)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        # FastAPI re-raises an HTTPException from reading the body;
                        # the problem handler answers it.
                        raise HTTPException(413, self._too_large(limit)[3])
                return message

            try:
                await self.app(scope, limited_receive, send_with_id)
            except Exception as exc:
                # Answered here rather than re-raised, so that the server does not
                # log the exception's message, which may hold a submitted value.
                log_internal(exc, request_id)
                if status["started"]:
                    return  # too late for an answer; the connection ends
                internal = INTERNAL
                await self._problem(
                    send_with_id,
                    request_id,
                    internal.status,
                    internal.kind,
                    internal.title,
                    internal.detail,
                )
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(no route)"
            logger.info(
                "%s %s %d %.1f ms",
                scope.get("method", "-"),
                template,
                status["code"],
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)

    def _too_large(self, limit: int) -> tuple[int, str, str, str]:
        return (
            413,
            "body-too-large",
            "Request body too large",
            f"the body is larger than {limit} bytes",
        )

    def _refusal(self, scope: Scope, limit: int) -> tuple[int, str, str, str] | None:
        raw_headers = scope.get("headers", [])
        head = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
        head += sum(len(name) + len(value) + 4 for name, value in raw_headers)
        if head > self.max_header_bytes:
            return (
                431,
                "headers-too-large",
                "Request header fields too large",
                f"the request line and headers are larger than {self.max_header_bytes} bytes",
            )
        headers = {k.lower(): v for k, v in raw_headers}
        length_text = headers.get(b"content-length")
        if length_text is not None:
            try:
                length = int(length_text)
            except ValueError:
                return (400, "bad-request", "Bad request", "Content-Length is not a number")
            if length > limit:
                return self._too_large(limit)
        else:
            length = 1 if b"transfer-encoding" in headers else 0
        if scope.get("method") in _BODY_METHODS and length > 0:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if str(scope.get("path", "")).startswith(self.form_paths) and _is_form(content_type):
                return None
            if not _is_json(content_type):
                return (
                    415,
                    "unsupported-media-type",
                    "Unsupported media type",
                    "send the body as JSON with Content-Type: application/json",
                )
        return None

    @staticmethod
    async def _problem(
        send: Any, request_id: str, status: int, kind: str, title: str, detail: str
    ) -> None:
        body = orjson.dumps(
            {
                "type": TYPE_PREFIX + kind,
                "title": title,
                "status": status,
                "detail": detail,
                "request_id": request_id,
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
