"""The endpoint Meta calls: `/webhooks/meta` (handshake and deliveries) and `/healthz`, an ASGI app for uvicorn.

It verifies and stores, nothing more: a POST signed with the app secret is written to the inbox and answered 200 only
after that commit; parsing and applying are the worker's. Meta redelivers what was not answered 200 for up to 7
days, and the inbox keeps identical bytes once, so an error here costs a retry, never an event.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from core import inbox
from core.config import WebhookSettings

PATH = "/webhooks/meta"
SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="
MAX_BATCH_BYTES = 16 * 1024 * 1024  # deliveries stored in one transaction, together
MAX_CONCURRENT_REQUESTS = 128  # beyond this uvicorn answers 503 (Meta retries): bounds the bodies held in memory

log = logging.getLogger("fleet.webhooks")


class BodyTooLarge(Exception):
    """The delivery is over Meta's 3 MB maximum."""


def signature_of(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with `body`: `sha256=` + the hex HMAC-SHA256 with the app secret."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed_by(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of the raw body with the app secret (compared in constant time)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(signature_of(secret, body).encode(), header.strip().lower().encode())


def is_handshake(settings: WebhookSettings, mode: str | None, token: str | None) -> bool:
    """Meta's subscription check: mode 'subscribe' and our verify token (compared in constant time)."""
    if mode != "subscribe" or not token or not settings.verify_token:
        return False
    return hmac.compare_digest(token.encode(), settings.verify_token.encode())


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes, whether or not Content-Length says so in advance."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
    return b"".join(parts)


Waiting = list[tuple[bytes, "asyncio.Future[None]"]]  # a delivery's body, and its request's wait for the commit


class InboxWriter:
    """Stores the deliveries of concurrent requests together: those that arrive while a commit runs go into the
    next one, a single transaction, and each request is answered once its own delivery is committed."""

    def __init__(self, engine: Engine, max_batch: int = 500) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.waiting: Waiting = []
        self.writing = False
        self._task: asyncio.Task[None] | None = None

    async def store(self, body: bytes) -> None:
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((body, done))
        if not self.writing:
            self.writing = True
            self._task = asyncio.create_task(self._write_all())
        await done

    def _next_batch(self) -> tuple[Waiting, Waiting]:
        """The oldest waiting deliveries, at most `max_batch` of them and MAX_BATCH_BYTES together (at least one)."""
        size, count = 0, 0
        for body, _ in self.waiting[: self.max_batch]:
            size += len(body)
            if count and size > MAX_BATCH_BYTES:
                break
            count += 1
        return self.waiting[:count], self.waiting[count:]

    async def _write_all(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self._next_batch()
                try:
                    bodies = [body for body, _ in batch]
                    await run_in_threadpool(inbox.store_deliveries, self.engine, bodies, now=datetime.now(UTC))
                except Exception as error:  # every request of the batch answers 503; Meta sends them again
                    for _, done in batch:
                        if not done.done():  # a request whose client went away is cancelled
                            done.set_exception(error)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self.writing = False


def create_app(engine: Engine, settings: WebhookSettings, *, max_bytes: int = inbox.MAX_DELIVERY_BYTES) -> Starlette:
    """The receiver for one database and one Meta app."""
    writer = InboxWriter(engine)

    async def handshake(request: Request) -> Response:
        params = request.query_params
        if is_handshake(settings, params.get("hub.mode"), params.get("hub.verify_token")):
            log.info("GET %s 200 handshake", PATH)
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.info("GET %s 403 handshake refused", PATH)
        return PlainTextResponse("Verification refused.", status_code=403)

    async def deliver(request: Request) -> Response:
        started = time.perf_counter()
        status, size = await _deliver(request)
        log.info("POST %s %d %d B %.1f ms", PATH, status, size, (time.perf_counter() - started) * 1000)
        return PlainTextResponse(_REASONS[status], status_code=status)

    async def _deliver(request: Request) -> tuple[int, int]:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return 401, 0
        try:
            body = await read_bounded(request, max_bytes)
        except BodyTooLarge:
            return 413, 0
        if not is_signed_by(settings.app_secret, body, signature):
            return 401, len(body)
        try:
            await writer.store(body)
        except Exception as error:  # Meta redelivers what is not answered 200: say so and keep serving
            # The driver's message only: SQLAlchemy's own would list the statement's parameters, the payload.
            cause = getattr(error, "orig", None) or error
            log.error("POST %s 503: not stored (%s: %s)", PATH, type(cause).__name__, str(cause).splitlines()[0][:200])
            return 503, len(body)
        return 200, len(body)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route(PATH, handshake, methods=["GET"]),
            Route(PATH, deliver, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


_REASONS = {
    200: "ok",
    401: "Missing or wrong X-Hub-Signature-256.",
    413: "Payload over 3 MB.",
    503: "Not stored; send it again.",
}


def serve(engine: Engine, settings: WebhookSettings, *, host: str, port: int) -> None:
    """Run the receiver until SIGINT/SIGTERM (uvicorn finishes the requests in flight)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # uvicorn's access log would print the handshake's query string, verify token included.
    uvicorn.run(
        create_app(engine, settings),
        host=host,
        port=port,
        access_log=False,
        log_level="info",
        limit_concurrency=MAX_CONCURRENT_REQUESTS,
    )
