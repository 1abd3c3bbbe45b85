"""What an alert rule may say and what its messages say, in plain Python (no database)."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from core.errors import InvalidInput
from core.model import (
    AT_RISK_QUALITY_URGENCY,
    AT_RISK_STATUS_URGENCY,
    LOW_LIMIT_PER_SENDER,
    daily_limit,
    either,
)


class AlertEvent(enum.StrEnum):
    QUALITY_DROP = "quality_drop"
    STATUS_AT_RISK = "status_at_risk"
    LIMIT_LOWERED = "limit_lowered"
    WABA_RESTRICTED = "waba_restricted"
    TEMPLATE_PAUSED = "template_paused"
    PORTFOLIO_HEADROOM = "portfolio_headroom"
    WABA_SLOTS = "waba_slots"
    WORKSPACE_SLOTS = "workspace_slots"


EVENT_DESCRIPTIONS: dict[AlertEvent, str] = {
    AlertEvent.QUALITY_DROP: f"a number's quality falls to {either(AT_RISK_QUALITY_URGENCY)}",
    AlertEvent.STATUS_AT_RISK: f"a number's status becomes {either(AT_RISK_STATUS_URGENCY)}",
    AlertEvent.LIMIT_LOWERED: "a number's tier or its portfolio's shared limit goes down",
    AlertEvent.WABA_RESTRICTED: "a WABA is restricted, disabled or banned",
    AlertEvent.TEMPLATE_PAUSED: "a template is paused, disabled or rejected",
    AlertEvent.PORTFOLIO_HEADROOM: "a portfolio's headroom falls below THRESHOLD % (default 20)",
    AlertEvent.WABA_SLOTS: "a WABA has THRESHOLD free number slots or fewer (default 2)",
    AlertEvent.WORKSPACE_SLOTS: "a workspace has THRESHOLD free WABA slots or fewer (default 1)",
}
TITLES: dict[AlertEvent, str] = {
    AlertEvent.QUALITY_DROP: "Quality dropped",
    AlertEvent.STATUS_AT_RISK: "Number at risk",
    AlertEvent.LIMIT_LOWERED: "Messaging limit lowered",
    AlertEvent.WABA_RESTRICTED: "WABA restricted",
    AlertEvent.TEMPLATE_PAUSED: "Template paused",
    AlertEvent.PORTFOLIO_HEADROOM: "Portfolio limit nearly used",
    AlertEvent.WABA_SLOTS: "WABA nearly full",
    AlertEvent.WORKSPACE_SLOTS: "Workspace nearly full",
}
DEFAULT_THRESHOLDS: dict[AlertEvent, float] = {
    AlertEvent.PORTFOLIO_HEADROOM: 20.0,
    AlertEvent.WABA_SLOTS: 2.0,
    AlertEvent.WORKSPACE_SLOTS: 1.0,
}

# How bad each value is: a value worse than the open alert's is a new transition (YELLOW → RED).
# The values at risk are the model's; a ban, worse than any other status, escalates a restriction's alert.
QUALITY_SEVERITY = dict(AT_RISK_QUALITY_URGENCY)
STATUS_SEVERITY = AT_RISK_STATUS_URGENCY | {"BANNED": 3}
WABA_SEVERITY = {"RESTRICTED": 1, "SCHEDULED_FOR_DISABLE": 1, "DISABLED": 2, "BANNED": 3}
TEMPLATE_SEVERITY = {"PAUSED": 1, "REJECTED": 1, "DISABLED": 2}
MAX_QUIET_HOURS = 24 * 30
DIGEST_LINES = 100  # a digest lists this many alerts, then links to the Alerts page (chat apps cap a message)
MAX_TARGET_LENGTH = 500

_EMAIL = re.compile(r"^[^@\s<>,;:\"]+@[^@\s<>,;:\"]+\.[^@\s<>,;:\"]+$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def parse_event(value: str) -> AlertEvent:
    try:
        return AlertEvent(value.strip().lower())
    except ValueError:
        known = ", ".join(e.value for e in AlertEvent)
        raise InvalidInput(f"Field 'event': unknown event '{value}' (expected one of: {known}).") from None


def clean_target(value: str) -> str:
    """`mailto:ADDRESS` or an http(s) chat incoming-webhook URL."""
    text = value.strip()
    if len(text) > MAX_TARGET_LENGTH:
        raise InvalidInput(f"Field 'target' is too long ({len(text)} characters, at most {MAX_TARGET_LENGTH}).")
    if text.lower().startswith("mailto:"):
        address = text[len("mailto:") :]
        if not _EMAIL.match(address):
            raise InvalidInput(f"Field 'target': '{address}' is not an e-mail address (mailto:ops@example.com).")
        return f"mailto:{address}"
    if _URL.match(text):
        return text
    raise InvalidInput(
        f"Field 'target': '{text[:60]}' is neither mailto:ADDRESS nor an http(s):// chat incoming-webhook URL."
    )


def clean_threshold(event: AlertEvent, value: float | str | None) -> float | None:
    """The rule's threshold: a percentage for headroom, a count of free slots for the slot events, else none."""
    if event not in DEFAULT_THRESHOLDS:
        if value not in (None, ""):
            raise InvalidInput(f"Field 'threshold': the event {event.value} takes no threshold.")
        return None
    if value in (None, ""):
        return DEFAULT_THRESHOLDS[event]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"Field 'threshold' must be a number, got {value!r}.") from None
    ceiling = 100.0 if event is AlertEvent.PORTFOLIO_HEADROOM else 20.0
    if not math.isfinite(number) or not 0 <= number <= ceiling:
        raise InvalidInput(f"Field 'threshold' must be between 0 and {ceiling:g} for {event.value}, got {number:g}.")
    return number


