"""The data behind the charts: aggregations of the numbers table, few rows whatever the fleet's size.

Charts must stay readable for a 10,000-number fleet, so everything here aggregates: counts per WABA or
portfolio (the top groups by trouble, the rest in one 'others' bucket).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from core import model
from core.palette import QUALITY_ORDER, ordered_values

GroupBy = Literal["waba", "portfolio"]
OTHERS_KEY = "__others__"
TOP_GROUPS = 15
TOP_PORTFOLIOS = 20
EXAMPLES_PER_SEGMENT = 3
TIER_ORDER: tuple[str, ...] = (
    "TIER_NOT_SET",
    "TIER_50",
    "TIER_250",
    "TIER_1K",
    "TIER_2K",
    "TIER_10K",
    "TIER_100K",
    "TIER_UNLIMITED",
)
# Own tiers that leave a number little room (or no known room) to start conversations.
LOW_TIERS = frozenset({"TIER_NOT_SET", "TIER_50", "TIER_250"})

_GROUP_COLUMNS: dict[str, tuple[str, str, str]] = {
    # group_by: (key column, name column, what one group is called)
    "waba": ("waba_id", "waba", "WABA"),
    "portfolio": ("portfolio_id", "portfolio", "portfolio"),
}


@dataclass(frozen=True)
class GroupedCounts:
    """Numbers counted per group (WABA or portfolio) and category (quality rating or tier), top groups first."""

    counts: pd.DataFrame  # key, label, category, numbers, examples
    groups: tuple[tuple[str, str], ...]  # (key, label) in display order; OTHERS_KEY last when the rest is bucketed
    categories: tuple[str, ...]
    hidden_groups: int  # groups folded into the 'others' bucket
    group_noun: str


def _group_labels(keys: Sequence[str], names: Sequence[object]) -> dict[str, str]:
    """A readable label per group; a name shared by several groups gets its Meta id so bars never merge."""
    name_of = {key: "" if name is None or pd.isna(name) else str(name) for key, name in zip(keys, names, strict=True)}
    uses = Counter(name_of.values())
    return {key: (f"{name} ({key})" if uses[name] > 1 or not name else name) for key, name in name_of.items()}


def group_counts(
    numbers: pd.DataFrame,
    *,
    group_by: GroupBy,
    category: str,
    category_order: Sequence[str],
    trouble: pd.Series,
    top: int = TOP_GROUPS,
    label_suffix: Mapping[str, str] | None = None,
) -> GroupedCounts:
    """Counts per group and category; the `top` groups with the most `trouble` are shown, the rest bucketed.

    Each segment keeps a few example numbers for its hover text, troubled ones first.
    """
    key, name, noun = _GROUP_COLUMNS[group_by]
    if numbers.empty:
        return GroupedCounts(pd.DataFrame(columns=["key", "label", "category", "numbers", "examples"]), (), (), 0, noun)
    frame = pd.DataFrame(
        {
            "key": numbers[key].astype(str).to_numpy(dtype=object),
            "category": numbers[category].fillna("UNKNOWN").replace("", "UNKNOWN").astype(str).to_numpy(dtype=object),
            "trouble": trouble.astype(bool).to_numpy(),
            "row": np.arange(len(numbers)),
        }
    )
    names = frame[["key"]].assign(name=numbers[name].to_numpy(dtype=object)).drop_duplicates("key")
    labels = _group_labels(names["key"].tolist(), names["name"].tolist())
    ranking = frame.groupby("key", sort=False)["trouble"].agg(["sum", "size"])
    ranking["label"] = [labels[k] for k in ranking.index]
    ranking = ranking.sort_values(["sum", "size", "label"], ascending=[False, False, True])
    shown = ranking.index[:top].tolist()
    hidden = len(ranking) - len(shown)
    frame["key"] = frame["key"].where(frame["key"].isin(shown), OTHERS_KEY)
    counts = frame.groupby(["key", "category"], sort=False).size().rename("numbers")
    firsts = (
        frame.sort_values("trouble", ascending=False, kind="stable")
        .groupby(["key", "category"], sort=False)
        .head(EXAMPLES_PER_SEGMENT)
    )
    phones = numbers["phone_e164"].to_numpy(dtype=object)[firsts["row"].to_numpy()]
    display = numbers["display_name"].fillna("").to_numpy(dtype=object)[firsts["row"].to_numpy()]
    firsts = firsts.assign(example=[f"{p} · {d}" for p, d in zip(phones, display, strict=True)])
    examples = firsts.groupby(["key", "category"], sort=False)["example"].agg("<br>".join)
    counts = pd.concat([counts, examples.rename("examples")], axis=1).reset_index()
    suffix = label_suffix or {}
    group_order = [(k, labels[k] + suffix.get(k, "")) for k in shown]
    if hidden:
        group_order.append((OTHERS_KEY, f"{hidden} other {noun}s"))
    counts["label"] = counts["key"].map(dict(group_order))
    return GroupedCounts(
        counts=counts[["key", "label", "category", "numbers", "examples"]],
        groups=tuple(group_order),
        categories=tuple(ordered_values(counts["category"].tolist(), category_order)),
        hidden_groups=hidden,
        group_noun=noun,
    )


def quality_counts(numbers: pd.DataFrame, group_by: GroupBy, top: int = TOP_GROUPS) -> GroupedCounts:
    """Quality ratings per WABA or portfolio; the groups with the most at-risk numbers come first."""
    trouble = numbers["at_risk"] if "at_risk" in numbers else pd.Series(False, index=numbers.index)
    return group_counts(
        numbers,
        group_by=group_by,
        category="quality_rating",
        category_order=QUALITY_ORDER,
        trouble=trouble,
        top=top,
    )


def has_low_own_tier(numbers: pd.DataFrame) -> pd.Series:
    tiers = numbers["messaging_limit_tier"].fillna("TIER_NOT_SET")
    return tiers.isin(LOW_TIERS) | ~tiers.isin(TIER_ORDER)


def tier_counts(numbers: pd.DataFrame, top: int = TOP_GROUPS) -> GroupedCounts:
    """Own messaging-limit tiers per WABA, labelled with the portfolio's shared limit; low tiers rank first."""
    shared = numbers.drop_duplicates("waba_id")
    suffix = {
        str(waba): f" · portfolio {limit if isinstance(limit, str) and limit else 'limit not set'}"
        for waba, limit in zip(shared["waba_id"].tolist(), shared["portfolio_messaging_limit"].tolist(), strict=True)
    }
    return group_counts(
        numbers,
        group_by="waba",
        category="messaging_limit_tier",
        category_order=TIER_ORDER,
        trouble=has_low_own_tier(numbers),
        top=top,
        label_suffix=suffix,
    )


