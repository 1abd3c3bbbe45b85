"""The receiver over real HTTP (uvicorn on a free loopback port): signatures, Meta's handshake, the 3 MB limit, and
what is stored — the bytes as received, once, and only after a valid signature."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from core.db import make_engine
from core.inbox import MAX_DELIVERY_BYTES, digest_of
from core.webhook_receiver import InboxWriter, signature_of
from tests.fixtures.meta import support
from tests.integration.webhook_support import SECRET, TOKEN, post, receiver_in_thread, signed_headers, stored_bodies

BODY = support.read("webhooks/quality_flagged.json")


@pytest.fixture
def receiver(sqlite_engine: Engine) -> Iterator[str]:
    with receiver_in_thread(sqlite_engine) as url:
        yield url


def test_a_signed_delivery_is_stored_as_received(receiver: str, sqlite_engine: Engine) -> None:
    response = post(receiver, BODY)

    assert response.status_code == 200
    assert stored_bodies(sqlite_engine) == [BODY]


def _one_byte_changed(body: bytes) -> bytes:
    return body.replace(b"FLAGGED", b"FLAGGEE", 1)


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("missing", {}),
        ("wrong secret", signed_headers(BODY, "another-app-secret")),
        ("body changed by one byte", signed_headers(_one_byte_changed(BODY))),
        ("no sha256= prefix", {"X-Hub-Signature-256": signature_of(SECRET, BODY).removeprefix("sha256=")}),
        ("sha1 signature name", {"X-Hub-Signature": signature_of(SECRET, BODY)}),
        ("empty", {"X-Hub-Signature-256": ""}),
    ],
)
def test_a_delivery_without_a_valid_signature_is_refused_and_not_stored(
    receiver: str, sqlite_engine: Engine, case: str, headers: dict[str, str]
) -> None:
    response = post(receiver, BODY, headers)

    assert response.status_code == 401, case
    assert stored_bodies(sqlite_engine) == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-HUB-SIGNATURE-256": signature_of(SECRET, BODY)},
        {"x-hub-signature-256": signature_of(SECRET, BODY)},
        {"X-Hub-Signature-256": signature_of(SECRET, BODY).upper()},
    ],
    ids=["header name in upper case", "header name in lower case", "hex digits in upper case"],
)
def test_the_signature_header_is_read_whatever_its_case(
    receiver: str, sqlite_engine: Engine, headers: dict[str, str]
) -> None:
    response = post(receiver, BODY, headers)

    assert response.status_code == 200
    assert stored_bodies(sqlite_engine) == [BODY]


def test_a_redelivery_of_the_same_bytes_is_acknowledged_and_stored_once(receiver: str, sqlite_engine: Engine) -> None:
    first = post(receiver, BODY)
    again = post(receiver, BODY)

    assert (first.status_code, again.status_code) == (200, 200)
    assert stored_bodies(sqlite_engine) == [BODY]


def test_the_handshake_answers_the_challenge_for_the_verify_token(receiver: str) -> None:
    response = httpx.get(
        receiver, params={"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    )

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": TOKEN.upper(), "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.verify_token": TOKEN, "hub.challenge": "1"},
        {},
    ],
    ids=["wrong token", "token in another case", "other mode", "no token", "no mode", "nothing"],
)
def test_the_handshake_is_refused_otherwise(receiver: str, params: dict[str, str]) -> None:
    response = httpx.get(receiver, params=params)

    assert response.status_code == 403
    assert "1" not in response.text


def test_no_handshake_passes_when_no_verify_token_is_configured(sqlite_engine: Engine) -> None:
    from tests.integration.webhook_support import SETTINGS

    unset = type(SETTINGS)(app_secret=SECRET, verify_token="")
    with receiver_in_thread(sqlite_engine, unset) as url:
        response = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})

    assert response.status_code == 403


def _padded(size: int) -> bytes:
    """A JSON envelope of exactly `size` bytes."""
    head, tail = b'{"object": "whatsapp_business_account", "entry": [], "padding": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_delivery_of_exactly_3_mb_is_stored(receiver: str, sqlite_engine: Engine) -> None:
    body = _padded(MAX_DELIVERY_BYTES)

    response = post(receiver, body)

    assert response.status_code == 200
    assert [digest_of(stored) for stored in stored_bodies(sqlite_engine)] == [digest_of(body)]


def test_a_delivery_over_3_mb_is_refused_with_413(receiver: str, sqlite_engine: Engine) -> None:
    body = _padded(MAX_DELIVERY_BYTES + 1)

    response = post(receiver, body)

    assert response.status_code == 413
    assert stored_bodies(sqlite_engine) == []


def test_a_delivery_over_3_mb_without_content_length_is_refused_with_413(receiver: str, sqlite_engine: Engine) -> None:
    body = _padded(MAX_DELIVERY_BYTES + 1)

    def chunks() -> Iterator[bytes]:  # sent chunked: the size is not known in advance
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    response = httpx.post(receiver, content=chunks(), headers=signed_headers(body), timeout=30)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert stored_bodies(sqlite_engine) == []


def test_healthz_answers_for_probes(receiver: str) -> None:
    response = httpx.get(receiver.replace("/webhooks/meta", "/healthz"))

    assert response.status_code == 200


def test_one_log_line_per_delivery_without_payload_or_secrets(receiver: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fleet.webhooks")

    post(receiver, BODY)
    post(receiver, BODY, {"X-Hub-Signature-256": "sha256=00"})
    httpx.get(receiver, params={"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "42"})

    lines = [record.getMessage() for record in caplog.records if record.name == "fleet.webhooks"]
    assert len(lines) == 3
    assert lines[0].startswith("POST /webhooks/meta 200 ")
    assert f" {len(BODY)} B " in lines[0]
    assert lines[0].endswith(" ms")
    assert lines[1].startswith("POST /webhooks/meta 401 ")
    text = "\n".join(lines)
    for secret_or_payload in (TOKEN, SECRET, "15550783881", "FLAGGED", "102290129340398"):
        assert secret_or_payload not in text


def test_one_commit_takes_at_most_16_mb_of_deliveries_but_always_one(sqlite_engine: Engine) -> None:
    loop = asyncio.new_event_loop()
    writer = InboxWriter(sqlite_engine)
    mb = 1024 * 1024
    writer.waiting = [(b"x" * size, loop.create_future()) for size in (10 * mb, 6 * mb, 1, 20 * mb, 1)]

    sizes = []
    while writer.waiting:
        batch, writer.waiting = writer._next_batch()
        sizes.append([len(body) for body, _ in batch])
    loop.close()

    assert sizes == [[10 * mb, 6 * mb], [1], [20 * mb], [1]]


def test_a_delivery_that_cannot_be_stored_gets_503_and_its_payload_stays_out_of_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no inbox table: every insert fails
    caplog.set_level(logging.INFO, logger="fleet.webhooks")

    with receiver_in_thread(unmigrated) as url:
        response = post(url, BODY)
    unmigrated.dispose()

    assert response.status_code == 503
    text = "\n".join(record.getMessage() for record in caplog.records if record.name == "fleet.webhooks")
    assert "503" in text
    assert "no such table" in text
    for payload in ("15550783881", "FLAGGED", "102290129340398"):
        assert payload not in text
