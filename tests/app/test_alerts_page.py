"""The Alerts page: admins add and disable rules and acknowledge alerts; everyone reads them; the Overview shows the
open ones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from core import alerts
from core.config import AlertSettings
from core.db import AlertAcknowledgement, PhoneNumber, read_session, write_session
from tests import builders
from tests.app.ui import exceptions, shown_text, submit, table, texts
from tests.builders import ADMIN


def _open_an_alert(engine) -> None:
    """A WABA with two GREEN numbers, a rule on quality, then one number turned RED: one open alert."""
    builders.fill_waba(engine, builders.waba(engine), 2)
    alerts.add_rule(engine, ADMIN, name="Quality", event="quality_drop", target="mailto:ops@example.com")
    with write_session(engine) as session:
        session.execute(update(PhoneNumber).where(PhoneNumber.id == 1).values(quality_rating="RED"))
    alerts.evaluate(engine, datetime.now(UTC))


def test_an_admin_adds_a_rule_from_the_form(demo_db, open_page):
    at = open_page("alerts.py")

    at.text_input(key="alert_rule_name").input("EU quality")
    at.text_input(key="alert_rule_target").input("mailto:ops@example.com")
    submit(at, "Add rule")

    assert exceptions(at) == []
    rules = table(at, "alerts_rules")
    assert rules[["name", "event", "target"]].values.tolist() == [
        ["EU quality", "quality_drop", "mailto:ops@example.com"]
    ]


def test_a_bad_target_is_refused_with_the_field_named_and_the_input_kept(demo_db, open_page):
    at = open_page("alerts.py")

    at.text_input(key="alert_rule_name").input("EU quality")
    at.text_input(key="alert_rule_target").input("ops@example.com")
    submit(at, "Add rule")

    assert "Field 'target'" in shown_text(at)
    assert at.text_input(key="alert_rule_name").value == "EU quality"
    assert alerts.rules_table(demo_db).empty


def test_a_viewer_sees_alerts_but_no_forms(empty_db, open_page):
    _open_an_alert(empty_db)

    at = open_page("alerts.py", role="viewer")

    assert exceptions(at) == []
    assert len(table(at, "alerts_recent")) == 1
    assert not any(button.label in ("Add rule", "Acknowledge") for button in at.button)


def test_an_admin_acknowledges_an_alert_and_the_overview_shows_it_open(empty_db, open_page):
    _open_an_alert(empty_db)
    at = open_page("alerts.py")

    submit(at, "Acknowledge")

    assert exceptions(at) == []
    with read_session(empty_db) as session:
        assert session.scalars(select(AlertAcknowledgement.acknowledged_by)).all() == ["local-admin"]
    at.switch_page("pages/overview.py").run()
    overview = table(at, "overview_open_alerts")
    assert overview[["rule", "after_value", "acknowledged_by"]].values.tolist() == [["Quality", "RED", "local-admin"]]


def test_a_failing_target_is_shown(demo_db, open_page):
    alerts.add_rule(demo_db, ADMIN, name="Chat", event="quality_drop", target="http://127.0.0.1:9/down")
    with write_session(demo_db) as session:
        session.execute(update(PhoneNumber).where(PhoneNumber.id == 1).values(quality_rating="RED"))
    alerts.run_pass(demo_db, datetime.now(UTC), AlertSettings())

    at = open_page("alerts.py")

    assert table(at, "alerts_failing_targets")["target"].tolist() == ["http://127.0.0.1:9/down"]


def outcome(at, where: str) -> list[str]:
    """The success notes drawn in the spot of the form at `where` (not the toast that fades)."""
    return texts(at.get_by_key(f"outcome_{where}").success)


def test_an_added_rule_is_confirmed_in_the_add_rule_expander(demo_db, open_page):
    at = open_page("alerts.py")

    at.text_input(key="alert_rule_name").input("EU quality")
    at.text_input(key="alert_rule_target").input("mailto:ops@example.com")
    submit(at, "Add rule")

    assert outcome(at, "add_alert_rule") == ["Alert rule 'EU quality' added."]
    add_a_rule = next(expander for expander in at.expander if expander.label == "Add a rule")
    assert texts(add_a_rule.success) == ["Alert rule 'EU quality' added."]


def test_acknowledging_the_last_open_alert_is_confirmed_where_its_form_was(empty_db, open_page):
    _open_an_alert(empty_db)
    at = open_page("alerts.py")

    submit(at, "Acknowledge")

    assert outcome(at, "acknowledge_alert") == ["Alert #1 acknowledged."]
    assert "Acknowledge" not in [button.label for button in at.button]


def test_disabling_the_last_enabled_rule_is_confirmed_where_its_form_was(empty_db, open_page):
    alerts.add_rule(empty_db, ADMIN, name="Quality", event="quality_drop", target="mailto:ops@example.com")
    at = open_page("alerts.py")

    submit(at, "Disable rule")

    assert outcome(at, "disable_alert_rule") == ["Alert rule 'Quality' is disabled."]
    assert table(at, "alerts_rules")["enabled"].tolist() == [False]
