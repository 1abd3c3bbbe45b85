"""Graph API phone-number listings (`GET /{waba-id}/phone_numbers`): create missing numbers, update known ones.

Accepted files (JSON, UTF-8):
- one page, as Meta returns it: `{"data": [...], "paging": {...}}` (the WABA is named with --waba);
- several pages: a JSON array of pages, or JSON Lines with one page per line (same WABA);
- several WABAs: an object mapping each WABA id to its page or array of pages: `{"102290129340398": {"data": …}}`.

Numbers are matched by Meta phone-number id when the fleet knows it, else by E.164 read from
`display_phone_number` ("+1 631-555-5555"). A field Meta leaves out keeps its stored value; an unknown enumerated
value is stored as-is and reported.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core import model
from core.errors import InvalidInput
from core.imports import fleet
from core.imports.meta_templates import ListedTemplate, plan_templates, read_templates
from core.imports.reading import (
    Document,
    clean_imported_name,
    graph_api_error,
    kind_of,
    known_names,
    parse_json_documents,
    quick_e164,
    read_known_value,
    read_meta_id,
    read_meta_name,
    unknown_keys,
)
from core.imports.report import CreateNumber, HealthSnapshot, ImportPlan, Notice, Problem

KIND = "meta-numbers"
SOURCE = "meta-listing"

KNOWN_VALUES: dict[str, Any] = {
    **model.NUMBER_ENUMS,
    "code_verification_status": ("VERIFIED", "NOT_VERIFIED", "EXPIRED"),
    "platform_type": ("CLOUD_API", "ON_PREMISE", "NOT_APPLICABLE"),
    "account_mode": ("LIVE", "SANDBOX"),
}
IMPORTED_FIELDS = {
    "id",
    "display_phone_number",
    "verified_name",
    "status",
    "quality_rating",
    "messaging_limit_tier",
    "whatsapp_business_manager_messaging_limit",
    "name_status",
    "code_verification_status",
    "platform_type",
    "account_mode",
    "throughput",
    "health_status",
    "is_official_business_account",
    "last_onboarded_time",
}
# Fields of Meta's phone-number node this fleet does not keep: read without a warning.
KNOWN_UNUSED_FIELDS = {
    "is_pin_enabled",
    "is_on_biz_app",
    "is_preverified_number",
    "new_name_status",
    "new_certificate",
    "certificate",
    "webhook_configuration",
    "quality_score",
    "search_visibility",
    "conversational_automation",
    "eligibility_for_api_business_global_search",
    "messaging_limit",
    "country_code",
    "country_dial_code",
    "official_business_account",
}
ALL_FIELDS = frozenset(IMPORTED_FIELDS | KNOWN_UNUSED_FIELDS)


ENUM_KNOWN = tuple(
    (name, known_names(KNOWN_VALUES[name]))
    for name in (
        "status",
        "quality_rating",
        "messaging_limit_tier",
        "name_status",
        "code_verification_status",
        "platform_type",
        "account_mode",
    )
)
THROUGHPUT_KNOWN = known_names(KNOWN_VALUES["throughput_level"])
HEALTH_KNOWN = known_names(("AVAILABLE", "LIMITED", "BLOCKED"))
QUALITY_KNOWN = known_names(KNOWN_VALUES["quality_rating"])
TIERS_KNOWN = known_names(model.MessagingLimitTier)
PAGE_KEYS = {"data", "paging", "summary"}


@dataclass(slots=True)
class ListedNumber:
    where: str
    meta_waba_id: str
    e164: str
    meta_id: str | None
    values: dict[str, str]
    portfolio_limit: str | None
    unknown_fields: tuple[str, ...] = ()
    raw_phone: str = ""
    checked: bool = True  # False: e164 read by `quick_e164`, to be checked unless it matches a stored number


@dataclass
class Listing:
    numbers: list[ListedNumber] = field(default_factory=list)
    complete_wabas: set[str] = field(default_factory=set)
    incomplete_wabas: set[str] = field(default_factory=set)
    templates: list[ListedTemplate] = field(default_factory=list)  # WABAs read with their message_templates
    limits: dict[str, Counter[str]] = field(default_factory=dict)  # shared limits reported, per WABA
    last_limit: dict[str, tuple[str, str]] = field(default_factory=dict)  # per WABA: (where, value) read last
    warnings: list[Notice] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


def parse_listing(text: str, waba: str | None) -> Listing:
    """Read and check the whole listing (no database): every problem is reported with where it is."""
    listing = Listing()
    documents, listing.errors = parse_json_documents(text)
    if listing.errors:
        return listing
    try:
        waba_id = read_meta_id("--waba", waba) if waba else None
    except InvalidInput as error:
        listing.errors.append(Problem("--waba", str(error)))
        return listing
    for waba_key, pages in _pages_by_waba(documents, waba_id, listing):
        _read_pages(waba_key, pages, listing)
    unknown = Counter(name for number in listing.numbers for name in number.unknown_fields)
    if unknown:
        fields_text = ", ".join(f"'{name}' ({count} row(s))" for name, count in sorted(unknown.items()))
        listing.warnings.append(Notice("file", f"unknown fields not imported: {fields_text}."))
    return listing


def _pages_by_waba(
    documents: list[Document], waba_id: str | None, listing: Listing
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """[(WABA id, [(where, page), …])] for each accepted file shape."""
    refusal = _not_a_listing(documents)
    if refusal is not None:
        listing.errors.append(refusal)
        return []
    single = documents[0].value if len(documents) == 1 and documents[0].line is None else None
    try:
        nested = _nested_listings(single)
    except InvalidInput as error:
        listing.errors.append(Problem("file", str(error)))
        return []
    if nested is not None:
        shaped = _with_waba_option(nested, waba_id, listing)
        if shaped:
            for meta_id, page in _nested_templates(single):
                templates, problems = read_templates(meta_id, page, f"WABA {meta_id}", listing.warnings)
                listing.templates += templates
                listing.errors += problems
        return shaped
    if isinstance(single, dict) and "data" not in single:
        if waba_id is not None:
            listing.errors.append(Problem("--waba", "the file maps WABA ids to listings; leave out --waba."))
            return []
        shaped = []
        for key, value in single.items():
            try:
                meta_id = read_meta_id("WABA id", key)
            except InvalidInput as error:
                listing.errors.append(Problem(f"key {key!r}", f"{error} (expected a page with 'data', or WABA ids)."))
                continue
            pages = value if isinstance(value, list) else [value]
            shaped.append((meta_id, [(f"WABA {meta_id}, page {i + 1}", page) for i, page in enumerate(pages)]))
        return shaped
    if waba_id is None:
        listing.errors.append(
            Problem("--waba", "name the WABA this listing belongs to (--waba ID), or map WABA ids to listings.")
        )
        return []
    if isinstance(single, list):
        return [(waba_id, [(f"page {i + 1}", page) for i, page in enumerate(single)])]
    return [(waba_id, [(document.at() if document.line else "page 1", document.value) for document in documents])]


def _not_a_listing(documents: list[Document]) -> Problem | None:
    """A file that is plainly something else than a listing: a saved Graph API error, or one phone number."""
    for document in documents:
        error = graph_api_error(document.value)
        if error is not None:
            return Problem(document.at(), f"this is an error from the Graph API, not a listing: {error}.")
        if isinstance(document.value, dict) and "display_phone_number" in document.value:
            return Problem(
                document.at(),
                "this is one phone number, not a WABA's listing; save the answer of GET /{waba-id}/phone_numbers.",
            )
    return None


def _nested_listings(value: object) -> list[tuple[str, list[tuple[str, Any]]]] | None:
    """The listings inside WABAs read with their `phone_numbers` field: one WABA (GET /{waba-id}?fields=
    phone_numbers{…}) or a page of them (GET /{business-id}/owned_whatsapp_business_accounts?fields=…); else None."""
    if isinstance(value, dict) and _is_waba_node(value) and "data" not in value:
        wabas = [value]
    elif (
        isinstance(value, dict)
        and isinstance(value.get("data"), list)
        and value["data"]
        and all(_is_waba_node(item) for item in value["data"])
    ):
        wabas = value["data"]
    else:
        return None
    nested = []
    for index, waba in enumerate(wabas):
        try:
            meta_id = read_meta_id("WABA id", waba.get("id"))
        except InvalidInput as error:
            raise InvalidInput(f"{'' if len(wabas) == 1 else f'data[{index}]: '}{error}") from None
        # Graph leaves out an edge with nothing in it: a WABA without 'phone_numbers' has no number.
        nested.append((meta_id, [(f"WABA {meta_id}, page 1", waba.get("phone_numbers", {"data": []}))]))
    return nested


def _is_waba_node(item: object) -> bool:
    """A WABA read with its edges (phone_numbers, message_templates) or by name; not a phone-number node, nor a
    template (which has a name too, and a language)."""
    return (
        isinstance(item, dict)
        and "display_phone_number" not in item
        and "language" not in item
        and (
            isinstance(item.get("phone_numbers"), dict)
            or isinstance(item.get("message_templates"), dict)
            or "name" in item
        )
    )


def _nested_templates(value: object) -> list[tuple[str, Any]]:
    """(WABA id, its `message_templates` page) of each WABA read with that edge."""
    if not isinstance(value, dict):
        return []
    wabas = value["data"] if isinstance(value.get("data"), list) else [value]
    return [
        (str(waba.get("id")), waba["message_templates"])
        for waba in wabas
        if isinstance(waba, dict) and "message_templates" in waba
    ]


def _with_waba_option(
    nested: list[tuple[str, list[tuple[str, Any]]]], waba_id: str | None, listing: Listing
) -> list[tuple[str, list[tuple[str, Any]]]]:
    named = [meta_id for meta_id, _ in nested]
    if waba_id is None or named == [waba_id]:
        return nested
    if len(named) == 1:
        message = f"the file is the listing of WABA {named[0]}, not of {waba_id}; leave out --waba."
    else:
        message = "the file maps WABA ids to listings; leave out --waba."
    listing.errors.append(Problem("--waba", message))
    return []


def _read_pages(waba_id: str, pages: list[tuple[str, Any]], listing: Listing) -> None:
    complete = True
    limits = listing.limits.setdefault(waba_id, Counter())
    for where, page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            got = "no 'data' list" if isinstance(page, dict) else kind_of(page)
            listing.errors.append(Problem(where, f'expected a Graph API page {{"data": [...]}}, got {got}.'))
            continue
        extra = unknown_keys(page, PAGE_KEYS)
        if extra:
            listing.warnings.append(Notice(where, f"keys ignored: {', '.join(extra)}."))
        paging = page.get("paging")
        complete = complete and not (isinstance(paging, dict) and paging.get("next"))
        append, warnings = listing.numbers.append, listing.warnings
        for index, item in enumerate(page["data"]):
            row_where = f"{where}, data[{index}]"
            try:
                number = _read_number(waba_id, item, row_where, warnings)
            except InvalidInput as error:
                listing.errors.append(Problem(row_where, str(error)))
                continue
            append(number)
            if number.portfolio_limit is not None:
                limits[number.portfolio_limit] += 1
                listing.last_limit[waba_id] = (row_where, number.portfolio_limit)
    (listing.complete_wabas if complete else listing.incomplete_wabas).add(waba_id)


def _read_number(waba_id: str, item: object, where: str, warnings: list[Notice]) -> ListedNumber:
    """One phone-number node: who it is (number and Meta id), then the values Meta reports. Written for 10,000
    rows: values Meta spells as this version knows them take the shortest path; anything else goes through the
    general checks (and their messages)."""
    if not isinstance(item, dict):
        raise InvalidInput(f"expected a phone number object, got {kind_of(item)}.")
    raw_phone, e164, quick, meta_id = _identity(item)
    values = _reported_values(item, where, warnings)
    limit = item.get("whatsapp_business_manager_messaging_limit")
    if limit is not None and (limit.__class__ is not str or limit not in TIERS_KNOWN):
        limit = read_known_value("whatsapp_business_manager_messaging_limit", limit, TIERS_KNOWN, where, warnings)
    unknown = () if ALL_FIELDS.issuperset(item) else tuple(unknown_keys(item, ALL_FIELDS))
    return ListedNumber(where, waba_id, e164, meta_id, values, limit, unknown, raw_phone, quick is None)


def _identity(item: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    """(the number as Meta wrote it, its E.164, that E.164 if read the quick way, the Meta phone-number id)."""
    raw_phone = item.get("display_phone_number")
    if raw_phone.__class__ is not str:
        if raw_phone is None:
            raise InvalidInput("missing field 'display_phone_number'.")
        raise InvalidInput(f"Field 'display_phone_number' must be text, got {kind_of(raw_phone)}.")
    quick = quick_e164(raw_phone)
    e164 = quick or model.normalize_phone_number(raw_phone, strict=False)
    raw_id = item.get("id")
    meta_id = raw_id if raw_id.__class__ is str and raw_id.isdigit() and len(raw_id) <= 32 else None
    if meta_id is None and raw_id is not None:
        meta_id = read_meta_id("id", raw_id)
    return raw_phone, e164, quick, meta_id


def _reported_values(item: dict[str, Any], where: str, warnings: list[Notice]) -> dict[str, str]:
    """The number's fields as the fleet stores them: display name, enumerated values, throughput, asked fields."""
    values: dict[str, str] = {}
    name = item.get("verified_name")
    if name is not None:
        values["display_name"] = read_meta_name("verified_name", name, where, warnings)
    for field_name, known in ENUM_KNOWN:
        value = item.get(field_name)
        if value is None:
            continue
        if value.__class__ is not str or value not in known:
            value = read_known_value(field_name, value, known, where, warnings)
        values[field_name] = value
    if "quality_rating" not in values:
        score = _quality_score(item, where, warnings)
        if score is not None:
            values["quality_rating"] = score
    throughput = item.get("throughput")
    if throughput is not None:
        if not isinstance(throughput, dict) or "level" not in throughput:
            raise InvalidInput("Field 'throughput' must be an object with a 'level'.")
        level = throughput["level"]
        if level.__class__ is not str or level not in THROUGHPUT_KNOWN:
            level = read_known_value("throughput.level", level, THROUGHPUT_KNOWN, where, warnings)
        values["throughput_level"] = level
    if "health_status" in item or "is_official_business_account" in item or "last_onboarded_time" in item:
        _read_asked_fields(item, values, where, warnings)
    return values


