"""Alerts end to end in core: a fleet changed through real imports, rules evaluated, messages delivered to a real
local SMTP server and a real local HTTP server standing in for a chat incoming webhook."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, event, func, select
from werkzeug import Request, Response

from core import alerts, imports, inbox, services, worker
from core.alerts import worker_jobs
from core.alerts.rules import AlertEvent
from core.config import PROJECT_ROOT, AlertSettings
from core.db import Alert, AlertDeliveryAttempt, AlertMessage, read_session
from core.errors import DuplicateName, InvalidInput, PermissionDenied
from tests.builders import ADMIN, ANALYST, VIEWER, french_mobile, unique_meta_id
from tests.integration import webhook_support
from tests.mail_server import MailServer, self_signed_tls


@pytest.fixture
def mail() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(mail: MailServer) -> AlertSettings:
    return AlertSettings(smtp_url=mail.url, base_url="https://fleet.example.com", digest_at=3)


@dataclass
class Fleet:
    """One workspace, one portfolio (TIER_2K), one WABA with three numbers, all GREEN and CONNECTED."""

    engine: Engine
    portfolio: str
    waba: str
    numbers: list[str]
    # Webhook events and evaluations follow the imports, whose clocks are the real time.
    clock: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def tick(self, minutes: int = 1) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def listing(self, **changes: dict[str, Any]) -> None:
        """A Graph API listing of the WABA's numbers; `changes` maps a number's index ('n0') to new fields."""
        data = []
        for index, e164 in enumerate(self.numbers):
            fields = {"quality_rating": "GREEN", "status": "CONNECTED", "messaging_limit_tier": "TIER_10K"}
            fields |= changes.get(f"n{index}", {})
            data.append({"display_phone_number": e164, "verified_name": f"Brand {index}", **fields})
        self._import("meta-numbers", {"data": data}, waba=self.waba)

    def webhook(self, field: str, value: dict[str, Any], waba: str | None = None) -> bytes:
        at = int(self.tick().timestamp())
        envelope = {
            "object": "whatsapp_business_account",
            "entry": [{"id": waba or self.waba, "time": at, "changes": [{"field": field, "value": value}]}],
        }
        body = json.dumps(envelope).encode()
        self._import_bytes("webhook", body)
        return body

    def _import(self, kind: str, payload: Any, **options: Any) -> None:
        self._import_bytes(kind, json.dumps(payload).encode(), **options)

    def _import_bytes(self, kind: str, data: bytes, **options: Any) -> None:
        imports.run_import(self.engine, ADMIN, imports.ImportRequest(kind=kind, data=data, source="test", **options))


def build_fleet(engine: Engine, numbers: int = 3) -> Fleet:
    services.add_workspace(engine, ADMIN, "EU Brands")
    portfolio = services.add_portfolio(
        engine, ADMIN, meta_business_id=unique_meta_id(), name="Acme Europe", messaging_limit="TIER_10K"
    )
    services.connect_portfolio(engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio)
    waba = services.add_waba(
        engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio, meta_waba_id=unique_meta_id(), name="Fashion"
    )
    added = [
        services.add_number(engine, ADMIN, meta_waba_id=waba, group_name=f"g{i}", phone=french_mobile(i)).e164
        for i in range(numbers)
    ]
    fleet = Fleet(engine, portfolio, waba, added)
    fleet.listing()
    return fleet


@pytest.fixture
def fleet(sqlite_engine: Engine) -> Fleet:
    return build_fleet(sqlite_engine)


@pytest.fixture
def any_fleet(engine: Engine) -> Fleet:
    """The same fleet on SQLite and on PostgreSQL, for the tests whose statements differ by database."""
    return build_fleet(engine)


def rule(fleet: Fleet, event: AlertEvent, target: str = "mailto:ops@example.com", **options: Any) -> str:
    return alerts.add_rule(fleet.engine, ADMIN, name=f"{event.value} rule", event=event.value, target=target, **options)


def run(fleet: Fleet, settings: AlertSettings) -> alerts.PassReport:
    return alerts.run_pass(fleet.engine, fleet.tick(), settings)


def subjects(mail: MailServer) -> list[str]:
    return [str(message["Subject"]) for message in mail.inbox.messages]


# --- each event fires once on its transition, and not on unrelated changes --------------------------------


def test_quality_drop_fires_once_when_a_number_falls_to_yellow(
    fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    rule(fleet, AlertEvent.QUALITY_DROP)
    run(fleet, settings)
    fleet.listing(n1={"verified_name": "Renamed"})  # unrelated change

    run(fleet, settings)
    fleet.listing(n1={"quality_rating": "YELLOW"})
    run(fleet, settings)
    run(fleet, settings)

    assert mail.inbox.wait_for(1)
    assert len(mail.inbox.messages) == 1
    body = mail.inbox.messages[0].get_content()
    assert "Quality dropped" in str(mail.inbox.messages[0]["Subject"])
    assert "GREEN → YELLOW" in body
    assert "Fashion" in body
    assert "EU Brands" in body
    assert "https://fleet.example.com/numbers?phone=%2B33600000001" in body


def test_a_worse_value_is_a_new_transition_and_a_recovery_sends_a_resolved_note(
    any_fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = any_fleet
    rule(fleet, AlertEvent.QUALITY_DROP)
    fleet.listing(n0={"quality_rating": "YELLOW"})
    run(fleet, settings)

    fleet.listing(n0={"quality_rating": "RED"})
    run(fleet, settings)
    fleet.listing(n0={"quality_rating": "GREEN"})
    run(fleet, settings)

    assert len(mail.inbox.wait_for(3)) == 3
    first, worse, resolved = (message.get_content() for message in mail.inbox.messages)
    assert "GREEN → YELLOW" in first
    assert "GREEN → RED" in worse
    assert "Resolved" in str(mail.inbox.messages[2]["Subject"])
    assert "now GREEN" in resolved


def test_status_at_risk_fires_on_a_flag_from_a_webhook(fleet: Fleet, mail: MailServer, settings: AlertSettings) -> None:
    rule(fleet, AlertEvent.STATUS_AT_RISK)
    run(fleet, settings)
    digits = fleet.numbers[2].lstrip("+")

    fleet.webhook("phone_number_quality_update", {"display_phone_number": digits, "event": "ONBOARDING"})
    run(fleet, settings)
    fleet.webhook("phone_number_quality_update", {"display_phone_number": digits, "event": "FLAGGED"})
    run(fleet, settings)
    run(fleet, settings)

    assert len(mail.inbox.wait_for(1)) == 1
    assert "CONNECTED → FLAGGED" in mail.inbox.messages[0].get_content()


def test_limit_lowered_fires_for_a_number_tier_and_a_portfolio_limit(
    any_fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = any_fleet
    rule(fleet, AlertEvent.LIMIT_LOWERED)
    fleet.listing(n0={"messaging_limit_tier": "TIER_UNLIMITED"})  # raised: not an alert
    run(fleet, settings)

    fleet.listing(n0={"messaging_limit_tier": "TIER_1K"})
    run(fleet, settings)
    fleet.webhook("business_capability_update", {"max_daily_conversations_per_business": 2000})
    run(fleet, settings)
    run(fleet, settings)

    bodies = [message.get_content() for message in mail.inbox.wait_for(2)]
    assert len(bodies) == 2
    assert "TIER_UNLIMITED → TIER_1K" in bodies[0]
    assert "TIER_10K → TIER_2K" in bodies[1]
    assert "Acme Europe" in bodies[1]


def test_limit_lowered_starts_from_the_limits_of_its_creation_and_fires_on_each_cut(
    any_fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = any_fleet
    fleet.listing(n0={"messaging_limit_tier": "TIER_2K"})  # lowered before the rule: not its business
    rule(fleet, AlertEvent.LIMIT_LOWERED)

    fleet.listing(n0={"messaging_limit_tier": "TIER_1K"})  # lowered before the rule's first pass: its business
    run(fleet, settings)
    fleet.listing(n0={"messaging_limit_tier": "TIER_250"})
    run(fleet, settings)
    fleet.listing(n0={"messaging_limit_tier": "TIER_250"}, n1={"verified_name": "Renamed"})
    run(fleet, settings)
    fleet.listing(n0={"messaging_limit_tier": "TIER_10K"})
    run(fleet, settings)

    bodies = [message.get_content() for message in mail.inbox.wait_for(3)]
    assert len(bodies) == 3
    assert "TIER_2K → TIER_1K" in bodies[0]
    assert "TIER_1K → TIER_250" in bodies[1]
    assert "Cleared: now TIER_10K." in bodies[2]


def test_waba_restricted_fires_on_a_disable(fleet: Fleet, mail: MailServer, settings: AlertSettings) -> None:
    rule(fleet, AlertEvent.WABA_RESTRICTED)
    run(fleet, settings)

    fleet.webhook("account_update", {"event": "PARTNER_ADDED"})
    run(fleet, settings)
    fleet.webhook("account_update", {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}})
    run(fleet, settings)
    run(fleet, settings)

    assert len(mail.inbox.wait_for(1)) == 1
    assert "DISABLED" in mail.inbox.messages[0].get_content()


def test_template_paused_fires_once(fleet: Fleet, mail: MailServer, settings: AlertSettings) -> None:
    rule(fleet, AlertEvent.TEMPLATE_PAUSED)
    template = {
        "message_template_id": "7001",
        "message_template_name": "spring_sale",
        "message_template_language": "en_US",
    }
    fleet.webhook("message_template_status_update", {"event": "APPROVED", **template})
    run(fleet, settings)

    fleet.webhook("message_template_status_update", {"event": "PAUSED", "reason": "LOW_QUALITY", **template})
    run(fleet, settings)
    run(fleet, settings)

    assert len(mail.inbox.wait_for(1)) == 1
    body = mail.inbox.messages[0].get_content()
    assert "spring_sale" in body
    assert "APPROVED → PAUSED" in body


def test_portfolio_headroom_fires_when_senders_use_up_the_shared_limit(
    fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    rule(fleet, AlertEvent.PORTFOLIO_HEADROOM, threshold=20)
    run(fleet, settings)  # 3 senders on 10,000 a day: plenty

    fleet.webhook("business_capability_update", {"max_daily_conversations_per_business": 1000})
    run(fleet, settings)  # 3 × 250 of 1,000: 25 % left
    services.add_number(fleet.engine, ADMIN, meta_waba_id=fleet.waba, group_name="g3", phone=french_mobile(3))
    run(fleet, settings)  # 4 × 250 of 1,000: none left
    run(fleet, settings)

    assert len(mail.inbox.wait_for(1)) == 1
    assert "0 % headroom (4 senders on TIER_1K" in mail.inbox.messages[0].get_content()


def test_waba_and_workspace_slots_fire_at_their_thresholds(
    fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    rule(fleet, AlertEvent.WABA_SLOTS, threshold=16)
    rule(fleet, AlertEvent.WORKSPACE_SLOTS, threshold=8)
    run(fleet, settings)  # 17 free number slots, 9 free WABA slots

    services.add_number(fleet.engine, ADMIN, meta_waba_id=fleet.waba, group_name="g3", phone=french_mobile(3))
    services.add_waba(
        fleet.engine,
        ADMIN,
        workspace="EU Brands",
        portfolio_meta_id=fleet.portfolio,
        meta_waba_id=unique_meta_id(),
        name="Food",
    )
    run(fleet, settings)
    run(fleet, settings)

    found = sorted(subjects(mail) if mail.inbox.wait_for(2) else [])
    assert len(found) == 2
    assert "WABA nearly full" in found[0]
    assert "Workspace nearly full" in found[1]


# --- never twice, digest, quiet period, retries -------------------------------------------------------------


def test_replaying_the_same_delivery_ten_times_sends_one_message(
    fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    rule(fleet, AlertEvent.STATUS_AT_RISK)
    body = fleet.webhook(
        "phone_number_quality_update", {"display_phone_number": fleet.numbers[0].lstrip("+"), "event": "FLAGGED"}
    )

    for _ in range(10):
        fleet._import_bytes("webhook", body)
        run(fleet, settings)

    assert len(mail.inbox.wait_for(1, timeout=1)) == 1


def test_many_alerts_at_once_are_sent_as_one_digest(
    sqlite_engine: Engine, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = build_fleet(sqlite_engine, numbers=5)
    rule(fleet, AlertEvent.QUALITY_DROP)

    fleet.listing(**{f"n{i}": {"quality_rating": "RED"} for i in range(5)})  # 5 > digest_at (3)
    run(fleet, settings)

    assert len(mail.inbox.wait_for(1, timeout=1)) == 1
    message = mail.inbox.messages[0]
    assert "5 new" in str(message["Subject"])
    assert message.get_content().count("Quality dropped") == 5


def test_a_quiet_period_holds_later_alerts_for_one_message_at_its_end(
    any_fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = any_fleet
    rule(fleet, AlertEvent.QUALITY_DROP, quiet_hours=2)
    fleet.listing(n0={"quality_rating": "YELLOW"})
    run(fleet, settings)

    fleet.listing(n0={"quality_rating": "YELLOW"}, n1={"quality_rating": "YELLOW"})
    run(fleet, settings)
    fleet.listing(n0={"quality_rating": "YELLOW"}, n1={"quality_rating": "YELLOW"}, n2={"quality_rating": "RED"})
    run(fleet, settings)
    held = len(mail.inbox.wait_for(1, timeout=0.5))
    alerts.run_pass(fleet.engine, fleet.tick(minutes=121), settings)

    assert held == 1
    assert len(mail.inbox.wait_for(2, timeout=1)) == 2
    assert mail.inbox.messages[1].get_content().count("Quality dropped") == 2


def test_a_chat_target_down_then_up_gets_the_message_once_after_a_retry(
    any_fleet: Fleet, httpserver: HTTPServer, settings: AlertSettings
) -> None:
    fleet = any_fleet
    received: list[dict[str, Any]] = []
    answers = iter([Response("down", status=503), Response("ok", status=200)])

    def handler(request: Request) -> Response:
        received.append(request.get_json())
        return next(answers)

    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_handler(handler)
    rule(fleet, AlertEvent.QUALITY_DROP, target=httpserver.url_for("/hooks/alerts"))
    fleet.listing(n0={"quality_rating": "RED"})

    first = run(fleet, settings)
    too_soon = alerts.run_pass(fleet.engine, fleet.clock + timedelta(seconds=10), settings)
    after_backoff = alerts.run_pass(fleet.engine, fleet.tick(minutes=5), settings)
    later = alerts.run_pass(fleet.engine, fleet.tick(minutes=60), settings)

    assert (first.delivery.failed, too_soon.delivery.sent, after_backoff.delivery.sent, later.delivery.sent) == (
        1,
        0,
        1,
        0,
    )
    assert len(received) == 2
    assert "Quality dropped" in received[1]["text"]
    with read_session(fleet.engine) as session:
        outcomes = list(session.scalars(select(AlertDeliveryAttempt.outcome).order_by(AlertDeliveryAttempt.id)))
    assert outcomes == ["failed", "sent"]


def test_a_target_that_keeps_failing_is_listed(fleet: Fleet, settings: AlertSettings) -> None:
    rule(fleet, AlertEvent.QUALITY_DROP, target="http://127.0.0.1:9/nothing-listens-here")
    fleet.listing(n0={"quality_rating": "RED"})

    run(fleet, settings)
    alerts.run_pass(fleet.engine, fleet.tick(minutes=5), settings)

    failing = alerts.failing_targets(fleet.engine)
    assert list(failing["target"]) == ["http://127.0.0.1:9/nothing-listens-here"]
    assert int(failing["failed_attempts"][0]) == 2


def test_a_server_that_failed_is_tried_once_a_pass(fleet: Fleet, settings: AlertSettings) -> None:
    rule(fleet, AlertEvent.QUALITY_DROP, target="http://127.0.0.1:9/nothing-listens-here")
    fleet.listing(n0={"quality_rating": "RED"}, n1={"quality_rating": "RED"})  # two messages (digest above 3)

    report = run(fleet, settings)

    assert (report.delivery.failed, report.delivery.sent) == (1, 0)
    with read_session(fleet.engine) as session:
        assert session.scalar(select(func.count()).select_from(AlertDeliveryAttempt)) == 1
        assert (
            session.scalar(select(func.count()).select_from(AlertMessage).where(AlertMessage.status == "pending")) == 2
        )


@pytest.mark.parametrize(("login", "credentials"), [(None, ""), (("alerts", "s3cr:t"), "alerts:s3cr%3At@")])
def test_mail_goes_over_starttls_when_the_server_offers_it(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: tuple[str, str] | None, credentials: str
) -> None:
    context, certificate = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the client trusts this server's certificate
    server = MailServer(tls=context, login=login).start()
    try:
        rule(fleet, AlertEvent.QUALITY_DROP)
        fleet.listing(n0={"quality_rating": "RED"})

        report = run(fleet, AlertSettings(smtp_url=server.url.replace("smtp://", f"smtp://{credentials}")))

        received = server.inbox.wait_for(1)
    finally:
        server.stop()
    assert report.delivery.sent == 1  # the server refuses mail before STARTTLS: it went over TLS
    assert "Quality dropped" in str(received[0]["Subject"])


def test_a_malformed_smtp_url_is_a_failed_attempt_that_says_so(fleet: Fleet) -> None:
    rule(fleet, AlertEvent.QUALITY_DROP)
    fleet.listing(n0={"quality_rating": "RED"})

    report = run(fleet, AlertSettings(smtp_url="mail.example.com:587"))

    assert report.delivery.failed == 1
    failing = alerts.failing_targets(fleet.engine)
    assert "FLEET_SMTP_URL must look like smtp://" in failing["last_error"][0]


# --- who may manage rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [VIEWER, ANALYST])
def test_only_admins_create_rules(fleet: Fleet, actor: Any) -> None:
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        alerts.add_rule(fleet.engine, actor, name="mine", event="quality_drop", target="mailto:me@example.com")

    assert alerts.rules_table(fleet.engine).empty


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"event": "quality_up"}, "unknown event 'quality_up'"),
        ({"target": "ops@example.com"}, "neither mailto:ADDRESS nor"),
        ({"target": "mailto:not-an-address"}, "is not an e-mail address"),
        ({"threshold": "5"}, "takes no threshold"),
        ({"quiet_hours": "-1"}, "between 0 and"),
        ({"workspace": "Nowhere"}, "Workspace 'Nowhere' does not exist"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(fleet: Fleet, options: dict[str, Any], message: str) -> None:
    values = {"name": "bad", "event": "quality_drop", "target": "mailto:ops@example.com"} | options

    with pytest.raises((InvalidInput, Exception), match=message):
        alerts.add_rule(fleet.engine, ADMIN, **values)

    assert alerts.rules_table(fleet.engine).empty


@pytest.mark.parametrize("actor", [VIEWER, ANALYST])
def test_only_admins_disable_rules_and_acknowledge_alerts(fleet: Fleet, settings: AlertSettings, actor: Any) -> None:
    name = rule(fleet, AlertEvent.QUALITY_DROP)
    fleet.listing(n0={"quality_rating": "RED"})
    run(fleet, settings)
    alert_id = int(alerts.alerts_table(fleet.engine)["id"][0])

    with pytest.raises(PermissionDenied, match="needs the admin role"):
        alerts.disable_rule(fleet.engine, actor, name)
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        alerts.acknowledge(fleet.engine, actor, alert_id)

    assert bool(alerts.rules_table(fleet.engine)["enabled"][0])
    assert alerts.alerts_table(fleet.engine)["acknowledged_by"].isna().all()


def test_a_rule_name_is_taken_once(fleet: Fleet) -> None:
    rule(fleet, AlertEvent.QUALITY_DROP)

    with pytest.raises(DuplicateName, match="'quality_drop rule' already exists"):
        rule(fleet, AlertEvent.QUALITY_DROP)


def test_a_rule_scoped_to_a_workspace_or_a_waba_fires_only_there(
    fleet: Fleet, mail: MailServer, settings: AlertSettings
) -> None:
    services.add_workspace(fleet.engine, ADMIN, "US Brands")
    services.connect_portfolio(fleet.engine, ADMIN, workspace="US Brands", portfolio_meta_id=fleet.portfolio)
    other = services.add_waba(
        fleet.engine,
        ADMIN,
        workspace="US Brands",
        portfolio_meta_id=fleet.portfolio,
        meta_waba_id=unique_meta_id(),
        name="US",
    )
    services.add_number(fleet.engine, ADMIN, meta_waba_id=other, group_name="us", phone=french_mobile(50))
    alerts.add_rule(
        fleet.engine, ADMIN, name="EU", event="status_at_risk", workspace="EU Brands", target="mailto:eu@example.com"
    )
    alerts.add_rule(
        fleet.engine, ADMIN, name="US WABA", event="status_at_risk", waba=other, target="mailto:us@example.com"
    )

    for digits, waba in ((fleet.numbers[0].lstrip("+"), fleet.waba), (french_mobile(50).lstrip("+"), other)):
        fleet.webhook("phone_number_quality_update", {"display_phone_number": digits, "event": "FLAGGED"}, waba)
    run(fleet, settings)

    messages = mail.inbox.wait_for(3, timeout=1)  # a third would be a rule firing outside its scope
    received = {str(message["To"]): message.get_content() for message in messages}
    assert len(messages) == 2
    assert set(received) == {"eu@example.com", "us@example.com"}
    assert "+33 6 00 00 00 00" in received["eu@example.com"]
    assert "+33 6 00 00 00 50" in received["us@example.com"]


def test_a_disabled_rule_fires_no_more(fleet: Fleet, mail: MailServer, settings: AlertSettings) -> None:
    name = rule(fleet, AlertEvent.QUALITY_DROP)
    alerts.disable_rule(fleet.engine, ADMIN, name)

    fleet.listing(n0={"quality_rating": "RED"})
    run(fleet, settings)

    assert mail.inbox.wait_for(1, timeout=0.3) == []


# --- concurrency on PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_evaluators_racing_on_postgresql_send_one_message(
    postgres_engine: Engine, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = build_fleet(postgres_engine)
    rule(fleet, AlertEvent.QUALITY_DROP)
    fleet.listing(n0={"quality_rating": "RED"})
    now = fleet.tick()
    # Each evaluator waits at its insert of the alert for the other to get there too (or 2 s, when the other is
    # kept out): both try to open the same alert at once unless the first one's transaction shuts the second out.
    both_at_insert = threading.Barrier(2)
    errors: list[BaseException] = []

    def meet_at_insert(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        print("STMT", threading.get_ident(), statement[:60].replace("\n", " "))
        if statement.lstrip().upper().startswith("INSERT INTO ALERTS"):
            with contextlib.suppress(threading.BrokenBarrierError):
                both_at_insert.wait(timeout=2)

    def evaluator() -> None:
        try:
            alerts.run_pass(postgres_engine, now, settings)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    event.listen(postgres_engine, "before_cursor_execute", meet_at_insert)
    threads = [threading.Thread(target=evaluator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    event.remove(postgres_engine, "before_cursor_execute", meet_at_insert)

    assert errors == []
    assert len(mail.inbox.wait_for(1, timeout=1)) == 1
    with read_session(postgres_engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        assert session.scalar(select(func.count()).select_from(AlertMessage)) == 1


# --- end to end: Meta's signed webhook → receiver → inbox → worker → e-mail ----------------------------------


def test_a_signed_webhook_posted_to_the_receiver_ends_in_one_email(
    sqlite_url: str, sqlite_engine: Engine, mail: MailServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = build_fleet(sqlite_engine)
    rule(fleet, AlertEvent.STATUS_AT_RISK)
    monkeypatch.setenv("FLEET_SMTP_URL", mail.url)
    monkeypatch.setenv("FLEET_BASE_URL", "https://fleet.example.com")
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": fleet.waba,
                    "time": int(fleet.tick().timestamp()),
                    "changes": [
                        {
                            "field": "phone_number_quality_update",
                            "value": {"display_phone_number": fleet.numbers[1].lstrip("+"), "event": "FLAGGED"},
                        }
                    ],
                }
            ],
        }
    ).encode()
    log = tmp_path / "processes.log"

    with webhook_support.receiver_process(sqlite_url, log) as (url, _):
        worker = webhook_support.start_cli(sqlite_url, "worker", log=log)
        try:
            for _ in range(3):  # Meta retries: the same delivery, three times
                assert webhook_support.post(url, body).status_code == 200
            received = mail.inbox.wait_for(1, timeout=60)
            time.sleep(1.5)  # room for a duplicate to arrive, were there one
        finally:
            webhook_support.stop(worker)

    assert len(received) == 1, log.read_text()
    assert len(mail.inbox.messages) == 1
    assert "CONNECTED → FLAGGED" in received[0].get_content()
    assert "https://fleet.example.com/numbers?phone=%2B33600000001" in received[0].get_content()


# --- the CLI ------------------------------------------------------------------------------------------------


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    environment.update(DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_adds_lists_runs_and_disables_rules(sqlite_url: str, sqlite_engine: Engine, mail: MailServer) -> None:
    fleet = build_fleet(sqlite_engine)
    fleet.listing(n2={"quality_rating": "RED"})

    added = run_cli(
        sqlite_url,
        "alerts",
        "rule",
        "add",
        "EU quality",
        "--on",
        "quality_drop",
        "--workspace",
        "EU Brands",
        "--to",
        "mailto:ops@example.com",
        "--quiet-hours",
        "2",
    )
    listed = run_cli(sqlite_url, "alerts", "rule", "list")
    ran = run_cli(sqlite_url, "alerts", "run", FLEET_SMTP_URL=mail.url)
    recent = run_cli(sqlite_url, "alerts", "list")
    disabled = run_cli(sqlite_url, "alerts", "rule", "disable", "EU quality")
    refused = run_cli(
        sqlite_url,
        "alerts",
        "rule",
        "add",
        "mine",
        "--on",
        "quality_drop",
        "--to",
        "mailto:me@example.com",
        FLEET_LOCAL_ROLE="viewer",
    )

    assert added.returncode == 0, added.stderr
    assert "EU quality" in listed.stdout
    assert "quality_drop" in listed.stdout
    assert "1 alert(s) opened" in ran.stdout
    assert "1 message(s) delivered" in ran.stdout
    assert "GREEN" in recent.stdout
    assert "RED" in recent.stdout
    assert disabled.returncode == 0
    assert not alerts.rules_table(sqlite_engine)["enabled"][0]
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ")
    assert "needs the admin role" in refused.stderr
    assert len(mail.inbox.wait_for(1)) == 1


# --- the worker's jobs ----------------------------------------------------------------------------------------


def test_the_worker_runs_a_pass_after_a_batch_after_a_sync_and_in_its_sweep(
    fleet: Fleet, mail: MailServer, settings: AlertSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sync(engine: Engine, now: datetime) -> None:  # stands for the Graph API sync: it changes the fleet
        fleet.listing(n0={"quality_rating": "RED"}, n1={"quality_rating": "RED"})

    monkeypatch.setattr(worker, "AFTER_APPLY", [])
    monkeypatch.setattr(worker, "PERIODIC", [worker.Periodic("sync", 60.0, sync)])
    rule(fleet, AlertEvent.QUALITY_DROP)
    worker_jobs.register(settings)
    worker_jobs.register(settings)  # once per process, however often it is called
    (after_batch,) = worker.AFTER_APPLY
    scheduled_sync, sweep = worker.PERIODIC

    fleet.listing(n0={"quality_rating": "RED"})
    after_batch(fleet.engine, inbox.BatchResult())
    after_first = len(mail.inbox.wait_for(1))
    scheduled_sync.run(fleet.engine, fleet.tick())
    after_sync = len(mail.inbox.wait_for(2))
    fleet.listing(n0={"quality_rating": "RED"}, n1={"quality_rating": "RED"}, n2={"quality_rating": "YELLOW"})
    sweep.run(fleet.engine, fleet.tick())

    assert (after_first, after_sync, len(mail.inbox.wait_for(3))) == (1, 2, 3)
    assert sweep.name == "alerts sweep"
    assert sweep.every_seconds == settings.sweep_seconds


def test_the_open_count_covers_alerts_past_the_recent_list(
    sqlite_engine: Engine, mail: MailServer, settings: AlertSettings
) -> None:
    fleet = build_fleet(sqlite_engine, numbers=5)
    rule(fleet, AlertEvent.QUALITY_DROP)
    fleet.listing(**{f"n{i}": {"quality_rating": "RED"} for i in range(5)})

    run(fleet, settings)

    assert len(alerts.alerts_table(fleet.engine, limit=2)) == 2
    assert alerts.open_alert_count(fleet.engine) == 5
