"""WABA Fleet: the entry point. Builds the engine once, works out who is signed in, and runs the navigation
that user's role allows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from core.errors import FleetError
from core.model import Actor, Role
from pages import common

st.set_page_config(page_title="WABA Fleet", page_icon=":material/forum:", layout="wide")


def sign_in_screen() -> None:
    st.title("WABA Fleet")
    st.write("One view of your WhatsApp Business Accounts, sender numbers and subscription groups.")
    st.button("Sign in", key="sign_in", type="primary", icon=":material/login:", on_click=st.login)
    st.caption("You sign in with your company account; an admin gives you a role (you start as a viewer).")


def identity_sidebar(actor: Actor) -> None:
    with st.sidebar:
        if common.auth_enabled():
            st.caption(f"Signed in as **{common.literal(actor.name)}** ({actor.role.label})")
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
        else:
            st.caption(f"Local mode — signed in as {common.literal(actor.name)} ({actor.role.label})")


@dataclass(frozen=True)
class PageSpec:
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


def navigation(actor: Actor) -> StreamlitPage:
    """The pages of the user's role in the menu; an admin page's address shows a reader why it is not theirs
    (rather than Streamlit's "page not found")."""
    is_admin = actor.role >= Role.ADMIN
    fleet = [
        st.Page(spec.path, title=spec.title, icon=spec.icon, default=index == 0)
        for index, spec in enumerate(PAGES)
        if not spec.admin_only
    ]
    admin = [
        st.Page(spec.path, title=spec.title, icon=spec.icon)
        if is_admin
        else st.Page(partial(admins_only, spec.title), title=spec.title, url_path=spec.url_path, visibility="hidden")
        for spec in PAGES
        if spec.admin_only
    ]
    return st.navigation({"Fleet": fleet, "Admin": admin})


def admins_only(title: str) -> None:
    st.title(title)
    st.info(f"{title} is for admins. Ask an admin for the role on the Users page.", icon=":material/lock:")


def signed_out_navigation() -> StreamlitPage:
    """Only the sign-in screen, at every page's address: a link to /numbers shows it too."""
    return st.navigation(
        [
            st.Page(sign_in_screen, title="Sign in", icon=":material/login:", default=True),
            *[
                st.Page(sign_in_screen, title="Sign in", url_path=spec.url_path, visibility="hidden")
                for spec in PAGES[1:]
            ],
        ],
        position="hidden",
    )


common.engine()  # the schema is brought up to date before any page reads
if common.auth_enabled() and not st.user.get("is_logged_in"):
    signed_out_navigation().run()
else:
    try:
        current = common.current_actor()
    except FleetError as error:  # e.g. a malformed [roles] section: say so rather than guess a role
        st.error(f"Cannot work out who you are: {common.literal(error)}", icon=":material/error:")
        st.stop()
    identity_sidebar(current)
    navigation(current).run()
