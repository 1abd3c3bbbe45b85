"""Webhook payloads from Meta (`"object": "whatsapp_business_account"`), one envelope per file, a JSON array of
envelopes, or JSON Lines with one envelope per line.

Imported fields: phone_number_quality_update, phone_number_name_update, account_update (ban, restrictions,
violation), message_template_status_update (with its reason), message_template_quality_update,
template_category_update, business_capability_update, and account_alerts (recorded as delivered). Other fields
(messages…) are reported as skipped. Numbers arrive as digits only ("15550783881") and are matched
by E.164; `entry.id` is the WABA.

Webhooks arrive more than once and out of order: each field keeps the time of the event that set it
(`entry.time`); an event older than that does not overwrite it, but a number's health event is still kept in its
history (source 'webhook-late', at the event's own time). Replaying a file changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core import model
from core.errors import InvalidInput
from core.imports import fleet
from core.imports.fleet import Offer, Tracked
from core.imports.reading import (
    Document,
    clean_imported_name,
    graph_api_error,
    kind_of,
    optional_text,
    parse_json_documents,
    read_count,
    read_daily_limit,
    read_event_time,
    read_known_value,
    read_meta_id,
    read_meta_name,
    unknown_keys,
)
from core.imports.report import (
    CreateTemplate,
    HealthSnapshot,
    ImportPlan,
    Notice,
    Problem,
    RecordAlert,
    UpdateObject,
)

KIND = "webhook"
ENVELOPE_OBJECT = "whatsapp_business_account"
SOURCE = "webhook"
LATE_SOURCE = "webhook-late"

# Quality events: the status each one means; None leaves the status alone (limit and throughput events).
QUALITY_EVENTS: dict[str, str | None] = {
    "FLAGGED": "FLAGGED",
    "UNFLAGGED": "CONNECTED",
    "UPGRADE": None,
    "DOWNGRADE": None,
    "ONBOARDING": None,
    "THROUGHPUT_UPGRADE": None,
}
NAME_STATUS_BY_DECISION = {
    "APPROVED": "APPROVED",
    "REJECTED": "DECLINED",
    "PENDING": "PENDING_REVIEW",
    "DEFERRED": "PENDING_REVIEW",
}
WABA_STATUS_BY_BAN_STATE = {
    "DISABLE": "DISABLED",
    "REINSTATE": "ACTIVE",
    "SCHEDULE_FOR_DISABLE": "SCHEDULED_FOR_DISABLE",
}
NEW_TEMPLATE_STATUS = "UNKNOWN"  # a template first heard of through a quality event: its status is not known yet
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Event:
    where: str
    order: int
    waba_id: str
    time: datetime


@dataclass(frozen=True)
class QualityEvent(Event):
    e164: str
    event: str
    status: str | None
    tier: str | None
    portfolio_limit: str | None


@dataclass(frozen=True)
class NameEvent(Event):
    e164: str
    decision: str
    name_status: str
    display_name: str | None
    rejection_reason: str | None = None


@dataclass(frozen=True)
class AccountEvent(Event):
    event: str
    status: str | None
    ban_state: str | None
    detail: str
    values: dict[str, str | None] = field(default_factory=dict)  # ban_date, restrictions, violation_type


@dataclass(frozen=True)
class TemplateEvent(Event):
    template_id: str | None
    name: str | None
    language: str | None
    values: dict[str, str | None]  # status, category and reason; quality_score; or category and previous one
    note: str = ""  # why an event carries nothing to apply


@dataclass(frozen=True)
class AlertEvent(Event):
    entity_type: str
    entity_id: str
    alert_type: str
    severity: str | None
    status: str | None
    description: str | None


@dataclass(frozen=True)
class CapabilityEvent(Event):
    values: dict[str, Any]  # messaging_limit, max_phone_numbers_per_business, max_phone_numbers_per_waba


@dataclass
class Stream:
    events: list[Event] = field(default_factory=list)
    changes_read: int = 0
    skipped: list[Notice] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------------------------


def parse_stream(text: str) -> Stream:
    """Read and check every envelope (no database): malformed input is an error naming line, entry and change."""
    stream = Stream()
    documents, stream.errors = parse_json_documents(text)
    for document in documents:
        if document.line is None and isinstance(document.value, list):
            for index, envelope in enumerate(document.value):
                _read_envelope(envelope, document, f"[{index}].", stream)
        else:
            _read_envelope(document.value, document, "", stream)
    return stream


def _read_envelope(envelope: Any, document: Document, prefix: str, stream: Stream) -> None:
    where = document.at(prefix.rstrip(".") or "")
    if not isinstance(envelope, dict):
        stream.errors.append(Problem(where, f"expected a webhook envelope (an object), got {kind_of(envelope)}."))
        return
    error = graph_api_error(envelope)
    if error is not None:
        stream.errors.append(Problem(where, f"this is an error from the Graph API, not a webhook payload: {error}."))
        return
    if "object" not in envelope:
        stream.errors.append(Problem(where, f"missing field 'object' (expected '{ENVELOPE_OBJECT}')."))
        return
    if envelope["object"] != ENVELOPE_OBJECT:
        stream.errors.append(
            Problem(where, f"field 'object' is {envelope['object']!r}: only '{ENVELOPE_OBJECT}' webhooks are imported.")
        )
        return
    if not isinstance(envelope.get("entry"), list):
        stream.errors.append(Problem(where, "missing field 'entry' (a list of entries)."))
        return
    extra = unknown_keys(envelope, {"object", "entry"})
    if extra:
        stream.warnings.append(Notice(where, f"envelope keys ignored: {', '.join(extra)}."))
    for index, entry in enumerate(envelope["entry"]):
        _read_entry(entry, document, f"{prefix}entry[{index}]", stream)


def _read_entry(entry: Any, document: Document, path: str, stream: Stream) -> None:
    where = document.at(path)
    if not isinstance(entry, dict):
        stream.errors.append(Problem(where, f"expected an entry object, got {kind_of(entry)}."))
        return
    missing = [name for name in ("id", "changes") if name not in entry]
    if missing:
        stream.errors.append(Problem(where, f"missing field(s): {', '.join(missing)}."))
        return
    try:
        waba_id = read_meta_id("entry.id", entry["id"])
        # Meta sends no time with some fields (messages); only the changes imported here need one.
        at = read_event_time(entry["time"]) if "time" in entry else None
    except InvalidInput as error:
        stream.errors.append(Problem(where, str(error)))
        return
    if not isinstance(entry["changes"], list):
        stream.errors.append(Problem(where, f"field 'changes' must be a list, got {kind_of(entry['changes'])}."))
        return
    for index, change in enumerate(entry["changes"]):
        stream.changes_read += 1
        change_where = document.at(f"{path}.changes[{index}]")
        try:
            event = _read_change(change, change_where, len(stream.events), waba_id, at, stream)
        except InvalidInput as error:
            stream.errors.append(Problem(change_where, str(error)))
            continue
        if event is not None:
            stream.events.append(event)


def _read_change(
    change: Any, where: str, order: int, waba_id: str, at: datetime | None, stream: Stream
) -> Event | None:
    if not isinstance(change, dict):
        raise InvalidInput(f"expected a change object, got {kind_of(change)}.")
    name = change.get("field")
    if not isinstance(name, str) or not name:
        raise InvalidInput("missing field 'field' (the webhook field name).")
    value = change.get("value")
    if not isinstance(value, dict):
        raise InvalidInput(f"field 'value' must be an object, got {kind_of(value)}.")
    if name == "message_template_status_update" and "new_quality_score" in value and "event" not in value:
        # Meta's own reference example sends quality updates under this field name.
        stream.warnings.append(Notice(where, "a template quality update sent as 'message_template_status_update'."))
        name = "message_template_quality_update"
    reader = READERS.get(name)
    if reader is None:
        stream.skipped.append(Notice(where, f"field '{name[:60]}' is not imported (imported: {', '.join(READERS)})."))
        return None
    if at is None:
        raise InvalidInput("its entry has no 'time', which orders imported events.")
    base = Event(where, order, waba_id, at)
    return reader(value, base, stream.warnings)


def _phone(value: dict[str, Any]) -> str:
    if "display_phone_number" not in value:
        raise InvalidInput("missing field 'display_phone_number'.")
    raw = value["display_phone_number"]
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidInput(f"Field 'display_phone_number' must be text, got {kind_of(raw)}.")
    return model.normalize_phone_number(str(raw), strict=False)


def _required(value: dict[str, Any], name: str) -> Any:
    if value.get(name) is None:
        raise InvalidInput(f"missing field '{name}'.")
    return value[name]


def _warn_unknown(value: dict[str, Any], known: set[str], base: Event, warnings: list[Notice]) -> None:
    extra = unknown_keys(value, known)
    if extra:
        warnings.append(Notice(base.where, f"fields not imported: {', '.join(extra)}."))


def _read_quality(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    e164 = _phone(value)
    event = read_known_value("event", _required(value, "event"), QUALITY_EVENTS, base.where, warnings)
    tier = None
    if value.get("current_limit") is not None:
        tier = read_known_value("current_limit", value["current_limit"], model.MessagingLimitTier, base.where, warnings)
    if value.get("old_limit") is not None:
        read_known_value("old_limit", value["old_limit"], model.MessagingLimitTier, base.where, warnings)
    limit = None
    if value.get("max_daily_conversations_per_business") is not None:
        limit = read_daily_limit(
            "max_daily_conversations_per_business", value["max_daily_conversations_per_business"], base.where, warnings
        )
    _warn_unknown(
        value,
        {"display_phone_number", "event", "current_limit", "old_limit", "max_daily_conversations_per_business"},
        base,
        warnings,
    )
    return QualityEvent(
        **vars(base), e164=e164, event=event, status=QUALITY_EVENTS.get(event), tier=tier, portfolio_limit=limit
    )


def _read_name(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    e164 = _phone(value)
    decision = read_known_value("decision", _required(value, "decision"), NAME_STATUS_BY_DECISION, base.where, warnings)
    requested = value.get("requested_verified_name")
    display_name = (
        read_meta_name("requested_verified_name", requested, base.where, warnings) if requested is not None else None
    )
    reason = optional_text("rejection_reason", value.get("rejection_reason"))
    _warn_unknown(
        value, {"display_phone_number", "decision", "requested_verified_name", "rejection_reason"}, base, warnings
    )
    return NameEvent(
        **vars(base),
        e164=e164,
        decision=decision,
        name_status=NAME_STATUS_BY_DECISION.get(decision, decision),
        display_name=display_name if decision == "APPROVED" else None,
        rejection_reason=reason if decision == "REJECTED" and reason != "NONE" else None,
    )


def _read_account(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    raw_event = _required(value, "event")
    if not isinstance(raw_event, str) or not re.fullmatch(r"[A-Za-z_]{1,60}", raw_event.strip()):
        raise InvalidInput(f"Field 'event' must be an event name, got {kind_of(raw_event)} {str(raw_event)[:40]!r}.")
    event = raw_event.strip().upper()
    status = "DELETED" if event == "ACCOUNT_DELETED" else None
    ban_state = None
    details = [event]
    ban_info = value.get("ban_info")
    if ban_info is not None:
        if not isinstance(ban_info, dict) or ban_info.get("waba_ban_state") is None:
            raise InvalidInput("Field 'ban_info' must be an object with 'waba_ban_state'.")
        raw_state = ban_info["waba_ban_state"]
        if isinstance(raw_state, list) and len(raw_state) == 1:  # older Graph API versions: ["DISABLE"]
            raw_state = raw_state[0]
        ban_state = read_known_value("waba_ban_state", raw_state, WABA_STATUS_BY_BAN_STATE, base.where, warnings)
        status = WABA_STATUS_BY_BAN_STATE.get(ban_state, status)
        ban_date = optional_text("waba_ban_date", ban_info.get("waba_ban_date"))
        details.append(f"ban state {ban_state}" + (f" on {ban_date}" if ban_date else ""))
    values: dict[str, str | None] = {}
    if ban_info is not None and "waba_ban_date" in ban_info:
        values["ban_date"] = optional_text("waba_ban_date", ban_info.get("waba_ban_date"))
    violation = value.get("violation_info")
    if isinstance(violation, dict) and violation.get("violation_type") is not None:
        values["violation_type"] = optional_text("violation_type", violation["violation_type"])
        details.append(f"violation {values['violation_type']}")
    if "restriction_info" in value:
        values["restrictions"] = _restrictions(value["restriction_info"])
        details.append(f"restrictions {values['restrictions'] or 'lifted'}")
    _warn_unknown(value, ACCOUNT_UPDATE_KEYS, base, warnings)
    return AccountEvent(
        **vars(base), event=event, status=status, ban_state=ban_state, detail=", ".join(details), values=values
    )


# account_update keys this fleet reads, and those Meta documents for events it does not track.
ACCOUNT_UPDATE_KEYS = {
    "event",
    "ban_info",
    "violation_info",
    "restriction_info",
    "phone_number",
    "waba_info",
    "lock_state",
    "auth_international_rate_eligibility",
    "partner_client_certification_info",
    "business_verification_status",
    "volume_tier_info",
    "country",
    "primary_business_location",
}


def _restrictions(raw: object) -> str | None:
    """`restriction_info`: [{restriction_type, expiration}], kept as compact JSON text; an empty list lifts them."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidInput("Field 'restriction_info' must be a list of objects.")
    restrictions = [
        {
            "restriction_type": optional_text("restriction_type", item.get("restriction_type")),
            "expiration": optional_text("expiration", item.get("expiration")),
        }
        for item in raw
    ]
    return json.dumps(restrictions, sort_keys=True, separators=(",", ":")) if restrictions else None