def numbers_in_segments(
    numbers: pd.DataFrame, grouped: GroupedCounts, group_by: GroupBy, category: str, segments: Iterable[Sequence[Any]]
) -> set[str]:
    """The E.164 numbers behind chart segments given as (group key, category) pairs, 'others' included."""
    key_column = _GROUP_COLUMNS[group_by][0]
    keys = numbers[key_column].astype(str)
    values = numbers[category].fillna("UNKNOWN").replace("", "UNKNOWN").astype(str)
    shown = {k for k, _ in grouped.groups if k != OTHERS_KEY}
    chosen = pd.Series(False, index=numbers.index)
    for segment in segments:
        if len(segment) < 2:
            continue
        key, value = str(segment[0]), str(segment[1])
        in_group = ~keys.isin(shown) if key == OTHERS_KEY else keys.eq(key)
        chosen |= in_group & values.eq(value)
    return set(numbers.loc[chosen, "phone_e164"])


# --- portfolio headroom ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headroom:
    """Each portfolio's shared daily limit divided among its active senders, tightest first."""

    rows: pd.DataFrame  # portfolio_id, label, messaging_limit, daily_limit, active_numbers, per_sender, state
    not_shown: int  # portfolios with senders beyond the top ones
    without_senders: int


def headroom_state(messaging_limit: str | None, per_sender: float | None) -> str:
    if messaging_limit == model.MessagingLimitTier.TIER_UNLIMITED:
        return "unlimited"
    if per_sender is None:
        return "limit not set"
    return "low" if model.is_low_share(per_sender) else "ok"


def portfolio_headroom(
    portfolios: pd.DataFrame, in_view: Iterable[str] | None = None, top: int = TOP_PORTFOLIOS
) -> Headroom:
    """From `accounts.portfolios_table`: the limit per sender counts *all* the portfolio's senders, since they
    share it, even when a filter shows only some of them; `in_view` narrows which portfolios are shown."""
    frame = portfolios.copy()
    if in_view is not None:
        frame = frame[frame["portfolio_id"].astype(str).isin({str(p) for p in in_view})]
    with_senders = frame[frame["active_numbers"] > 0].copy()
    without_senders = len(frame) - len(with_senders)
    limits = with_senders["messaging_limit"].map(model.daily_limit)
    with_senders["daily_limit"] = limits
    with_senders["per_sender"] = [
        (limit / senders if limit is not None and not pd.isna(limit) else None)
        for limit, senders in zip(limits, with_senders["active_numbers"], strict=True)
    ]
    with_senders["state"] = [
        headroom_state(tier, share)
        for tier, share in zip(with_senders["messaging_limit"], with_senders["per_sender"], strict=True)
    ]
    order = with_senders["state"].map({"low": 0, "limit not set": 1, "ok": 2, "unlimited": 3})
    with_senders = (
        with_senders.assign(_order=order, _share=with_senders["per_sender"].astype(float).fillna(float("inf")))
        .sort_values(["_order", "_share", "portfolio"])
        .drop(columns=["_order", "_share"])
    )
    labels = _group_labels(with_senders["portfolio_id"].tolist(), with_senders["portfolio"].tolist())
    with_senders["label"] = with_senders["portfolio_id"].map(labels)
    shown = with_senders.head(top)
    columns = ["portfolio_id", "label", "messaging_limit", "daily_limit", "active_numbers", "per_sender", "state"]
    return Headroom(
        rows=shown[columns].reset_index(drop=True),
        not_shown=len(with_senders) - len(shown),
        without_senders=without_senders,
    )


# --- history ------------------------------------------------------------------------------------------------


def history_with_present(history: pd.DataFrame, numbers: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Snapshots of the chosen numbers (from `history.number_history`) with their WABA, each line carried on to
    `now` with the number's current values, so a step line reaches today even when nothing changed lately."""
    columns = ["phone_e164", "display_name", "waba", "recorded_at", "quality_rating", "messaging_limit_tier", "status"]
    current = numbers[numbers["phone_e164"].isin(set(history["phone_e164"]))]
    present = current.assign(recorded_at=pd.Timestamp(now))[columns]
    waba_of = numbers.drop_duplicates("phone_e164").set_index("phone_e164")["waba"]
    past = history.assign(waba=history["phone_e164"].map(waba_of))[columns]
    combined = pd.concat([frame for frame in (past, present) if not frame.empty], ignore_index=True)
    if combined.empty:
        return pd.DataFrame(columns=columns)
    combined["recorded_at"] = pd.to_datetime(combined["recorded_at"], utc=True)
    return combined.sort_values(["phone_e164", "recorded_at"], kind="stable").reset_index(drop=True)
