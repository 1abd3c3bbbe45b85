"""Read-side views the dashboard needs on top of `core.queries`: at-risk lists, health counts, capacity,
audit filter choices and the countries a phone number can be typed for. Rules stay in `core.model`."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
from sqlalchemy import Engine, select

from core import model
from core.db import AuditEntry

# phonenumbers' geocoder has no English name for these few regions.
_REGION_NAMES_MISSING = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}
# How urgent an at-risk value is, to put the worst numbers at the top of the list (0: not at risk).
_URGENCY = {"RED": 2, "YELLOW": 1, "BANNED": 2, "DISCONNECTED": 2, "RESTRICTED": 2, "FLAGGED": 1, "RATE_LIMITED": 1}


@cache
def phone_regions() -> tuple[tuple[str, str], ...]:
    """Every region a national-format number can be typed for: (region code, 'France (+33)'), by name."""
    regions = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = _REGION_NAMES_MISSING.get(code) or _english_region_name(code)
        regions.append((code, f"{name} (+{phonenumbers.country_code_for_region(code)})"))
    return tuple(sorted(regions, key=lambda region: region[1]))


def _english_region_name(code: str) -> str:
    names = _region_names().get(code, {})
    name = names.get("en", "")
    return names.get(name[1:], "") if name.startswith("*") else name  # "*aa": the name given for language aa


@cache
def _region_names() -> dict[str, dict[str, str]]:
    """phonenumbers' country names (its geodata/locale.py), read on their own: importing them through
    `phonenumbers.geocoder` first loads every place name of every dialling prefix (~100 MB, seconds)."""
    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LOCALE_DATA)


def risk_reasons(quality_rating: str | None, status: str | None) -> str:
    """Why a number is on the at-risk list, in words ('' when it is not at risk)."""
    reasons = []
    if (quality_rating or "") in model.AT_RISK_QUALITY:
        reasons.append(f"quality {quality_rating}")
    if (status or "") in model.AT_RISK_STATUS:
        reasons.append(f"status {status}")
    return ", ".join(reasons)


def at_risk_numbers(numbers: pd.DataFrame) -> pd.DataFrame:
    """Numbers of active groups that are at risk (quality or status), worst first, with the reason."""
    active = numbers.loc[(numbers["group_state"] == "active") & numbers["at_risk"].astype(bool)].copy()
    active["reason"] = [risk_reasons(q, s) for q, s in zip(active["quality_rating"], active["status"], strict=True)]
    urgency = active["quality_rating"].map(_URGENCY).fillna(0) + active["status"].map(_URGENCY).fillna(0)
    return (
        active.assign(_urgency=urgency)
        .sort_values(["_urgency", "workspace", "waba", "phone_e164"], ascending=[False, True, True, True])
        .drop(columns="_urgency")
    )


def low_limit_portfolios(portfolios: pd.DataFrame) -> pd.DataFrame:
    """Portfolios whose shared messaging limit is low for their number of senders, with the limit per sender."""
    low = portfolios.loc[portfolios["limit_is_low"].astype(bool)].copy()
    low["daily_limit_per_sender"] = low["daily_limit"] / low["active_numbers"]
    return low.sort_values("daily_limit_per_sender")


def health_counts(numbers: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """How many numbers of active groups have each value of `column` (known values first, in `order`)."""
    active = numbers[numbers["group_state"] == "active"]
    counts = active[column].fillna("(none)").value_counts()
    values = [value for value in order if value in counts.index] + sorted(set(counts.index) - set(order))
    return pd.DataFrame({column: values, "numbers": [int(counts[value]) for value in values]})


def waba_capacity(wabas: pd.DataFrame) -> pd.DataFrame:
    """Active WABAs with the sender slots they have left (of 20), fullest first."""
    active = wabas[wabas["state"] == "active"].copy()
    active["free_slots"] = active["number_limit"] - active["active_numbers"]
    return active.sort_values(["free_slots", "workspace", "waba"])


def audit_filter_options(engine: Engine) -> dict[str, list[str]]:
    """The actors and object types the audit log can be narrowed to."""
    with engine.connect() as connection:
        actors = connection.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)).all()
        object_types = connection.scalars(
            select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        ).all()
    return {"actors": list(actors), "object_types": list(object_types)}


def archived_groups(archived: pd.DataFrame, reattachable: pd.DataFrame) -> pd.DataFrame:
    """Archived groups, newest first, marking those whose number has no active group now (free to re-attach)."""
    groups = archived.copy()
    groups["reattachable"] = groups["phone_e164"].isin(set(reattachable["phone_e164"]))
    return groups.sort_values("archived_at", ascending=False)


def waba_choices(wabas: pd.DataFrame) -> dict[str, str]:
    """Active WABAs a number can be added to, as {Meta WABA id: 'Fashion FR — EU Brands (id)'}."""
    active = wabas[wabas["state"] == "active"]
    return {row.waba_id: f"{row.waba} — {row.workspace} ({row.waba_id})" for row in active.itertuples(index=False)}


def of_wabas(frame: pd.DataFrame, waba_ids: list[str]) -> pd.DataFrame:
    """Rows of the given WABAs (by Meta WABA id); all rows when none is given."""
    return frame[frame["waba_id"].isin(waba_ids)] if waba_ids else frame
