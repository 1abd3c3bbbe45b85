"""Invariants of imports over random inputs (Hypothesis): one number whatever Meta's formatting; a webhook stream
delivered shuffled, repeated and in pieces ends in the same state as the same events delivered in order."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from core import imports
from core.db import MessageTemplate, NumberHealthSnapshot, PhoneNumber, Portfolio, Waba, make_engine
from core.imports import ImportRequest
from tests.builders import ADMIN
from tests.fixtures.meta import support

NUMBERS = [support.US_MAIN, support.US_SUPPORT, support.FR_MAIN]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lucky Shrub fleet, built once; each example works on its own copy."""
    path = tmp_path_factory.mktemp("fleet") / "template.db"
    engine = support.fleet_in(path)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def shared_fleet(template_db: Path) -> Iterator[Engine]:
    """For dry runs only: nothing is written to it."""
    engine = make_engine(f"sqlite:///{template_db}")
    yield engine
    engine.dispose()


class Copies:
    def __init__(self, template: Path) -> None:
        self.template = template
        self.count = 0

    def fresh(self) -> Engine:
        self.count += 1
        path = self.template.with_name(f"copy-{self.count}.db")
        shutil.copyfile(self.template, path)
        return make_engine(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def copies(template_db: Path) -> Copies:
    return Copies(template_db)


# --- the same number in any of Meta's formats -----------------------------------------------------------------


@st.composite
def meta_formats(draw: st.DrawFn, e164: str) -> str:
    """The number as Meta or a person may write it: E.164, international, digits only (webhooks), '00' prefix,
    with dots, dashes, spaces or brackets."""
    parsed = phonenumbers.parse(e164)
    base = draw(
        st.sampled_from(
            [
                e164,
                e164[1:],
                "00" + e164[1:],
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.RFC3966).removeprefix("tel:"),
            ]
        )
    )
    separator = draw(st.sampled_from([" ", "-", ".", ""]))
    return base.replace(" ", separator).replace("-", separator) if separator != "" else base


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_number_in_any_meta_format_matches_its_one_stored_row(shared_fleet: Engine, data: st.DataObject) -> None:
    e164 = data.draw(st.sampled_from(NUMBERS))
    waba = support.WABA_EU if e164 == support.FR_MAIN else support.WABA_US
    display = data.draw(meta_formats(e164))
    listing = {"data": [{"display_phone_number": display, "quality_rating": "RED"}], "paging": {}}

    plan = imports.plan_import(
        shared_fleet, ADMIN, ImportRequest("meta-numbers", json.dumps(listing).encode(), "l.json", waba=waba)
    )

    assert plan.errors == []
    assert plan.numbers == []
    assert [u.key for u in plan.updates] == [e164]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_same_number_listed_twice_in_two_formats_is_refused(shared_fleet: Engine, data: st.DataObject) -> None:
    first, second = data.draw(meta_formats(support.US_MAIN)), data.draw(meta_formats(support.US_MAIN))
    listing = {"data": [{"display_phone_number": first}, {"display_phone_number": second}], "paging": {}}

    plan = imports.plan_import(
        shared_fleet, ADMIN, ImportRequest("meta-numbers", json.dumps(listing).encode(), "l.json", waba=support.WABA_US)
    )

    assert [str(p) for p in plan.errors] == ["page 1, data[1]: +15550783881 is listed twice (also at page 1, data[0])."]


# --- webhook streams in any order ------------------------------------------------------------------------------

TIMES = st.integers(min_value=0, max_value=6).map(lambda step: 1743400000 + step * 3600)


def _envelope(waba: str, time: int, field: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "time": time, "changes": [{"field": field, "value": value}]}],
    }


