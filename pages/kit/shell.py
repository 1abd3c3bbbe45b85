"""The app shell: the pages of the menu, every page's header, and what an empty fleet shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from pages.kit import acting_user, feedback, reads

EMPTY_FLEET_MESSAGE = (
    "No workspace yet — an admin adds one in **Accounts** (then a business portfolio, a WhatsApp Business Account "
    "and numbers in **Subscriptions**). To explore with sample data, run `python -m core seed-demo`."
)


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
    PageSpec("pages/alerts.py", "Alerts", ":material/notifications:"),
    PageSpec("pages/import_data.py", "Import", ":material/upload_file:", admin_only=True),
    PageSpec("pages/live_sync.py", "Live sync", ":material/sync:", admin_only=True),
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


def page_header(title: str, caption: str = "") -> None:
    """The page title, then the outcome of the last write (toast, and a lasting note when it has a next step)."""
    ensure_app_shell()
    feedback.apply_form_resets()
    st.title(title)
    if caption:
        st.caption(caption)
    # Always one slot, filled or not: what follows keeps its place, so open tabs stay open after a write.
    feedback.show_last_outcome(st.empty())


def empty_fleet_notice() -> bool:
    """Show what to do on an empty fleet; True when the page has nothing else to show."""
    if not reads.fleet_is_empty():
        return False
    st.info(EMPTY_FLEET_MESSAGE, icon=":material/info:")
    return True


def admins_only(what: str) -> None:
    """Stop an admin page for anyone else (the menu hides it from them, but a link or typed address still opens it)."""
    if not acting_user.is_admin():
        st.error(f"{what} is for admins.", icon=":material/lock:")
        st.stop()