def clean_quiet_hours(value: float | str | None) -> float:
    if value in (None, ""):
        return 0.0
    try:
        hours = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"Field 'quiet hours' must be a number of hours, got {value!r}.") from None
    if not math.isfinite(hours) or not 0 <= hours <= MAX_QUIET_HOURS:
        raise InvalidInput(f"Field 'quiet hours' must be between 0 and {MAX_QUIET_HOURS}, got {hours:g}.")
    return hours


def portfolio_headroom_percent(tier: str | None, senders: int) -> float | None:
    """The share of a portfolio's shared daily limit left once every active sender has the LOW_LIMIT_PER_SENDER
    conversations the dashboard calls enough; None when the limit is unlimited or unknown."""
    limit = daily_limit(tier)
    if limit is None or limit <= 0:
        return None
    return 100.0 * (limit - senders * LOW_LIMIT_PER_SENDER) / limit


def limit_rank(tier: str | None) -> int | None:
    """A tier's order for 'went down': unlimited is highest; an unknown or unset tier has no order."""
    if tier == "TIER_UNLIMITED":
        return 10**9
    return daily_limit(tier)


def is_lowered(before: str | None, after: str | None) -> bool:
    low, high = limit_rank(after), limit_rank(before)
    return low is not None and high is not None and low < high


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 30 s, 1, 2, 4 … minutes, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


# --- messages -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertLine:
    """What a message says about one alert."""

    event: AlertEvent
    subject: str
    e164: str | None
    waba: str | None
    workspace: str | None
    before: str | None
    after: str
    since: datetime
    resolved_at: datetime | None
    resolution: str | None


def dashboard_link(base_url: str, line: AlertLine) -> str:
    base = base_url.rstrip("/")
    if line.e164:
        return f"{base}/numbers?phone={quote(line.e164)}"
    if line.event is AlertEvent.TEMPLATE_PAUSED:
        return f"{base}/templates"
    return f"{base}/accounts"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def describe(line: AlertLine, base_url: str) -> str:
    """One alert, in a line or two: what, where, since when, before → after, and its link."""
    where = ", ".join(
        part
        for part in (
            line.subject,
            f"WABA {line.waba}" if line.waba and line.waba != line.subject else "",
            f"workspace {line.workspace}" if line.workspace and line.workspace != line.subject else "",
        )
        if part
    )
    change = f"{line.before} → {line.after}" if line.before else line.after
    if line.resolved_at is not None:
        head = f"Resolved — {TITLES[line.event]}: {where}. {line.resolution or 'The condition has cleared.'}"
        history = f"was {change} since {_when(line.since)}; cleared {_when(line.resolved_at)}"
        return f"{head} ({history}) {dashboard_link(base_url, line)}"
    return f"{TITLES[line.event]}: {where}: {change}, since {_when(line.since)}. {dashboard_link(base_url, line)}"


def compose(rule_name: str, lines: list[AlertLine], base_url: str) -> tuple[str, str]:
    """The subject and body of a message: one alert, or a digest listing several."""
    if len(lines) == 1:
        line = lines[0]
        prefix = "Resolved: " if line.resolved_at is not None else ""
        return f"[WABA Fleet] {prefix}{TITLES[line.event]} — {line.subject}", describe(line, base_url)
    opened = sum(1 for line in lines if line.resolved_at is None)
    resolved = len(lines) - opened
    counts = ", ".join(
        text for text in (f"{opened} new" if opened else "", f"{resolved} resolved" if resolved else "") if text
    )
    subject = f"[WABA Fleet] {rule_name}: {counts}"
    listed = [f"- {describe(line, base_url)}" for line in lines[:DIGEST_LINES]]
    if len(lines) > DIGEST_LINES:
        listed.append(f"… and {len(lines) - DIGEST_LINES} more: {base_url.rstrip('/')}/alerts")
    return subject, f"Alert rule '{rule_name}': {counts}.\n" + "\n".join(listed)
