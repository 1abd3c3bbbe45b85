"""What every page shares: the engine, the acting user, cached reads, feedback after writes, downloads, colours.

Reads are cached with `st.cache_data`, keyed by the database URL and plain values; every successful write clears
them (`succeed`) so no page shows stale data. Data changed outside the app (CLI, imports) shows within READ_TTL.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError
from streamlit.runtime.pages_manager import PagesManager

from core import identity, services
from core.config import load_settings
from core.db import Engine, make_engine
from core.errors import FleetError, InvalidInput
from core.exports import to_csv_bytes, to_json_bytes
from core.migrate import upgrade
from core.model import Actor, Role
from core.palette import QUALITY_COLORS, STATUS_COLORS  # the app's one colour scheme (with text labels)
from core.reads.accounts import (
    connections_table,
    is_empty,
    low_limit_portfolios,
    portfolios_table,
    wabas_table,
    workspaces_summary,
)
from core.reads.audit import audit_filter_options, audit_table, users_table
from core.reads.history import number_history
from core.reads.numbers import at_risk_numbers, filter_options, numbers_table
from core.reads.subscriptions import groups_table, reattachable_numbers
from core.reads.templates import templates_table

READ_TTL_SECONDS = 60
FLASH_KEY = "flash"
RESETS_KEY = "pending_form_resets"

EMPTY_FLEET_MESSAGE = (
    "No workspace yet — an admin adds one in **Accounts** (then a business portfolio, a WhatsApp Business Account "
    "and numbers in **Subscriptions**). To explore with sample data, run `python -m core seed-demo`."
)


# Markdown, Streamlit's own directives (:red[…], :material/…:) and LaTeX ($…$) read these characters.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>$:~|#])")


def literal(text: object) -> str:
    """Text shown as written where Streamlit reads Markdown (titles, captions, alerts, toasts): names from Meta, from
    files and from links may hold link, emphasis, icon or formula syntax."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", str(text))


# --- the app shell -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    """A page of the menu (app.py builds the menu from PAGES)."""

    path: str
    title: str
    icon: str
    admin_only: bool = False

    @property
    def url_path(self) -> str:
        return Path(self.path).stem  # what st.Page names a file page: /numbers, /import_data…


PAGES = [
    PageSpec("pages/overview.py", "Overview", ":material/dashboard:"),
    PageSpec("pages/accounts.py", "Accounts", ":material/account_tree:"),
    PageSpec("pages/numbers.py", "Numbers", ":material/phone_iphone:"),
    PageSpec("pages/subscriptions.py", "Subscriptions", ":material/group_work:"),
    PageSpec("pages/templates.py", "Templates", ":material/chat:"),
    PageSpec("pages/ecosystem.py", "Ecosystem", ":material/hub:"),
    PageSpec("pages/import_data.py", "Import", ":material/upload_file:", admin_only=True),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", admin_only=True),
    PageSpec("pages/users.py", "Users", ":material/manage_accounts:", admin_only=True),
]


def ensure_app_shell() -> None:
    """Run every page through app.py (sign-in, roles, menu).

    Until st.navigation has run once in a server, Streamlit reads a folder named pages/ as an old-style multipage
    app: a first visit straight to /numbers would run that page alone. Such a run turns that mode off for the
    server and starts again, through app.py. Pages call this first (app.py has always called st.navigation by
    then, so it costs nothing); app.py itself must not, as a rerun drops the click that started the run.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# --- configuration, engine and identity ---------------------------------------------------------------------


def secrets() -> dict[str, Any]:
    """`.streamlit/secrets.toml` as a dict; empty when the deployment has none."""
    try:
        return st.secrets.to_dict()
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def database_url() -> str:
    """DATABASE_URL when set, else `[database] url` from the secrets, else the default SQLite file."""
    configured = secrets().get("database", {}).get("url")
    if configured and not os.environ.get("DATABASE_URL"):
        return str(configured)
    return load_settings().database_url


def _dispose(engine: Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner="Opening the database…", on_release=_dispose)
def engine_for(url: str) -> Engine:
    """The one engine per database URL, with its schema brought up to date."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


