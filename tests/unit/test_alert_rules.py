"""What an alert rule accepts and what its messages say: plain functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.alerts.rules import (
    AlertEvent,
    AlertLine,
    backoff,
    clean_quiet_hours,
    clean_target,
    clean_threshold,
    compose,
    is_lowered,
    parse_event,
    portfolio_headroom_percent,
)
from core.errors import InvalidInput

SINCE = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def line(**changes: object) -> AlertLine:
    values: dict[str, object] = {
        "event": AlertEvent.QUALITY_DROP,
        "subject": "+33 6 12 34 56 78 (Brand)",
        "e164": "+33612345678",
        "waba": "Fashion FR",
        "workspace": "EU Brands",
        "before": "GREEN",
        "after": "RED",
        "since": SINCE,
        "resolved_at": None,
        "resolution": None,
    } | changes
    return AlertLine(**values)  # type: ignore[arg-type]


def test_one_alert_says_what_where_before_after_since_and_links_the_number() -> None:
    subject, body = compose("EU quality", [line()], "https://fleet.example.com/")

    assert subject == "[WABA Fleet] Quality dropped — +33 6 12 34 56 78 (Brand)"
    assert body == (
        "Quality dropped: +33 6 12 34 56 78 (Brand), WABA Fashion FR, workspace EU Brands: GREEN → RED, "
        "since 2026-12-02 09:30 UTC. https://fleet.example.com/numbers?phone=%2B33612345678"
    )


def test_a_resolved_note_says_it_cleared_and_what_it_was() -> None:
    cleared = line(resolved_at=SINCE + timedelta(hours=2), resolution="Cleared: now GREEN.")

    subject, body = compose("EU quality", [cleared], "https://fleet.example.com")

    assert subject.startswith("[WABA Fleet] Resolved: Quality dropped")
    assert "Cleared: now GREEN." in body
    assert "was GREEN → RED since 2026-12-02 09:30 UTC; cleared 2026-12-02 11:30 UTC" in body


def test_a_digest_counts_and_lists_every_alert() -> None:
    lines = [line(subject=f"number {i}") for i in range(3)] + [line(resolved_at=SINCE, resolution=None)]

    subject, body = compose("EU quality", lines, "https://fleet.example.com")

    assert subject == "[WABA Fleet] EU quality: 3 new, 1 resolved"
    assert body.count("\n- ") == 4


def test_a_long_digest_lists_the_first_alerts_and_links_to_the_rest() -> None:
    lines = [line(subject=f"number {i}") for i in range(250)]

    _, body = compose("EU quality", lines, "https://fleet.example.com")

    assert body.count("\n- ") == 100
    assert body.endswith("… and 150 more: https://fleet.example.com/alerts")


def test_an_alert_without_a_number_links_to_its_page() -> None:
    template = line(event=AlertEvent.TEMPLATE_PAUSED, e164=None, subject="template spring_sale (en_US)")

    assert compose("t", [template], "https://f.example")[1].endswith("https://f.example/templates")


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("mailto:ops@example.com", "mailto:ops@example.com"),
        ("MAILTO:ops@example.com ", "mailto:ops@example.com"),
        ("https://hooks.slack.com/services/T0/B0/x", "https://hooks.slack.com/services/T0/B0/x"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
    ],
)
def test_targets_are_mailto_or_http(target: str, kept: str) -> None:
    assert clean_target(target) == kept


@pytest.mark.parametrize(
    "target", ["ops@example.com", "mailto:", "mailto:a@b", "ftp://example.com", "https://", "javascript:alert(1)"]
)
def test_other_targets_are_refused_naming_the_field(target: str) -> None:
    with pytest.raises(InvalidInput, match="Field 'target'"):
        clean_target(target)


@pytest.mark.parametrize(
    ("event", "given", "kept"),
    [
        (AlertEvent.PORTFOLIO_HEADROOM, None, 20.0),
        (AlertEvent.PORTFOLIO_HEADROOM, "35", 35.0),
        (AlertEvent.WABA_SLOTS, None, 2.0),
        (AlertEvent.WORKSPACE_SLOTS, 0, 0.0),
        (AlertEvent.QUALITY_DROP, None, None),
    ],
)
def test_thresholds_default_by_event(event: AlertEvent, given: object, kept: float | None) -> None:
    assert clean_threshold(event, given) == kept  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "given", "message"),
    [
        (AlertEvent.QUALITY_DROP, "3", "takes no threshold"),
        (AlertEvent.PORTFOLIO_HEADROOM, "101", "between 0 and 100"),
        (AlertEvent.WABA_SLOTS, "21", "between 0 and 20"),
        (AlertEvent.WABA_SLOTS, "many", "must be a number"),
        (AlertEvent.WABA_SLOTS, "nan", "between 0 and 20"),
    ],
)
def test_bad_thresholds_are_refused(event: AlertEvent, given: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clean_threshold(event, given)


def test_quiet_hours_and_events_are_checked() -> None:
    assert clean_quiet_hours("1.5") == 1.5
    assert parse_event(" Quality_Drop ") is AlertEvent.QUALITY_DROP
    with pytest.raises(InvalidInput, match="quiet hours"):
        clean_quiet_hours("-2")
    with pytest.raises(InvalidInput, match="unknown event"):
        parse_event("quality")


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


@pytest.mark.parametrize(
    ("tier", "senders", "percent"),
    [("TIER_2K", 7, 12.5), ("TIER_2K", 8, 0.0), ("TIER_10K", 4, 90.0), ("TIER_UNLIMITED", 100, None), (None, 1, None)],
)
def test_portfolio_headroom_is_what_is_left_after_250_a_sender(
    tier: str | None, senders: int, percent: float | None
) -> None:
    assert portfolio_headroom_percent(tier, senders) == percent


@pytest.mark.parametrize(
    ("before", "after", "lowered"),
    [
        ("TIER_10K", "TIER_1K", True),
        ("TIER_UNLIMITED", "TIER_100K", True),
        ("TIER_1K", "TIER_10K", False),
        ("TIER_1K", "TIER_NOT_SET", False),
        ("TIER_NOT_SET", "TIER_50", False),
        ("TIER_2K", "TIER_2K", False),
    ],
)
def test_a_limit_is_lowered_only_between_known_tiers(before: str, after: str, lowered: bool) -> None:
    assert is_lowered(before, after) is lowered