def _read_asked_fields(item: dict[str, Any], values: dict[str, Any], where: str, warnings: list[Notice]) -> None:
    """The fields a listing carries only when asked for them (as the pull sync does)."""
    health = item.get("health_status")
    if health is not None:
        values["health_status"], values["health_errors"] = _health_status(health, where, warnings)
    official = item.get("is_official_business_account")
    if official is not None:
        if not isinstance(official, bool):
            raise InvalidInput(f"Field 'is_official_business_account' must be true/false, got {kind_of(official)}.")
        values["is_official_business_account"] = official
    onboarded = item.get("last_onboarded_time")
    if onboarded is not None:
        if not isinstance(onboarded, str) or len(onboarded.strip()) > 40:
            raise InvalidInput(f"Field 'last_onboarded_time' must be a time as text, got {kind_of(onboarded)}.")
        values["last_onboarded_time"] = onboarded.strip()


def _health_status(raw: object, where: str, warnings: list[Notice]) -> tuple[str, str | None]:
    """`health_status`: whether the number can send (AVAILABLE, LIMITED, BLOCKED), and the entities (number, WABA,
    business, app) that limit or block it with their errors, as compact JSON text (None when nothing does)."""
    if not isinstance(raw, dict) or raw.get("can_send_message") is None:
        raise InvalidInput("Field 'health_status' must be an object with 'can_send_message'.")
    overall = read_known_value("health_status.can_send_message", raw["can_send_message"], HEALTH_KNOWN, where, warnings)
    entities = raw.get("entities") or []
    if not isinstance(entities, list) or not all(isinstance(entity, dict) for entity in entities):
        raise InvalidInput("Field 'health_status.entities' must be a list of objects.")
    blocking = []
    for entity in entities:
        errors = entity.get("errors") or []
        if entity.get("can_send_message") in (None, "AVAILABLE") and not errors:
            continue
        if not isinstance(errors, list) or not all(isinstance(error, dict) for error in errors):
            raise InvalidInput("Field 'health_status.entities[].errors' must be a list of objects.")
        blocking.append(
            {
                "entity_type": str(entity.get("entity_type", "")),
                "id": str(entity.get("id", "")),
                "can_send_message": str(entity.get("can_send_message", "")),
                "errors": [
                    {
                        name: error[name]
                        for name in ("error_code", "error_description", "possible_solution")
                        if error.get(name) is not None
                    }
                    for error in errors
                ],
            }
        )
    if not blocking:
        return overall, None
    return overall, json.dumps(blocking, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _quality_score(item: dict[str, Any], where: str, warnings: list[Notice]) -> str | None:
    """The rating inside `quality_score` ({"score": "GREEN", "date": …}), for listings asked for that field only."""
    score = item.get("quality_score")
    if not isinstance(score, dict) or score.get("score") is None:
        return None
    return read_known_value("quality_score.score", score["score"], QUALITY_KNOWN, where, warnings)


# --- the plan ----------------------------------------------------------------------------------------------------


def plan_listing(
    session: Session,
    plan: ImportPlan,
    listing: Listing,
    *,
    group_prefix: str | None,
    now: datetime,
    lock: bool,
) -> None:
    """Compare the listing with the fleet and fill the plan (errors included); nothing is written."""
    plan.rows_read = len(listing.numbers) + len(listing.templates)
    plan.warnings += listing.warnings
    plan.errors += listing.errors
    if not listing.numbers and not listing.complete_wabas:
        return
    try:
        prefix = clean_imported_name("group prefix", group_prefix) if group_prefix else None
    except InvalidInput as error:
        plan.errors.append(Problem("--group-prefix", str(error)))
        return
    wabas = fleet.load_wabas(session, set(listing.limits) | listing.complete_wabas, lock=lock)
    _check_wabas(wabas, listing, plan)
    if plan.errors:
        return
    stored = fleet.load_active_numbers(session, [waba.id for waba in wabas.values()])
    by_e164 = {row.e164: row for row in stored.values()}
    by_meta_id = {row.meta_phone_number_id: row for row in by_e164.values() if row.meta_phone_number_id}
    numbers = _unique_numbers(_resolve_numbers(session, listing.numbers, by_e164, by_meta_id, plan), plan)
    if plan.errors:
        return
    matched, new_groups = _match_listed(numbers, wabas, by_e164, by_meta_id, prefix, plan)
    tracked = _offer_listed_values(session, matched, now, plan)
    _check_caps_and_names(session, wabas, new_groups, plan)
    _plan_portfolio_limits(session, wabas, listing, now, plan)
    _report_missing(wabas, listing, stored, {n.e164 for n in numbers}, plan)
    if listing.templates:
        plan_templates(session, plan, listing.templates, wabas, now)
    if plan.errors:
        return
    _plan_new_groups(wabas, new_groups, tracked, now, plan)
    _plan_number_updates(tracked, now, plan)


NewGroup = tuple[ListedNumber, fleet.NumberRow | None, str]  # listed number, stored row if any, new group's name


def _match_listed(
    numbers: list[ListedNumber],
    wabas: dict[str, fleet.WabaRow],
    by_e164: dict[str, fleet.NumberRow],
    by_meta_id: dict[str, fleet.NumberRow],
    prefix: str | None,
    plan: ImportPlan,
) -> tuple[list[tuple[ListedNumber, fleet.NumberRow]], list[NewGroup]]:
    """Each listed number against the fleet: the stored row it updates, and those that need a new group (a new
    number, or one whose group was archived); a number active in another WABA is an error."""
    matched: list[tuple[ListedNumber, fleet.NumberRow]] = []
    new_groups: list[NewGroup] = []
    for listed in numbers:
        waba = wabas[listed.meta_waba_id]
        row = by_e164.get(listed.e164)
        # The usual case, checked first: a number Meta lists under the WABA the fleet already has it in.
        if (
            row is not None
            and row.group_waba_id == waba.id
            and (listed.meta_id is None or row.meta_phone_number_id in (None, listed.meta_id))
            and (listed.meta_id is None or by_meta_id.get(listed.meta_id, row) is row)
        ):
            matched.append((listed, row))
            continue
        try:
            row = _match(listed, by_e164, by_meta_id)
        except InvalidInput as error:
            plan.errors.append(Problem(listed.where, str(error)))
            continue
        if row is not None and row.group_waba_id is not None and row.group_waba_id != waba.id:
            plan.errors.append(
                Problem(
                    listed.where,
                    f"{row.e164} is already active in WABA '{row.group_waba_name}' ({row.group_waba_meta_id}), "
                    f"subscription group '{row.group_name}'; archive that group first to move it to "
                    f"{waba.meta_waba_id}.",
                )
            )
            continue
        if row is None or row.group_waba_id is None:
            new_groups.append((listed, row, f"{prefix} {listed.e164}" if prefix else listed.e164))
        if row is not None:
            matched.append((listed, row))
    return matched, new_groups


def _resolve_numbers(
    session: Session,
    numbers: list[ListedNumber],
    by_e164: dict[str, fleet.NumberRow],
    by_meta_id: dict[str, fleet.NumberRow],
    plan: ImportPlan,
) -> list[ListedNumber]:
    """Each listed number's E.164, checked by the full parser unless it is one the WABAs already hold; numbers
    outside those WABAs are loaded too (into `by_e164` and `by_meta_id`), so every match can be judged."""
    resolved = []
    outside: list[str] = []
    outside_ids: list[str] = []
    for listed in numbers:
        if not listed.checked and listed.e164 not in by_e164:
            try:
                listed = replace(listed, e164=model.normalize_phone_number(listed.raw_phone, strict=False))
            except InvalidInput as error:
                plan.errors.append(Problem(listed.where, str(error)))
                continue
        resolved.append(listed)
        if listed.e164 not in by_e164:
            outside.append(listed.e164)
        if listed.meta_id is not None and listed.meta_id not in by_meta_id:
            outside_ids.append(listed.meta_id)
    if outside or outside_ids:
        for row in fleet.load_numbers(session, outside, outside_ids).values():
            by_e164[row.e164] = row
            if row.meta_phone_number_id:
                by_meta_id[row.meta_phone_number_id] = row
    return resolved


def _offer_listed_values(
    session: Session, matched: list[tuple[ListedNumber, fleet.NumberRow]], now: datetime, plan: ImportPlan
) -> dict[int, fleet.Tracked]:
    """Track the matched numbers that differ from the listing (with their field clocks); the others stay as they are."""
    differing = [(listed, row) for listed, row in matched if _differs(listed, row)]
    clocks = fleet.load_clocks(session, "phone_number", [row.id for _, row in differing])
    tracked: dict[int, fleet.Tracked] = {}
    for listed, row in differing:
        number = tracked.setdefault(
            row.id, fleet.Tracked("phone_number", row.id, row.e164, dict(row.values), clocks.get(row.id, {}))
        )
        _offer_values(number, listed, now, plan)
    return tracked


def _differs(listed: ListedNumber, row: fleet.NumberRow) -> bool:
    if listed.meta_id and not row.meta_phone_number_id:
        return True
    values = listed.values
    if len(values) == len(fleet.LISTED_FIELDS):  # Meta gave every field: one tuple comparison
        return fleet.listed_values(values) != fleet.stored_listed_values(row)
    if len(values) == len(fleet.USUAL_LISTED_FIELDS) and values.keys() == fleet.USUAL_KEYS:
        return fleet.usual_values(values) != fleet.stored_usual_values(row)  # the usual listing, likewise
    return not values.items() <= row.values.items()


def _check_wabas(wabas: dict[str, fleet.WabaRow], listing: Listing, plan: ImportPlan) -> None:
    for meta_id in sorted(set(listing.limits) | listing.complete_wabas):
        waba = wabas.get(meta_id)
        if waba is None:
            plan.errors.append(
                Problem(f"WABA {meta_id}", "is not in the fleet; add it first (python -m core waba add …).")
            )
        elif waba.state != "active":
            plan.errors.append(Problem(f"WABA {meta_id}", f"'{waba.name}' is archived; numbers cannot be added to it."))


def _unique_numbers(numbers: list[ListedNumber], plan: ImportPlan) -> list[ListedNumber]:
    meta_ids = [listed.meta_id for listed in numbers if listed.meta_id]
    if len({listed.e164 for listed in numbers}) == len(numbers) and len(set(meta_ids)) == len(meta_ids):
        return numbers  # the usual case, checked in two set operations: no number is listed twice
    first_by_e164: dict[str, ListedNumber] = {}
    first_by_id: dict[str, ListedNumber] = {}
    unique = []
    for listed in numbers:
        earlier = first_by_e164.get(listed.e164)
        if earlier is not None:
            plan.errors.append(Problem(listed.where, f"{listed.e164} is listed twice (also at {earlier.where})."))
            continue
        earlier = first_by_id.get(listed.meta_id) if listed.meta_id else None
        if earlier is not None:
            plan.errors.append(
                Problem(
                    listed.where,
                    f"Meta phone-number id {listed.meta_id} is listed twice, as {listed.e164} and as {earlier.e164} "
                    f"(at {earlier.where}).",
                )
            )
            continue
        first_by_e164[listed.e164] = listed
        if listed.meta_id:
            first_by_id[listed.meta_id] = listed
        unique.append(listed)
    return unique


def _match(
    listed: ListedNumber, by_e164: dict[str, fleet.NumberRow], by_meta_id: dict[str, fleet.NumberRow]
) -> fleet.NumberRow | None:
    by_number = by_e164.get(listed.e164)
    by_id = by_meta_id.get(listed.meta_id) if listed.meta_id else None
    if by_id is not None and by_number is not None and by_id.id != by_number.id:
        raise InvalidInput(
            f"Meta phone-number id {listed.meta_id} belongs to {by_id.e164} in the fleet, "
            f"but {listed.e164} is another stored number."
        )
    if by_id is not None and by_number is None:
        raise InvalidInput(
            f"Meta phone-number id {listed.meta_id} is {by_id.e164} in the fleet, but Meta lists it as {listed.e164}."
        )
    stored_id = by_number.meta_phone_number_id if by_number else None
    if by_number is not None and stored_id and listed.meta_id and stored_id != listed.meta_id:
        raise InvalidInput(
            f"{listed.e164} has Meta phone-number id {stored_id} in the fleet; the listing says {listed.meta_id}."
        )
    return by_number


def _offer_values(number: fleet.Tracked, listed: ListedNumber, now: datetime, plan: ImportPlan) -> None:
    """A listing is what Meta shows at import time: a field that differs takes the value, dated now."""
    values = dict(listed.values)
    if listed.meta_id and not number.values.get("meta_phone_number_id"):
        values["meta_phone_number_id"] = listed.meta_id
    for name, value in values.items():
        if number.values.get(name) == value:
            continue
        if number.offer(name, value, now, listed.where) is fleet.Offer.STALE:
            plan.skipped.append(
                Notice(listed.where, f"{name} '{value}' not taken: a webhook event newer than this import set it.")
            )


def _check_caps_and_names(
    session: Session,
    wabas: dict[str, fleet.WabaRow],
    new_groups: list[tuple[ListedNumber, fleet.NumberRow | None, str]],
    plan: ImportPlan,
) -> None:
    added = Counter(listed.meta_waba_id for listed, _, _ in new_groups)
    for meta_id, count in sorted(added.items()):
        waba = wabas[meta_id]
        if not model.numbers_fit(waba.active_numbers, count):
            plan.errors.append(
                Problem(
                    f"WABA {meta_id}",
                    f"'{waba.name}' has {waba.active_numbers} active numbers and the listing adds {count}: "
                    f"{waba.active_numbers + count} would exceed the maximum of {model.MAX_NUMBERS_PER_WABA}. "
                    "Archive subscription groups first; nothing was imported.",
                )
            )
    workspace_of = {listed.e164: wabas[listed.meta_waba_id].workspace_id for listed, _, _ in new_groups}
    taken = fleet.taken_group_names(session, workspace_of.values(), [name for _, _, name in new_groups])
    for listed, _, name in new_groups:
        if (workspace_of[listed.e164], name) in taken:
            workspace = wabas[listed.meta_waba_id].workspace
            plan.errors.append(
                Problem(listed.where, f"workspace '{workspace}' already has an active subscription group '{name}'.")
            )


def _plan_portfolio_limits(
    session: Session, wabas: dict[str, fleet.WabaRow], listing: Listing, now: datetime, plan: ImportPlan
) -> None:
    """`whatsapp_business_manager_messaging_limit` is the portfolio's shared limit: one value per portfolio."""
    reported: dict[int, Counter[str]] = {}
    last: dict[int, tuple[str, str]] = {}
    for meta_id, limits in listing.limits.items():
        if limits:
            portfolio_id = wabas[meta_id].portfolio_id
            reported.setdefault(portfolio_id, Counter()).update(limits)
            last[portfolio_id] = listing.last_limit[meta_id]
    if not reported:
        return
    portfolios = fleet.load_portfolios(session, reported)
    clocks = fleet.load_clocks(session, "portfolio", reported)
    for portfolio_id, limits in sorted(reported.items()):
        meta_id, values = portfolios[portfolio_id]
        where, limit = last[portfolio_id]
        if len(limits) > 1:
            shown = ", ".join(f"{value} ({count})" for value, count in sorted(limits.items(), key=str))
            plan.warnings.append(
                Notice(f"portfolio {meta_id}", f"numbers report different shared limits: {shown}; '{limit}' is kept.")
            )
        portfolio = fleet.Tracked("portfolio", portfolio_id, meta_id, dict(values), clocks.get(portfolio_id, {}))
        if values["messaging_limit"] != limit:
            portfolio.offer("messaging_limit", limit, now, where)
        if portfolio.touched:
            plan.updates.append(portfolio.as_update({"limit_event_time": now}))


def _report_missing(
    wabas: dict[str, fleet.WabaRow],
    listing: Listing,
    stored: dict[int, fleet.NumberRow],
    listed: set[str],
    plan: ImportPlan,
) -> None:
    """Numbers active in a fully listed WABA but absent from Meta's listing: deleted in Meta, or another WABA?"""
    complete = {wabas[meta_id].id: wabas[meta_id] for meta_id in listing.complete_wabas if meta_id in wabas}
    missing = sorted(
        (complete[row.group_waba_id].meta_waba_id, row.e164)
        for row in stored.values()
        if row.group_waba_id in complete and row.e164 not in listed
    )
    for meta_id, e164 in missing:
        name = wabas[meta_id].name
        plan.warnings.append(Notice(f"WABA {meta_id}", f"{e164} is active in '{name}' but not in Meta's listing."))
    for meta_id in sorted(listing.incomplete_wabas):
        plan.warnings.append(
            Notice(
                f"WABA {meta_id}",
                "the listing has more pages (paging.next): numbers on pages not in the file were not compared.",
            )
        )


def _plan_new_groups(
    wabas: dict[str, fleet.WabaRow],
    new_groups: list[tuple[ListedNumber, fleet.NumberRow | None, str]],
    tracked: dict[int, fleet.Tracked],
    now: datetime,
    plan: ImportPlan,
) -> None:
    for listed, row, group_name in new_groups:
        waba = wabas[listed.meta_waba_id]
        if row is not None:
            plan.numbers.append(
                CreateNumber(
                    listed.e164,
                    waba.meta_waba_id,
                    waba.id,
                    waba.workspace_id,
                    group_name,
                    (),
                    listed.where,
                    number_id=row.id,
                )
            )
            continue
        values = fleet.NEW_NUMBER | listed.values
        if listed.meta_id:
            values["meta_phone_number_id"] = listed.meta_id
        plan.numbers.append(
            CreateNumber(
                listed.e164,
                waba.meta_waba_id,
                waba.id,
                waba.workspace_id,
                group_name,
                tuple(sorted(values.items())),
                listed.where,
            )
        )
        plan.snapshots.append(
            HealthSnapshot(
                listed.e164,
                None,
                now,
                values["quality_rating"],
                values["messaging_limit_tier"],
                values["status"],
                SOURCE,
                listed.where,
            )
        )


def _plan_number_updates(tracked: dict[int, fleet.Tracked], now: datetime, plan: ImportPlan) -> None:
    for number_id, number in sorted(tracked.items()):
        if not number.touched:
            continue
        extra: dict[str, Any] = {"updated_at": now}
        changes = number.changes()
        changed = {change.field for change in changes}
        if changed & set(fleet.HEALTH_FIELDS):
            extra["health_event_time"] = now
            values = number.values
            plan.snapshots.append(
                HealthSnapshot(
                    number.key,
                    number_id,
                    now,
                    values["quality_rating"],
                    values["messaging_limit_tier"],
                    values["status"],
                    SOURCE,
                    number.where(),
                )
            )
        if changed & set(fleet.NAME_FIELDS):
            extra["name_event_time"] = now
        plan.updates.append(number.as_update(extra, changes))