def engine() -> Engine:
    return engine_for(database_url())


def auth_enabled() -> bool:
    """Sign-in is on when the secrets have an [auth] section; otherwise the app runs in local mode."""
    return bool(secrets().get("auth"))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def _signed_in_actor(url: str, who: str, roles: Mapping[str, Any]) -> Actor:
    return identity.resolve_signed_in_actor(engine_for(url), who, identity.RoleMapping.from_config(roles))


def current_actor() -> Actor:
    """The acting user: the signed-in user (role from the users table or [roles]) or the local-mode user."""
    if auth_enabled():
        if not st.user.get("is_logged_in"):
            return Actor(name="(signed out)", role=Role.VIEWER)
        who = identity.signed_in_identity(dict(st.user))
        return _signed_in_actor(database_url(), who, secrets().get("roles", {}))
    return services.resolve_local_actor(engine(), load_settings())


def is_admin() -> bool:
    return current_actor().role >= Role.ADMIN


def can_export() -> bool:
    return current_actor().role >= Role.ANALYST


# --- cached reads (keyed by the database URL and plain values) ------------------------------------------------


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=256)  # bounded: each filter set is one entry
def _read(url: str, view: str, **kwargs: Any) -> Any:
    if view in _DERIVED:  # worked out from another cached read: its query is not run a second time
        base, derive = _DERIVED[view]
        return derive(_read(url, base))
    return _VIEWS[view](engine_for(url), **kwargs)


_VIEWS: dict[str, Callable[..., Any]] = {
    "is_empty": is_empty,
    "numbers": numbers_table,
    "filter_options": filter_options,
    "workspaces": workspaces_summary,
    "wabas": wabas_table,
    "portfolios": portfolios_table,
    "connections": connections_table,
    "groups": groups_table,
    "reattachable": reattachable_numbers,
    "templates": templates_table,
    "history": number_history,
    "audit": audit_table,
    "audit_options": audit_filter_options,
    "users": users_table,
}
_DERIVED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "at_risk": ("numbers", at_risk_numbers),
    "low_limit_portfolios": ("portfolios", low_limit_portfolios),
}


def read(view: str, **kwargs: Any) -> Any:
    """A cached read: `read("numbers", filters=NumberFilters(...))`, `read("groups", state="active")`…"""
    return _read(database_url(), view, **kwargs)


def fleet_is_empty() -> bool:
    return bool(read("is_empty"))


def empty_fleet_notice() -> bool:
    """Show what to do on an empty fleet; True when the page has nothing else to show."""
    if not fleet_is_empty():
        return False
    st.info(EMPTY_FLEET_MESSAGE, icon=":material/info:")
    return True


# --- writes: errors, feedback, fresh data -------------------------------------------------------------------


@contextmanager
def fleet_errors() -> Iterator[None]:
    """Show a rule violation or invalid input in the user's words; the form keeps what was typed."""
    try:
        yield
    except FleetError as error:
        st.error(literal(error), icon=":material/error:")


def content_key(prefix: str, *shown: Any) -> str:
    """A widget key that changes with what the widget shows. A table's row selection is a row position: another
    set of rows (other filters) gets another table widget, where nothing stale is selected."""
    return f"{prefix}_{hashlib.sha1(repr(shown).encode()).hexdigest()[:10]}"


def only_choice(options: list[Any]) -> int | None:
    """Preselect a selectbox's option when there is exactly one to choose from."""
    return 0 if len(options) == 1 else None


def chosen(value: str | None, what: str) -> str:
    """A selectbox left empty in a form: say which choice is missing."""
    if not value:
        raise InvalidInput(f"Choose {what}.")
    return value


