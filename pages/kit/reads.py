"""Cached reads for pages, one typed function per query: `reads.numbers(filters)`, `reads.wabas()`…

Each is cached with `st.cache_data`, keyed by `freshness.read_key()` (database URL and freshness token) and its
own arguments; `feedback.succeed` drops them all after a write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

from core import alerts as alert_reads
from core.db import Engine
from core.reads import accounts, subscriptions
from core.reads import audit as audit_reads
from core.reads import ecosystem as ecosystem_reads
from core.reads import history as history_reads
from core.reads import numbers as number_reads
from core.reads import templates as template_reads
from pages.kit.database import engine_for
from pages.kit.freshness import read_key

P = ParamSpec("P")
R = TypeVar("R")
Base = TypeVar("Base")
ONE_PER_ARGUMENT_SET = 64  # reads with arguments (filters, WABAs, numbers): each set of values is one entry
LATEST = 4  # reads without arguments: the entries of the last few freshness tokens


def cached_read(
    query: Callable[Concatenate[Engine, P], R], *, entries: int = LATEST, spinner: str | bool = False
) -> Callable[P, R]:
    """`query(engine, …)` as a cached page read taking the same arguments (minus the engine)."""

    def run(url: str, fresh: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return query(engine_for(url), *args, **kwargs)

    run.__qualname__ = f"cached_{query.__module__}.{query.__qualname__}"  # Streamlit keys a cache by qualname
    cached = st.cache_data(show_spinner=spinner, max_entries=entries)(run)

    def read(*args: P.args, **kwargs: P.kwargs) -> R:
        return cached(*read_key(), *args, **kwargs)

    read.__name__ = query.__name__
    read.__qualname__ = f"{query.__module__}.{query.__qualname__}"  # names the read in shared Arrow tables' keys
    read.__doc__ = query.__doc__
    return read


def derived_read(derive: Callable[[Base], R], base: Callable[[], Base]) -> Callable[[], R]:
    """`derive(base())`, cached like a read: worked out from another cached read, whose query is not run again."""

    def run(url: str, fresh: str) -> R:
        return derive(base())

    run.__qualname__ = f"derived_{derive.__module__}.{derive.__qualname__}"
    cached = st.cache_data(show_spinner=False, max_entries=LATEST)(run)

    def read() -> R:
        return cached(*read_key())

    read.__name__ = derive.__name__
    read.__qualname__ = f"{derive.__module__}.{derive.__qualname__}"
    read.__doc__ = derive.__doc__
    return read


fleet_is_empty = cached_read(accounts.is_empty)
workspaces = cached_read(accounts.workspaces_summary)
portfolios = cached_read(accounts.portfolios_table)
connections = cached_read(accounts.connections_table)
wabas = cached_read(accounts.wabas_table)
low_limit_portfolios = derived_read(accounts.low_limit_portfolios, portfolios)

_numbers_read = cached_read(number_reads.numbers_table, entries=ONE_PER_ARGUMENT_SET)


def numbers(filters: number_reads.NumberFilters | None = None) -> pd.DataFrame:
    """The numbers table narrowed by `filters`; filters that narrow nothing share the one read of the whole fleet
    (Overview's, and the Numbers page's before any filter is set)."""
    if filters is None or filters == number_reads.NumberFilters():
        return _numbers_read()
    return _numbers_read(filters=filters)


filter_options = cached_read(number_reads.filter_options)
fleet_size = cached_read(number_reads.fleet_size)
at_risk = derived_read(number_reads.at_risk_numbers, numbers)

groups = cached_read(subscriptions.groups_table, entries=ONE_PER_ARGUMENT_SET)
reattachable = cached_read(subscriptions.reattachable_numbers)
templates = cached_read(template_reads.templates_table, entries=ONE_PER_ARGUMENT_SET)
history = cached_read(history_reads.number_history, entries=ONE_PER_ARGUMENT_SET)
audit_log = cached_read(audit_reads.audit_table, entries=ONE_PER_ARGUMENT_SET)
audit_options = cached_read(audit_reads.audit_filter_options)
users = cached_read(audit_reads.users_table)
ecosystem = cached_read(ecosystem_reads.ecosystem, spinner="Reading the fleet…")
alert_rules = cached_read(alert_reads.rules_table)
alerts = cached_read(alert_reads.alerts_table, entries=ONE_PER_ARGUMENT_SET)
failing_alert_targets = cached_read(alert_reads.failing_targets)
open_alert_count = cached_read(alert_reads.open_alert_count)
