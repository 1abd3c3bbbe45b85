"""A WABA's `message_templates` as the Graph API lists them (`GET /{waba-id}/message_templates`, or the edge of a
WABA read with it): known templates take Meta's status, category, quality, previous category and rejection
reason; missing ones are created. Part of a listing import (`meta_numbers`), so a WABA's numbers and templates
are written in one transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core import model
from core.errors import InvalidInput
from core.imports import fleet
from core.imports.reading import kind_of, optional_text, read_known_value, read_meta_id, read_meta_name, unknown_keys
from core.imports.report import CreateTemplate, ImportPlan, Notice, Problem

TEMPLATE_NODE_FIELDS = {
    "id",
    "name",
    "language",
    "status",
    "category",
    "previous_category",
    "rejected_reason",
    "quality_score",
    "components",
    "parameter_format",
    "sub_category",
    "correct_category",
    "cta_url_link_tracking_opted_out",
    "library_template_name",
    "message_send_ttl_seconds",
}
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class ListedTemplate:
    where: str
    meta_waba_id: str
    meta_id: str | None
    name: str
    language: str
    values: dict[str, Any]


def read_templates(
    waba_id: str, page: object, where: str, warnings: list[Notice]
) -> tuple[list[ListedTemplate], list[Problem]]:
    """The templates of one `message_templates` page; every malformed template is a problem naming it."""
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        got = "no 'data' list" if isinstance(page, dict) else kind_of(page)
        return [], [Problem(where, f'expected a Graph API page of templates {{"data": [...]}}, got {got}.')]
    templates: list[ListedTemplate] = []
    problems: list[Problem] = []
    unknown: set[str] = set()
    for index, item in enumerate(page["data"]):
        row_where = f"{where}, message_templates[{index}]"
        try:
            templates.append(_read_template(waba_id, item, row_where, warnings))
        except InvalidInput as error:
            problems.append(Problem(row_where, str(error)))
            continue
        unknown.update(unknown_keys(item, TEMPLATE_NODE_FIELDS))
    if unknown:
        warnings.append(Notice(where, f"template fields not imported: {', '.join(sorted(unknown))}."))
    return templates, problems


def _read_template(waba_id: str, item: object, where: str, warnings: list[Notice]) -> ListedTemplate:
    if not isinstance(item, dict):
        raise InvalidInput(f"expected a template object, got {kind_of(item)}.")
    meta_id = read_meta_id("id", item["id"]) if item.get("id") is not None else None
    if item.get("name") is None:
        raise InvalidInput("missing field 'name'.")
    name = read_meta_name("name", item["name"], where, warnings)
    language = item.get("language")
    if not isinstance(language, str) or not _LANGUAGE.match(language.strip()):
        raise InvalidInput(f"Field 'language' is not a language code: {str(language)[:20]!r}.")
    values: dict[str, Any] = {}
    if item.get("status") is not None:
        values["status"] = read_known_value("status", item["status"], model.TemplateStatus, where, warnings)
    for field_name in ("category", "previous_category"):
        if item.get(field_name) is not None:
            values[field_name] = read_known_value(field_name, item[field_name], model.TemplateCategory, where, warnings)
    quality = item.get("quality_score")
    if isinstance(quality, dict) and quality.get("score") is not None:
        values["quality_score"] = read_known_value(
            "quality_score.score", quality["score"], model.QualityRating, where, warnings
        )
    reason = optional_text("rejected_reason", item.get("rejected_reason"))
    if "rejected_reason" in item:
        values["status_reason"] = None if reason in (None, "NONE") else reason
    if meta_id is not None:
        values["meta_template_id"] = meta_id
    return ListedTemplate(where, waba_id, meta_id, name, language.strip(), values)


def plan_templates(
    session: Session,
    plan: ImportPlan,
    templates: list[ListedTemplate],
    wabas: dict[str, fleet.WabaRow],
    now: datetime,
) -> None:
    """A listing is Meta's state at import time: a field that differs takes its value, dated now."""
    waba_ids = {wabas[t.meta_waba_id].id for t in templates if t.meta_waba_id in wabas}
    stored = fleet.load_templates(session, waba_ids)
    clocks = fleet.load_clocks(session, "template", [row.id for row in stored])
    by_id = {(row.waba_id, row.values["meta_template_id"]): row for row in stored if row.values["meta_template_id"]}
    by_name = {(row.waba_id, row.name, row.language): row for row in stored}
    seen: dict[tuple[str, str, str], str] = {}
    for listed in templates:
        waba = wabas.get(listed.meta_waba_id)
        if waba is None:
            continue
        earlier = seen.setdefault((listed.meta_waba_id, listed.name, listed.language), listed.where)
        if earlier != listed.where:
            plan.errors.append(
                Problem(
                    listed.where, f"template {listed.name} ({listed.language}) is listed twice (also at {earlier})."
                )
            )
            continue
        row = (by_id.get((waba.id, listed.meta_id)) if listed.meta_id else None) or by_name.get(
            (waba.id, listed.name, listed.language)
        )
        if row is None:
            _plan_new_template(plan, waba, listed, now)
            continue
        tracked = fleet.Tracked(
            "template", row.id, f"{row.name} ({row.language})", dict(row.values), clocks.get(row.id, {})
        )
        for name, value in listed.values.items():
            if tracked.values.get(name) != value and tracked.offer(name, value, now, listed.where) is fleet.Offer.STALE:
                plan.skipped.append(
                    Notice(listed.where, f"{name} '{value}' not taken: a webhook event newer than this import set it.")
                )
        changes = tracked.changes()
        if tracked.touched:
            extra: dict[str, Any] = {"event_time": tracked.latest_clock(tracked.clocks)}
            if changes:
                extra["updated_at"] = now
            if any(change.field == "status" for change in changes):
                extra["status_since"] = now
            plan.updates.append(tracked.as_update(extra, changes))


def _plan_new_template(plan: ImportPlan, waba: fleet.WabaRow, listed: ListedTemplate, now: datetime) -> None:
    values: dict[str, Any] = {
        "meta_template_id": None,
        "category": None,
        "status": "PENDING",
        "quality_score": "UNKNOWN",
        "previous_category": None,
        "status_reason": None,
        **listed.values,
        "name": listed.name,
        "language": listed.language,
        "event_time": now,
        "status_since": now,
    }
    clocks = tuple((name, now) for name in sorted(listed.values) if name in fleet.TEMPLATE_FIELDS)
    plan.templates.append(
        CreateTemplate(
            waba.id,
            waba.meta_waba_id,
            f"{listed.name} ({listed.language})",
            tuple(sorted(values.items())),
            clocks,
            listed.where,
        )
    )
