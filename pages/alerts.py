"""Alerts: recent alerts (admins acknowledge them), targets that keep failing, and the rules (admins manage them)."""

from __future__ import annotations

import streamlit as st

from core import alerts
from core.alerts.rules import EVENT_DESCRIPTIONS
from pages.kit import acting_user, database, feedback, reads, shell, tables

shell.page_header(
    "Alerts",
    "Rules the business sets on quality, status, limits, restrictions, templates and capacity; one alert per change, "
    "sent by e-mail or chat webhook.",
)
admin = acting_user.is_admin()
recent = reads.alerts()
failing = reads.failing_alert_targets()
rules = reads.alert_rules()

st.subheader("Recent alerts")
# Each section is one block whatever it holds: what follows keeps its place, so an open expander stays open.
with st.container():
    if recent.empty:
        st.info("No alert yet. Alerts appear here when a rule's condition becomes true.", icon=":material/info:")
    else:
        open_count = reads.open_alert_count()
        st.caption(f"{open_count} open, newest first. A resolved alert says what it was and when it cleared.")
        tables.table(
            recent,
            "alerts_recent",
            [
                *("rule", "subject", "before_value", "after_value", "since", "opened_at", "resolved_at"),
                *("acknowledged_by", "delivery", "waba", "workspace"),
            ],
            {
                "rule": "Rule",
                "subject": "About",
                "before_value": "Before",
                "after_value": "Now",
                "since": tables.when_column("Since"),
                "opened_at": tables.when_column("Opened"),
                "resolved_at": tables.when_column("Resolved"),
                "acknowledged_by": "Acknowledged by",
                "delivery": "Message",
            },
        )
        unacknowledged = recent[recent["acknowledged_by"].isna()]
        if admin:
            feedback.outcome_here("acknowledge_alert")  # drawn even once the last open alert is acknowledged
        if admin and not unacknowledged.empty:
            with st.form("acknowledge_alert_form"):
                labels = {
                    int(row.id): f"#{row.id} {row.rule}: {row.subject} — {row.after_value}"
                    for row in unacknowledged.itertuples()
                }
                chosen = st.selectbox("Alert", list(labels), format_func=labels.__getitem__, key="acknowledge_alert_id")
                if st.form_submit_button("Acknowledge", type="primary"):
                    with feedback.fleet_errors():
                        alerts.acknowledge(database.engine(), acting_user.current_actor(), int(chosen))
                        feedback.succeed(f"Alert #{chosen} acknowledged.", where="acknowledge_alert")

st.subheader("Failing targets")
with st.container():
    if failing.empty:
        st.success("Every target took its last message.", icon=":material/check_circle:")
    else:
        st.warning(
            "These targets refused or did not answer their last message; it is tried again with backoff.",
            icon=":material/warning:",
        )
        tables.table(
            failing,
            "alerts_failing_targets",
            ["target", "failed_attempts", "undelivered_messages", "last_attempt", "last_error"],
            {
                "target": "Target",
                "failed_attempts": "Failed attempts since the last success",
                "undelivered_messages": "Messages waiting",
                "last_attempt": tables.when_column("Last attempt"),
                "last_error": "Last error",
            },
        )

st.subheader("Rules")
if rules.empty:
    st.caption("No rule yet." + (" Add one below." if admin else " An admin adds them."))
else:
    tables.table(
        rules,
        "alerts_rules",
        ["name", "event", "workspace", "waba", "threshold", "target", "quiet_hours", "enabled"],
        {
            "name": "Rule",
            "event": "On",
            "threshold": "Threshold",
            "target": "Sent to",
            "quiet_hours": "Quiet hours",
            "enabled": st.column_config.CheckboxColumn("Enabled"),
        },
    )

if admin:
    with st.expander("Add a rule", icon=":material/add_alert:"):
        feedback.outcome_here("add_alert_rule")
        with st.form("add_alert_rule_form"):
            name = st.text_input("Name", key="alert_rule_name", placeholder="Quality of EU numbers")
            event = st.selectbox(
                "When",
                list(EVENT_DESCRIPTIONS),
                format_func=lambda e: f"{e.value}: {EVENT_DESCRIPTIONS[e]}",
                key="alert_rule_event",
            )
            target = st.text_input(
                "Send to", key="alert_rule_target", placeholder="mailto:ops@example.com or https://hooks.slack.com/…"
            )
            workspace = st.selectbox(
                "Workspace", ["(every workspace)", *reads.workspaces()["workspace"]], key="alert_rule_workspace"
            )
            waba = st.text_input("WABA (Meta id, optional)", key="alert_rule_waba")
            threshold = st.text_input(
                "Threshold", key="alert_rule_threshold", help="% for portfolio_headroom; free slots for the slot events"
            )
            quiet = st.number_input("Quiet hours", min_value=0.0, max_value=720.0, step=1.0, key="alert_rule_quiet")
            if st.form_submit_button("Add rule", type="primary"):
                with feedback.fleet_errors():
                    added = alerts.add_rule(
                        database.engine(),
                        acting_user.current_actor(),
                        name=name,
                        event=event.value,
                        target=target,
                        workspace=None if workspace == "(every workspace)" else workspace,
                        waba=waba.strip() or None,
                        threshold=threshold.strip() or None,
                        quiet_hours=quiet,
                    )
                    feedback.succeed(
                        f"Alert rule '{added}' added.",
                        reset={"alert_rule_name": "", "alert_rule_target": "", "alert_rule_waba": ""},
                        where="add_alert_rule",
                    )
    feedback.outcome_here("disable_alert_rule")  # drawn even once the last enabled rule is disabled
    enabled = [str(rule) for rule in rules.loc[rules["enabled"], "name"]] if not rules.empty else []
    if enabled:
        with st.form("disable_alert_rule_form"):
            which = st.selectbox("Rule to disable", enabled, key="alert_rule_disable")
            if st.form_submit_button("Disable rule"):
                with feedback.fleet_errors():
                    alerts.disable_rule(database.engine(), acting_user.current_actor(), which)
                    feedback.succeed(f"Alert rule '{which}' is disabled.", where="disable_alert_rule")