quality_events = st.builds(
    lambda phone, event, limit, portfolio, time: _envelope(
        support.WABA_US,
        time,
        "phone_number_quality_update",
        {"display_phone_number": phone, "event": event}
        | ({"current_limit": limit} if limit else {})
        | ({"max_daily_conversations_per_business": portfolio} if portfolio else {}),
    ),
    st.sampled_from(["15550783881", "15550167350"]),
    st.sampled_from(["FLAGGED", "UNFLAGGED", "UPGRADE", "DOWNGRADE", "ONBOARDING", "THROUGHPUT_UPGRADE"]),
    st.sampled_from([None, "TIER_1K", "TIER_10K", "TIER_UNLIMITED"]),
    st.sampled_from([None, "TIER_2K", "TIER_10K"]),
    TIMES,
)
name_events = st.builds(
    lambda phone, decision, name, time: _envelope(
        support.WABA_US,
        time,
        "phone_number_name_update",
        {
            "display_phone_number": phone,
            "decision": decision,
            "requested_verified_name": name,
            "rejection_reason": None,
        },
    ),
    st.sampled_from(["15550783881", "15550167350"]),
    st.sampled_from(["APPROVED", "REJECTED", "PENDING"]),
    st.sampled_from(["Lucky Shrub", "Lucky Shrub Garden"]),
    TIMES,
)
TEMPLATE_IDS = {"order_confirmation": 1689556908129832, "welcome_template": 806312974732579}
template_events = st.builds(
    lambda name, value, time: _envelope(
        support.WABA_US,
        time,
        "message_template_quality_update" if "new_quality_score" in value else "message_template_status_update",
        {"message_template_id": TEMPLATE_IDS[name], "message_template_name": name, "message_template_language": "en-US"}
        | value,
    ),
    st.sampled_from(sorted(TEMPLATE_IDS)),
    st.one_of(
        st.builds(lambda e: {"event": e, "reason": "NONE"}, st.sampled_from(["APPROVED", "PAUSED", "REJECTED"])),
        st.builds(
            lambda e: {"event": e, "message_template_category": "UTILITY"}, st.sampled_from(["APPROVED", "FLAGGED"])
        ),
        st.builds(lambda q: {"new_quality_score": q}, st.sampled_from(["GREEN", "YELLOW", "RED"])),
    ),
    TIMES,
)
account_events = st.builds(
    lambda state, time: _envelope(
        support.WABA_US, time, "account_update", {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": state}}
    ),
    st.sampled_from(["DISABLE", "REINSTATE", "SCHEDULE_FOR_DISABLE"]),
    TIMES,
)
capability_events = st.builds(
    lambda limit, per_waba, time: _envelope(
        support.WABA_EU,
        time,
        "business_capability_update",
        {"max_daily_conversations_per_business": limit}
        | ({"max_phone_numbers_per_waba": per_waba} if per_waba else {}),
    ),
    st.sampled_from([250, 2000, 10000, -1]),
    st.sampled_from([None, 20, 25]),
    TIMES,
)
streams = st.lists(
    st.one_of(quality_events, name_events, template_events, account_events, capability_events), min_size=1, max_size=8
)


def deliver(engine: Engine, envelopes: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(envelope) + "\n" for envelope in envelopes).encode()
    imports.run_import(engine, ADMIN, ImportRequest("webhook", data, "stream.jsonl"))


def current_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What the fleet says now (not when it was written), plus the times its health history covers."""
    queries = {
        "numbers": select(
            PhoneNumber.e164,
            PhoneNumber.status,
            PhoneNumber.messaging_limit_tier,
            PhoneNumber.quality_rating,
            PhoneNumber.display_name,
            PhoneNumber.name_status,
            PhoneNumber.health_event_time,
            PhoneNumber.name_event_time,
        ).order_by(PhoneNumber.e164),
        "templates": select(
            MessageTemplate.name,
            MessageTemplate.language,
            MessageTemplate.meta_template_id,
            MessageTemplate.category,
            MessageTemplate.status,
            MessageTemplate.quality_score,
            MessageTemplate.event_time,
        ).order_by(MessageTemplate.name),
        "portfolios": select(
            Portfolio.meta_business_id,
            Portfolio.messaging_limit,
            Portfolio.max_phone_numbers_per_waba,
            Portfolio.limit_event_time,
        ).order_by(Portfolio.meta_business_id),
        "wabas": select(Waba.meta_waba_id, Waba.status, Waba.ban_state, Waba.status_event_time).order_by(
            Waba.meta_waba_id
        ),
        "history_times": select(PhoneNumber.e164, NumberHealthSnapshot.recorded_at)
        .join(PhoneNumber, PhoneNumber.id == NumberHealthSnapshot.phone_number_id)
        .where(NumberHealthSnapshot.source.in_(["webhook", "webhook-late"]))
        .distinct()
        .order_by(PhoneNumber.e164, NumberHealthSnapshot.recorded_at),
    }
    with engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(query)] for name, query in queries.items()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=streams, data=st.data())
def test_a_shuffled_repeated_stream_in_pieces_ends_as_the_same_events_delivered_in_order(
    copies: Copies, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    in_order = sorted(events, key=lambda envelope: envelope["entry"][0]["time"])
    repeated = events + data.draw(st.lists(st.sampled_from(events), max_size=4))
    shuffled = data.draw(st.permutations(repeated))
    cuts = sorted(
        data.draw(st.sets(st.integers(min_value=1, max_value=len(shuffled) - 1), max_size=3))
        if len(shuffled) > 1
        else []
    )
    pieces = [shuffled[start:end] for start, end in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]

    reference = copies.fresh()
    for envelope in in_order:
        deliver(reference, [envelope])
    candidate = copies.fresh()
    for piece in pieces:
        deliver(candidate, piece)

    assert current_state(candidate) == current_state(reference)
    reference.dispose()
    candidate.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=streams)
def test_delivering_a_stream_again_writes_nothing(copies: Copies, events: list[dict[str, Any]]) -> None:
    engine = copies.fresh()
    deliver(engine, events)
    before = support.dump(engine)

    deliver(engine, events)

    assert support.dump(engine) == before
    engine.dispose()