def succeed(message: str, *, reset: Mapping[str, Any] | None = None, keep_visible: bool = False) -> NoReturn:
    """After a successful write: drop every cached read, empty the form's fields, rerun, and say what happened."""
    st.cache_data.clear()
    st.session_state[FLASH_KEY] = {"message": message, "keep_visible": keep_visible}
    st.session_state[RESETS_KEY] = dict(reset or {})
    st.rerun()


def page_header(title: str, caption: str = "") -> None:
    """The page title, then the outcome of the last write (toast, and a lasting note when it has a next step)."""
    ensure_app_shell()
    for key, value in st.session_state.pop(RESETS_KEY, {}).items():
        st.session_state[key] = value
    st.title(title)
    if caption:
        st.caption(caption)
    # Always one slot, filled or not: what follows keeps its place, so open tabs stay open after a write.
    note = st.empty()
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.toast(literal(flash["message"]), icon=":material/check_circle:")
        if flash["keep_visible"]:
            note.success(literal(flash["message"]), icon=":material/check_circle:")


# --- UI state that outlives a page (filters) -------------------------------------------------------------------


def persisted(
    store: str,
    field: str,
    default: Any,
    options: list[Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments that make a widget remember its value across pages.

    Streamlit forgets the state of widgets a run does not draw (as on another page), so the value is kept in
    `st.session_state[store][field]` and put back before the widget is drawn. Values no longer offered are dropped.
    """
    saved = st.session_state.setdefault(store, {})
    value = saved.get(field, default)
    if options is not None:
        value = [item for item in value if item in options]
    widget_key = f"{store}_{field}"
    st.session_state[widget_key] = value
    return {"key": widget_key, "on_change": _remember, "args": (store, field, widget_key)}


def _remember(store: str, field: str, widget_key: str) -> None:
    st.session_state.setdefault(store, {})[field] = st.session_state[widget_key]


def forget(store: str) -> None:
    """Back to defaults: the widgets are redrawn from an empty store on the next run."""
    st.session_state[store] = {}


# --- presentation ----------------------------------------------------------------------------------------------


def when_column(label: str, fmt: str = "YYYY-MM-DD HH:mm") -> Any:
    return st.column_config.DatetimeColumn(label, format=fmt)


def used_of(label: str, cap: int) -> Any:
    """A count drawn as a bar against its cap: 'Numbers (of 20)'."""
    return st.column_config.ProgressColumn(f"{label} (of {cap})", format="%d", min_value=0, max_value=cap)


def _tags(label: str, palette: Mapping[str, str]) -> Any:
    """Coloured cells that keep their text label: a one-tag list per cell (see `shown_columns`)."""
    return st.column_config.MultiselectColumn(label, options=list(palette), color=list(palette.values()))


# One label per column name, so a column reads the same on every page.
COLUMNS: dict[str, Any] = {
    "workspace": "Workspace",
    "portfolio": "Portfolio",
    "portfolio_id": "Meta business id",
    "waba": "WABA",
    "waba_id": "Meta WABA id",
    "subscription_group": "Subscription group",
    "group_state": "Group state",
    "phone_e164": "E.164",
    "phone_international": st.column_config.TextColumn("Number", pinned=True),
    "display_name": "Display name",
    "status": _tags("Status", STATUS_COLORS),
    "quality_rating": _tags("Quality", QUALITY_COLORS),
    "quality_score": _tags("Quality", QUALITY_COLORS),
    "messaging_limit_tier": st.column_config.TextColumn("Own tier", help="The number's own messaging-limit tier"),
    "portfolio_messaging_limit": st.column_config.TextColumn(
        "Portfolio limit", help="Shared by every number of the business portfolio (since October 2025)"
    ),
    "messaging_limit": "Shared messaging limit",
    "name_status": "Name status",
    "updated_at": when_column("Last change"),
    "created_at": when_column("Created", "YYYY-MM-DD"),
    "archived_at": when_column("Archived"),
    "unknown_values": st.column_config.TextColumn("Unknown values", help="Values from Meta that are new to us"),
    "active_numbers": "Active numbers",
    "templates": "Templates",
    "wabas": "WABAs",
    "portfolios": "Portfolios",
    "numbers": "Numbers",
    "template": "Template",
    "language": "Language",
    "category": "Category",
    "state": "State",
}
UNTAGGED = {"status": "Status", "quality_rating": "Quality", "quality_score": "Quality"}


def shown_columns(frame: pd.DataFrame, columns: list[str], tags: Iterable[str] = ()) -> pa.Table:
    """Only the columns on screen go to the browser, as Arrow; `tags` become one-tag lists so their cells can be
    coloured while keeping their text (built as Arrow lists: Python lists per cell cost 10× more at 10,000 rows)."""
    shown = pa.Table.from_pandas(frame, columns=columns, preserve_index=False)
    for column in tags:
        text = frame[column].astype("string")
        present = text.notna() & text.ne("")
        offsets = np.concatenate([[0], np.cumsum(present.to_numpy(dtype=np.int32))]).astype(np.int32)
        values = pa.array(text[present].tolist(), type=pa.string())
        shown = shown.set_column(columns.index(column), column, pa.ListArray.from_arrays(offsets, values))
    return shown.replace_schema_metadata(None)  # pandas' notes describe the text columns the tags replaced


def table(
    source: pd.DataFrame | pa.Table | str,
    key: str,
    columns: list[str],
    labels: Mapping[str, Any] | None = None,
    *,
    tags: Iterable[str] = (),
    box: str | None = None,
    **options: Any,
) -> Any:
    """A read-only table of `columns` in that order, labelled from COLUMNS (or `labels`), `tags` coloured,
    inside a container keyed `box` (default `<key>_box`).

    `source` is a DataFrame, the name of a cached read (`table("wabas", …)`), or what `shown` made of one: the
    Arrow table sent to the browser is then kept with the read, so a rerun neither copies the DataFrame out of the
    cache nor converts it again."""
    tags = [column for column in tags if column in columns]
    if isinstance(source, str):
        source = shown(source, columns, tags)
    arrow = source if isinstance(source, pa.Table) else shown_columns(source, columns, tags)
    config = {column: COLUMNS[column] for column in columns if column in COLUMNS}
    config.update({column: UNTAGGED[column] for column in columns if column in UNTAGGED and column not in tags})
    config.update(labels or {})
    # The keyed box lets tests and browser checks find a table by name (a plain dataframe drops its key).
    with st.container(key=box or f"{key}_box"):
        return st.dataframe(
            arrow, hide_index=True, key=key, column_order=columns, column_config=config, placeholder="—", **options
        )


def shown(view: str, columns: list[str], tags: Iterable[str] = (), **read_args: Any) -> pa.Table:
    """The Arrow table of some columns of a cached read (`shown("templates", […], waba_ids=…)`), kept with the read
    for every session until the reads are dropped; `table("wabas", …)` draws one directly."""
    tags = tuple(column for column in tags if column in columns)
    return _read_shown(database_url(), view, tuple(columns), tags, tuple(sorted(read_args.items())))


def view_columns(view: str, *columns: str) -> list[list[Any]]:
    """Some columns of a cached read as lists (choices for a selectbox), from the shared Arrow table."""
    shown = _read_shown(database_url(), view, columns, ())
    return [shown.column(index).to_pylist() for index in range(len(columns))]


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def _reads_generation(url: str) -> str:
    """A new value whenever the cached reads are dropped (after a write, or after READ_TTL)."""
    return uuid.uuid4().hex


# Arrow tables are immutable: one copy per read serves every session, with no unpickling or hashing per rerun.
_SHOWN: dict[tuple[str, ...], pa.Table] = {}
_SHOWN_LOCK = threading.Lock()


def _read_shown(
    url: str, view: str, columns: tuple[str, ...], tags: tuple[str, ...], read_args: tuple[tuple[str, Any], ...] = ()
) -> pa.Table:
    generation = _reads_generation(url)
    key = (url, view, generation, *columns, "|", *tags, "|", *read_args)
    shown = _SHOWN.get(key)
    if shown is None:
        shown = shown_columns(_read(url, view, **dict(read_args)), list(columns), tags)
        with _SHOWN_LOCK:
            for stale in [k for k in _SHOWN if k[0] == url and k[2] != generation]:
                del _SHOWN[stale]
            _SHOWN[key] = shown
    return shown


TABLE_PAGE_SIZE = 100  # rows a long table sends to the browser at a time


@dataclass(frozen=True)
class TablePage:
    rows: pd.DataFrame  # the rows of this page, to draw
    number: int  # 1-based
    first: int  # position of its first row in the whole table

    @property
    def described(self) -> str:
        return f"rows {self.first + 1:,}–{self.first + len(self.rows):,} shown" if len(self.rows) else "no row shown"


def table_page(
    frame: pd.DataFrame,
    key: str,
    rows_key: str,
    where: Any,
    *,
    linked_row: int | None = None,
    size: int = TABLE_PAGE_SIZE,
) -> TablePage:
    """One page of a long table, with its page control drawn in `where`: the browser gets `size` rows, not all.

    Other rows (`rows_key` changed: filters, picks) start again on the first page, or on the page of
    `linked_row` (a row a link points to)."""
    pages = max(1, -(-len(frame) // size))
    if st.session_state.get(f"{key}_rows") != rows_key or key not in st.session_state:
        st.session_state[f"{key}_rows"] = rows_key
        st.session_state[key] = 1 if linked_row is None else linked_row // size + 1
    st.session_state[key] = min(max(1, int(st.session_state[key])), pages)
    number = where.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=key)
    first = (number - 1) * size
    return TablePage(frame.iloc[first : first + size], number, first)


def row_of(frame: pd.DataFrame, column: str, value: object) -> int | None:
    """Position of the first row whose `column` holds `value` (None: no such row)."""
    if value is None:
        return None
    hits = (frame[column] == value).to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def csv_download(
    label: str,
    frame: pd.DataFrame,
    *,
    file_name: str,
    key: str,
    columns: list[str] | None = None,
    rows_key: str | None = None,
) -> None:
    """A CSV download (analysts and admins only): UTF-8, header row, ISO times, formula-safe cells.

    `rows_key` names which rows `frame` holds (e.g. the filters that chose them): the file is then made once per
    key and database, not on every rerun, and the frame is not hashed (10,000 rows take ~30 ms to hash)."""
    if not can_export():
        return
    shown = tuple(columns) if columns else None
    data = _csv_bytes(frame, shown) if rows_key is None else _csv_bytes_of(database_url(), rows_key, shown, frame)
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def json_download(label: str, frame: pd.DataFrame, *, file_name: str, key: str) -> None:
    if not can_export():
        return
    st.download_button(
        label,
        data=to_json_bytes(frame),
        file_name=file_name,
        mime="application/json",
        key=key,
        on_click="ignore",
        icon=":material/data_object:",
    )


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=20)
def _csv_bytes(frame: pd.DataFrame, columns: tuple[str, ...] | None) -> bytes:
    return to_csv_bytes(frame, list(columns) if columns else None)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=20)
def _csv_bytes_of(url: str, rows_key: str, columns: tuple[str, ...] | None, _frame: pd.DataFrame) -> bytes:
    return to_csv_bytes(_frame, list(columns) if columns else None)


def count(number: int, singular: str, plural: str | None = None) -> str:
    """'1 entry', '2 entries', '10,000 numbers'."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def export_file_name(stem: str, extension: str = "csv") -> str:
    return f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M')}.{extension}"