def _template_identity(value: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    template_id = (
        read_meta_id("message_template_id", value["message_template_id"])
        if value.get("message_template_id") is not None
        else None
    )
    name = value.get("message_template_name")
    name = clean_imported_name("message_template_name", name) if name is not None else None
    language = value.get("message_template_language")
    if language is not None and (not isinstance(language, str) or not _LANGUAGE.match(language.strip())):
        raise InvalidInput(f"Field 'message_template_language' is not a language code: {str(language)[:20]!r}.")
    language = language.strip() if isinstance(language, str) else None
    if template_id is None and (name is None or language is None):
        raise InvalidInput("needs 'message_template_id', or 'message_template_name' and 'message_template_language'.")
    return template_id, name, language


TEMPLATE_IDENTITY_FIELDS = {"message_template_id", "message_template_name", "message_template_language"}


def _read_template_status(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    template_id, name, language = _template_identity(value)
    values: dict[str, str | None] = {
        "status": read_known_value("event", _required(value, "event"), model.TemplateStatus, base.where, warnings)
    }
    if value.get("message_template_category") is not None:
        values["category"] = read_known_value(
            "message_template_category",
            value["message_template_category"],
            model.TemplateCategory,
            base.where,
            warnings,
        )
    reason = optional_text("reason", value.get("reason"))
    values["status_reason"] = None if reason in (None, "NONE") else reason
    _warn_unknown(
        value,
        TEMPLATE_IDENTITY_FIELDS
        | {"event", "reason", "message_template_category", "disable_info", "other_info", "rejection_info"},
        base,
        warnings,
    )
    return TemplateEvent(**vars(base), template_id=template_id, name=name, language=language, values=values)


def _read_template_category(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    """A completed category change (previous_category → new_category) is applied; an announced one
    (correct_category, category_update_timestamp) is reported: Meta sends a second event when it happens."""
    template_id, name, language = _template_identity(value)
    new = read_known_value(
        "new_category", _required(value, "new_category"), model.TemplateCategory, base.where, warnings
    )
    _warn_unknown(
        value,
        TEMPLATE_IDENTITY_FIELDS
        | {"new_category", "previous_category", "correct_category", "category_update_timestamp"},
        base,
        warnings,
    )
    if value.get("previous_category") is None:
        return TemplateEvent(
            **vars(base),
            template_id=template_id,
            name=name,
            language=language,
            values={},
            note=f"Meta announces a category change to {new}; applied when Meta reports it done.",
        )
    previous = read_known_value(
        "previous_category", value["previous_category"], model.TemplateCategory, base.where, warnings
    )
    return TemplateEvent(
        **vars(base),
        template_id=template_id,
        name=name,
        language=language,
        values={"category": new, "previous_category": previous},  # type: ignore[dict-item]
    )


def _read_alert(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    """`account_alerts`: Meta's alert about a business, WABA or number, recorded as delivered."""
    info = value.get("alert_info", value if "alert_type" in value else None)  # some senders flatten alert_info
    if not isinstance(info, dict):
        raise InvalidInput("Field 'alert_info' must be an object.")
    entity_type = read_known_value(
        "entity_type", _required(value, "entity_type"), ("BUSINESS", "WABA", "PHONE_NUMBER"), base.where, warnings
    )
    alert_type = _required(info, "alert_type")
    if not isinstance(alert_type, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,60}", alert_type.strip()):
        raise InvalidInput(f"Field 'alert_type' must be an alert name, got {kind_of(alert_type)}.")
    alert_keys = {"alert_severity", "alert_status", "alert_type", "alert_description"}
    _warn_unknown(
        value, {"entity_type", "entity_id", "alert_info"} | (alert_keys if info is value else set()), base, warnings
    )
    return AlertEvent(
        **vars(base),
        entity_type=entity_type,
        entity_id=read_meta_id("entity_id", _required(value, "entity_id")),
        alert_type=alert_type.strip().upper(),
        severity=optional_text("alert_severity", info.get("alert_severity")),
        status=optional_text("alert_status", info.get("alert_status")),
        description=_description(info.get("alert_description")),
    )


def _description(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput(f"Field 'alert_description' must be text, got {kind_of(raw)}.")
    return raw.strip()[:2000] or None


def _read_template_quality(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    template_id, name, language = _template_identity(value)
    quality = read_known_value(
        "new_quality_score", _required(value, "new_quality_score"), model.QualityRating, base.where, warnings
    )
    if value.get("previous_quality_score") is not None:
        read_known_value(
            "previous_quality_score", value["previous_quality_score"], model.QualityRating, base.where, warnings
        )
    _warn_unknown(value, TEMPLATE_IDENTITY_FIELDS | {"new_quality_score", "previous_quality_score"}, base, warnings)
    return TemplateEvent(
        **vars(base), template_id=template_id, name=name, language=language, values={"quality_score": quality}
    )


def _read_capability(value: dict[str, Any], base: Event, warnings: list[Notice]) -> Event:
    values: dict[str, Any] = {}
    for name in ("max_daily_conversations_per_business", "max_daily_conversation_per_phone"):
        if value.get(name) is not None and "messaging_limit" not in values:
            values["messaging_limit"] = read_daily_limit(name, value[name], base.where, warnings)
    for name in ("max_phone_numbers_per_business", "max_phone_numbers_per_waba"):
        if value.get(name) is not None:
            values[name] = read_count(name, value[name])
    if not values:
        raise InvalidInput(
            "carries none of max_daily_conversations_per_business, max_phone_numbers_per_business, "
            "max_phone_numbers_per_waba."
        )
    _warn_unknown(
        value,
        {
            "max_daily_conversations_per_business",
            "max_daily_conversation_per_phone",
            "max_phone_numbers_per_business",
            "max_phone_numbers_per_waba",
        },
        base,
        warnings,
    )
    return CapabilityEvent(**vars(base), values=values)


READERS: dict[str, Callable[[dict[str, Any], Event, list[Notice]], Event]] = {
    "phone_number_quality_update": _read_quality,
    "phone_number_name_update": _read_name,
    "account_update": _read_account,
    "message_template_status_update": _read_template_status,
    "message_template_quality_update": _read_template_quality,
    "business_capability_update": _read_capability,
    "template_category_update": _read_template_category,
    "account_alerts": _read_alert,
}


# --- the plan ----------------------------------------------------------------------------------------------------


def plan_stream(session: Session, plan: ImportPlan, stream: Stream, *, now: datetime, lock: bool) -> None:
    """Apply the events, oldest first, to the fleet held in memory, and turn what moved into the plan."""
    plan.rows_read = stream.changes_read
    plan.skipped += stream.skipped
    plan.warnings += stream.warnings
    plan.errors += stream.errors
    if plan.errors:
        return
    state = _FleetState(session, stream.events, lock=lock)
    for event in sorted(stream.events, key=lambda e: (e.time, e.order)):
        if isinstance(event, QualityEvent | NameEvent):
            state.number_event(event, plan)
        elif isinstance(event, AccountEvent):
            state.account_event(event, plan)
        elif isinstance(event, TemplateEvent):
            state.template_event(event, plan)
        elif isinstance(event, CapabilityEvent):
            state.capability_event(event, plan)
        elif isinstance(event, AlertEvent):
            state.alert_event(event, plan)
    state.finish(plan, now)


Health = dict[str, str]


class _FleetState:
    """The WABAs, numbers, portfolios and templates the stream mentions, with their field clocks."""

    def __init__(self, session: Session, events: list[Event], *, lock: bool) -> None:
        self.session = session
        phones = {e.e164 for e in events if isinstance(e, QualityEvent | NameEvent)}
        self.number_rows = {row.e164: row for row in fleet.load_numbers(session, phones).values()}
        waba_ids = {e.waba_id for e in events} | {
            row.group_waba_meta_id for row in self.number_rows.values() if row.group_waba_meta_id
        }
        self.wabas = fleet.load_wabas(session, waba_ids, lock=lock)
        self.numbers: dict[int, Tracked] = {}
        self.portfolios: dict[int, Tracked] = {}
        self.waba_objects: dict[int, Tracked] = {}
        self.templates: dict[int, Tracked] = {}
        self.new_templates: dict[tuple[int, str, str], Tracked] = {}
        self._load_tracked()
        self.alerts = fleet.recorded_alerts(session, {e.waba_id for e in events if isinstance(e, AlertEvent)})
        self.history: dict[int, list[tuple[datetime, Health]]] = {}

    def _load_tracked(self) -> None:
        rows = list(self.number_rows.values())
        clocks = fleet.load_clocks(self.session, "phone_number", [row.id for row in rows])
        for row in rows:
            self.numbers[row.id] = Tracked("phone_number", row.id, row.e164, dict(row.values), clocks.get(row.id, {}))
        portfolio_ids = {waba.portfolio_id for waba in self.wabas.values()}
        clocks = fleet.load_clocks(self.session, "portfolio", portfolio_ids)
        for portfolio_id, (meta_id, values) in fleet.load_portfolios(self.session, portfolio_ids).items():
            self.portfolios[portfolio_id] = Tracked(
                "portfolio", portfolio_id, meta_id, values, clocks.get(portfolio_id, {})
            )
        clocks = fleet.load_clocks(self.session, "waba", [waba.id for waba in self.wabas.values()])
        for waba in self.wabas.values():
            self.waba_objects[waba.id] = Tracked(
                "waba",
                waba.id,
                waba.meta_waba_id,
                waba.values,
                clocks.get(waba.id, {}),
            )
        templates = fleet.load_templates(self.session, [waba.id for waba in self.wabas.values()])
        clocks = fleet.load_clocks(self.session, "template", [t.id for t in templates])
        self.template_by_id: dict[tuple[int, str], Tracked] = {}
        self.template_by_name: dict[tuple[int, str, str], Tracked] = {}
        for t in templates:
            tracked = Tracked("template", t.id, f"{t.name} ({t.language})", dict(t.values), clocks.get(t.id, {}))
            self.templates[t.id] = tracked
            self._index_template(t.waba_id, t.name, t.language, t.values.get("meta_template_id"), tracked)

    # --- numbers --------------------------------------------------------------------------------------------

    def number_event(self, event: QualityEvent | NameEvent, plan: ImportPlan) -> None:
        row = self.number_rows.get(event.e164)
        if row is None:
            plan.skipped.append(Notice(event.where, f"number {event.e164} is not in the fleet."))
            return
        if row.group_waba_meta_id and row.group_waba_meta_id != event.waba_id:
            plan.warnings.append(
                Notice(
                    event.where,
                    f"{event.e164} is in WABA {row.group_waba_meta_id} in the fleet, "
                    f"but Meta reports it under WABA {event.waba_id}.",
                )
            )
        number = self.numbers[row.id]
        health = _carried(event)
        carried: dict[str, str | None] = dict(health)
        if isinstance(event, NameEvent) and event.decision == "APPROVED" and number.values.get("name_rejection_reason"):
            carried["name_rejection_reason"] = None  # an approved name has no rejection reason any more
        outcomes = {name: number.offer(name, value, event.time, event.where) for name, value in carried.items()}
        if isinstance(event, QualityEvent) and event.portfolio_limit is not None:
            portfolio = self._portfolio_of(event.waba_id, row)
            if portfolio is not None:
                outcomes["portfolio messaging_limit"] = portfolio.offer(
                    "messaging_limit", event.portfolio_limit, event.time, event.where
                )
        if not outcomes:
            label = event.event if isinstance(event, QualityEvent) else event.decision
            plan.skipped.append(Notice(event.where, f"event '{label}' carries nothing to import."))
            return
        kept = self._health_history(number, event, health, outcomes, plan) if isinstance(event, QualityEvent) else ""
        _report_outcomes(event, outcomes, plan, kept)

    def _portfolio_of(self, waba_id: str, row: fleet.NumberRow | None = None) -> Tracked | None:
        waba = self.wabas.get(waba_id) or (self.wabas.get(row.group_waba_meta_id or "") if row else None)
        return self.portfolios.get(waba.portfolio_id) if waba else None

    def _health_history(
        self,
        number: Tracked,
        event: QualityEvent,
        carried: dict[str, str],
        outcomes: dict[str, Offer],
        plan: ImportPlan,
    ) -> str:
        """Every health event that moved a clock is a history row at its own time; a late one too, once."""
        health = {name: outcomes[name] for name in carried}
        if not health:
            return ""
        assert number.object_id is not None
        applied = Offer.APPLIED in health.values()
        stale = Offer.STALE in health.values()
        if not applied and not stale:
            return ""
        base = self._health_at(number, event.time) if stale else {n: number.values[n] for n in fleet.HEALTH_FIELDS}
        values = base | carried
        if not applied and self._in_history(number.object_id, event.time, carried):
            return " (already in history)"
        plan.snapshots.append(
            HealthSnapshot(
                number.key,
                number.object_id,
                event.time,
                values["quality_rating"],
                values["messaging_limit_tier"],
                values["status"],
                SOURCE if applied else LATE_SOURCE,
                event.where,
            )
        )
        self.history.setdefault(number.object_id, []).append((event.time, values))
        return "" if applied else " (kept in history)"

    def _stored_history(self, number_id: int, at: datetime) -> list[tuple[datetime, Health]]:
        rows = fleet.snapshots_up_to(self.session, number_id, at)
        stored = [(recorded_at, dict(zip(fleet.HEALTH_FIELDS, values, strict=True))) for recorded_at, *values in rows]
        planned = [(t, values) for t, values in self.history.get(number_id, []) if t <= at]
        return stored + planned

    def _health_at(self, number: Tracked, at: datetime) -> Health:
        """The number's health as history knows it at `at` (before this event), else as stored."""
        assert number.object_id is not None
        known = self._stored_history(number.object_id, at)
        if not known:
            return {name: number.original[name] for name in fleet.HEALTH_FIELDS}
        return max(known, key=lambda item: item[0])[1]

    def _in_history(self, number_id: int, at: datetime, carried: dict[str, str]) -> bool:
        return any(
            t == at and all(values.get(name) == value for name, value in carried.items())
            for t, values in self._stored_history(number_id, at)
        )

    # --- WABAs, portfolios, templates -----------------------------------------------------------------------

    def account_event(self, event: AccountEvent, plan: ImportPlan) -> None:
        waba = self.wabas.get(event.waba_id)
        if waba is None:
            plan.skipped.append(Notice(event.where, f"WABA {event.waba_id} is not in the fleet."))
            return
        carried: dict[str, str | None] = {
            name: value for name, value in (("status", event.status), ("ban_state", event.ban_state)) if value
        }
        carried |= event.values
        if not carried:
            plan.skipped.append(Notice(event.where, f"account event ({event.detail}) changes nothing tracked here."))
            if "violation" in event.detail:
                plan.warnings.append(Notice(event.where, f"Meta reports for WABA '{waba.name}': {event.detail}."))
            return
        if event.values.get("violation_type") or event.values.get("restrictions"):
            plan.warnings.append(Notice(event.where, f"Meta reports for WABA '{waba.name}': {event.detail}."))
        tracked = self.waba_objects[waba.id]
        outcomes = {name: tracked.offer(name, value, event.time, event.where) for name, value in carried.items()}
        _report_outcomes(event, outcomes, plan)

    def alert_event(self, event: AlertEvent, plan: ImportPlan) -> None:
        """Recorded once: a replayed delivery (same WABA, entity, alert type and time) adds nothing."""
        key = (event.waba_id, event.entity_id, event.alert_type, event.time)
        if key in self.alerts:
            plan.skipped.append(Notice(event.where, "duplicate: this alert is already recorded."))
            return
        self.alerts.add(key)
        plan.account_alerts.append(
            RecordAlert(
                event.waba_id,
                event.entity_type,
                event.entity_id,
                event.alert_type,
                event.severity,
                event.status,
                event.description,
                event.time,
                event.where,
            )
        )
        if event.severity == "CRITICAL" or event.alert_type.endswith(("REJECTED", "FAILED", "LOST")):
            plan.warnings.append(
                Notice(event.where, f"Meta alert {event.alert_type} on {event.entity_type} {event.entity_id}.")
            )

    def capability_event(self, event: CapabilityEvent, plan: ImportPlan) -> None:
        portfolio = self._portfolio_of(event.waba_id)
        if portfolio is None:
            plan.skipped.append(Notice(event.where, f"WABA {event.waba_id} is not in the fleet."))
            return
        outcomes = {name: portfolio.offer(name, value, event.time, event.where) for name, value in event.values.items()}
        _report_outcomes(event, outcomes, plan)

    def template_event(self, event: TemplateEvent, plan: ImportPlan) -> None:
        waba = self.wabas.get(event.waba_id)
        if waba is None:
            plan.skipped.append(Notice(event.where, f"WABA {event.waba_id} is not in the fleet."))
            return
        if not event.values:
            plan.skipped.append(Notice(event.where, event.note or "the event carries nothing to import."))
            return
        template = self._template(waba.id, event)
        if template is None:
            plan.skipped.append(
                Notice(event.where, f"template {event.template_id} is not in the fleet and the event does not name it.")
            )
            return
        if event.template_id and not template.values.get("meta_template_id"):
            template.values["meta_template_id"] = event.template_id
            self.template_by_id[(waba.id, event.template_id)] = template
        outcomes = {name: template.offer(name, value, event.time, event.where) for name, value in event.values.items()}
        _report_outcomes(event, outcomes, plan)

    def _template(self, waba_id: int, event: TemplateEvent) -> Tracked | None:
        """The template by Meta id, else by name and language; a new one when the event names it."""
        found = (self.template_by_id.get((waba_id, event.template_id)) if event.template_id else None) or (
            self.template_by_name.get((waba_id, event.name, event.language)) if event.name and event.language else None
        )
        if found is not None or event.name is None or event.language is None:
            return found
        values = {
            "meta_template_id": event.template_id,
            "category": None,
            "status": NEW_TEMPLATE_STATUS,
            "quality_score": "UNKNOWN",
        }
        tracked = Tracked("template", None, f"{event.name} ({event.language})", values)
        tracked.original = {}  # everything about a new template is a change
        self.new_templates[(waba_id, event.name, event.language)] = tracked
        self._index_template(waba_id, event.name, event.language, event.template_id, tracked)
        return tracked

    def _index_template(self, waba_id: int, name: str, language: str, meta_id: str | None, tracked: Tracked) -> None:
        self.template_by_name[(waba_id, name, language)] = tracked
        if meta_id:
            self.template_by_id[(waba_id, meta_id)] = tracked

    # --- the plan -------------------------------------------------------------------------------------------

    def finish(self, plan: ImportPlan, now: datetime) -> None:
        """Every tracked object the events changed becomes an update of the plan, with the event times it keeps."""
        plan.updates += self._number_updates(now)
        plan.updates += self._portfolio_updates()
        plan.updates += [
            waba.as_update({"status_event_time": waba.latest_clock(fleet.WABA_FIELDS)})
            for waba in self.waba_objects.values()
            if waba.touched
        ]
        plan.updates += self._template_updates(now)
        plan.templates += self._new_templates()

    def _number_updates(self, now: datetime) -> list[UpdateObject]:
        """Changed numbers, each with the time of the health or name event that last set its fields."""
        updates = []
        for number in self.numbers.values():
            if number.touched:
                extra: dict[str, Any] = {}
                if number.changes():
                    extra["updated_at"] = now
                for column, fields in (
                    ("health_event_time", fleet.HEALTH_FIELDS),
                    ("name_event_time", fleet.NAME_FIELDS),
                ):
                    if any(name in dict(number.clock_changes()) for name in fields):
                        extra[column] = number.latest_clock(fields)
                updates.append(number.as_update(extra))
        return updates

    def _portfolio_updates(self) -> list[UpdateObject]:
        updates = []
        for portfolio in self.portfolios.values():
            if portfolio.touched:
                extra = (
                    {"limit_event_time": portfolio.clocks["messaging_limit"]}
                    if "messaging_limit" in dict(portfolio.clock_changes())
                    else {}
                )
                updates.append(portfolio.as_update(extra))
        return updates

    def _template_updates(self, now: datetime) -> list[UpdateObject]:
        """Changed templates, with their latest event time and, when their status moved, since when it holds."""
        updates = []
        for template in self.templates.values():
            if template.touched:
                extra = {"event_time": template.latest_clock(template.clocks)}
                if template.changes():
                    extra["updated_at"] = now
                if any(change.field == "status" for change in template.changes()):
                    extra["status_since"] = template.clocks["status"]
                updates.append(template.as_update(extra))
        return updates

    def _new_templates(self) -> list[CreateTemplate]:
        """Templates the events named that the fleet does not hold yet, under their WABA."""
        created = []
        for (waba_id, name, language), template in self.new_templates.items():
            owner = next(w for w in self.wabas.values() if w.id == waba_id)
            values = dict(template.values) | {
                "name": name,
                "language": language,
                "event_time": template.latest_clock(template.clocks),
                "status_since": template.clocks.get("status"),
            }
            created.append(
                CreateTemplate(
                    waba_id,
                    owner.meta_waba_id,
                    template.key,
                    tuple(sorted(values.items())),
                    template.clock_changes(),
                    template.where(),
                )
            )
        return created


def _carried(event: QualityEvent | NameEvent) -> dict[str, str]:
    pairs: tuple[tuple[str, str | None], ...]
    if isinstance(event, QualityEvent):
        pairs = (("status", event.status), ("messaging_limit_tier", event.tier))
    else:
        pairs = (
            ("name_status", event.name_status),
            ("display_name", event.display_name),
            ("name_rejection_reason", event.rejection_reason),
        )
    return {name: value for name, value in pairs if value is not None}


def _report_outcomes(event: Event, outcomes: dict[str, Offer], plan: ImportPlan, kept: str = "") -> None:
    results = set(outcomes.values())
    if Offer.APPLIED in results:
        return
    if results == {Offer.SAME}:
        plan.skipped.append(Notice(event.where, "duplicate: this event is already imported."))
        return
    stale = ", ".join(name for name, outcome in outcomes.items() if outcome is Offer.STALE)
    plan.skipped.append(
        Notice(event.where, f"older than the stored state ({stale} set by a newer event): not applied{kept}.")
    )
