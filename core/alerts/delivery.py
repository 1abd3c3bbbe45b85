"""Delivering queued alert messages, after the evaluation that queued them has committed: a message is claimed
(one deliverer sends it), sent by e-mail (SMTP, STARTTLS when offered) or to a chat incoming webhook (Slack-compatible
JSON), and every attempt is recorded with its outcome; a failure is tried again later, with backoff."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import httpx
from sqlalchemy import Engine, or_, select, update

from core.alerts.rules import AlertEvent, AlertLine, backoff, compose
from core.config import AlertSettings
from core.db import (
    Alert,
    AlertDeliveryAttempt,
    AlertMessage,
    AlertRule,
    leave_fleet_unchanged,
    read_session,
    write_session,
)
from core.errors import InvalidInput

# A deliverer that dies holding a claim lets it go after this long; the message is then tried again.
CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
SEND_TIMEOUT_SECONDS = 15.0


class DeliveryFailed(Exception):
    """A target refused or could not be reached; the message says how."""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"{self.sent} message(s) delivered, {self.failed} failed (tried again later)."


def deliver_due(engine: Engine, now: datetime, settings: AlertSettings, *, limit: int = 200) -> DeliveryReport:
    """Send every message whose time has come and that no other deliverer holds. Once a server has failed in this
    pass, its other messages wait for the next one: a server that does not answer costs one timeout a pass."""
    report = DeliveryReport()
    down: set[str] = set()
    for message_id, target in _due(engine, now, limit):
        if _server_of(target) in down or not _claim(engine, message_id, now):
            continue
        target, subject, body = _render(engine, message_id, settings.base_url)
        try:
            send(target, subject, body, settings)
        except DeliveryFailed as error:
            _record(engine, message_id, target, now, str(error))
            down.add(_server_of(target))
            report.failed += 1
        else:
            _record(engine, message_id, target, now, None)
            report.sent += 1
    return report


def _server_of(target: str) -> str:
    """Where a target's messages go: the one SMTP server for every address, else the webhook's host."""
    return "smtp" if target.startswith("mailto:") else urlsplit(target).netloc.lower()


def _due(engine: Engine, now: datetime, limit: int) -> list[tuple[int, str]]:
    with read_session(engine) as session:
        return [
            (message_id, target)
            for message_id, target in session.execute(
                select(AlertMessage.id, AlertMessage.target)
                .where(
                    AlertMessage.status == "pending",
                    AlertMessage.due_at <= now,
                    or_(AlertMessage.claimed_until.is_(None), AlertMessage.claimed_until <= now),
                )
                .order_by(AlertMessage.due_at, AlertMessage.id)
                .limit(limit)
            )
        ]


def _claim(engine: Engine, message_id: int, now: datetime) -> bool:
    """One conditional UPDATE: of two deliverers, the one whose update matched the row sends the message."""
    with write_session(engine) as session:
        leave_fleet_unchanged(session)  # a claim changes nothing a page shows; the attempt's outcome will
        claimed = session.execute(
            update(AlertMessage)
            .where(
                AlertMessage.id == message_id,
                AlertMessage.status == "pending",
                AlertMessage.due_at <= now,
                or_(AlertMessage.claimed_until.is_(None), AlertMessage.claimed_until <= now),
            )
            .values(claimed_until=now + CLAIM_LEASE, attempts=AlertMessage.attempts + 1)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _render(engine: Engine, message_id: int, base_url: str) -> tuple[str, str, str]:
    with read_session(engine) as session:
        message = session.get(AlertMessage, message_id)
        assert message is not None
        rule = session.get(AlertRule, message.rule_id)
        assert rule is not None
        alerts = session.scalars(
            select(Alert)
            .where(or_(Alert.opened_message_id == message_id, Alert.resolved_message_id == message_id))
            .order_by(Alert.id)
        )
        lines = [_line(rule, alert, message_id) for alert in alerts]
        subject, body = compose(rule.name, lines, base_url)
        return message.target, subject, body


def _line(rule: AlertRule, alert: Alert, message_id: int) -> AlertLine:
    resolved_here = alert.resolved_message_id == message_id
    return AlertLine(
        event=AlertEvent(rule.event),
        subject=alert.subject,
        e164=alert.e164,
        waba=alert.waba,
        workspace=alert.workspace,
        before=alert.before_value,
        after=alert.after_value,
        since=alert.since,
        resolved_at=alert.resolved_at if resolved_here else None,
        resolution=alert.resolution if resolved_here else None,
    )


def _record(engine: Engine, message_id: int, target: str, now: datetime, error: str | None) -> None:
    with write_session(engine) as session:
        message = session.get(AlertMessage, message_id)
        assert message is not None
        session.add(
            AlertDeliveryAttempt(
                message_id=message_id,
                target=target,
                attempted_at=now,
                outcome="sent" if error is None else "failed",
                detail=error,
            )
        )
        message.claimed_until = None
        if error is None:
            message.status, message.sent_at, message.last_error = "sent", now, None
            return
        message.last_error = error
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
        else:
            message.due_at = now + backoff(message.attempts)


# --- targets --------------------------------------------------------------------------------------------


def send(target: str, subject: str, body: str, settings: AlertSettings) -> None:
    if target.startswith("mailto:"):
        send_email(target.removeprefix("mailto:"), subject, body, settings)
    else:
        post_to_chat(target, f"*{subject}*\n{body}")


def post_to_chat(url: str, text: str) -> None:
    """A Slack-compatible incoming webhook: POST {"text": …}; any 2xx is delivered."""
    try:
        response = httpx.post(url, json={"text": text}, timeout=SEND_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None


def smtp_server(url: str) -> SmtpServer:
    """smtp://[user:password@]host[:port] or smtps://…"""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput(f"FLEET_SMTP_URL must look like smtp://user:password@host:587, got {parts.scheme}://….")
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_email(address: str, subject: str, body: str, settings: AlertSettings) -> None:
    try:
        server = smtp_server(settings.smtp_url)
    except InvalidInput as error:  # shown with the failing target on the Alerts page, like any other refusal
        raise DeliveryFailed(str(error)) from None
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = address
    email["Subject"] = subject
    email.set_content(body)
    context = ssl.create_default_context()
    try:
        connection: smtplib.SMTP = (
            smtplib.SMTP_SSL(server.host, server.port, timeout=SEND_TIMEOUT_SECONDS, context=context)
            if server.implicit_tls
            else smtplib.SMTP(server.host, server.port, timeout=SEND_TIMEOUT_SECONDS)
        )
        with connection:
            connection.ehlo()
            if not server.implicit_tls and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()
            if server.username:
                connection.login(server.username, server.password or "")
            connection.send_message(email)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"SMTP {server.host}:{server.port}: {error}") from None
