"""WABA Fleet: the entry point. Builds the engine once, works out who is signed in, and runs the navigation
that user's role allows."""

from __future__ import annotations

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
            st.caption(f"Signed in as **{actor.name}** ({actor.role.label})")
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
        else:
            st.caption(f"Local mode — signed in as {actor.name} ({actor.role.label})")


def navigation(actor: Actor) -> StreamlitPage:
    fleet = [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/accounts.py", title="Accounts", icon=":material/account_tree:"),
        st.Page("pages/numbers.py", title="Numbers", icon=":material/phone_iphone:"),
        st.Page("pages/subscriptions.py", title="Subscriptions", icon=":material/group_work:"),
        st.Page("pages/templates.py", title="Templates", icon=":material/chat:"),
        st.Page("pages/ecosystem.py", title="Ecosystem", icon=":material/hub:"),
    ]
    sections = {"Fleet": fleet}
    if actor.role >= Role.ADMIN:
        sections["Admin"] = [
            st.Page("pages/import_data.py", title="Import", icon=":material/upload_file:"),
            st.Page("pages/audit.py", title="Audit log", icon=":material/history:"),
            st.Page("pages/users.py", title="Users", icon=":material/manage_accounts:"),
        ]
    return st.navigation(sections)


common.engine()  # the schema is brought up to date before any page reads
if common.auth_enabled() and not st.user.get("is_logged_in"):
    st.navigation([st.Page(sign_in_screen, title="Sign in", icon=":material/login:")], position="hidden").run()
else:
    try:
        current = common.current_actor()
    except FleetError as error:  # e.g. a malformed [roles] section: say so rather than guess a role
        st.error(f"Cannot work out who you are: {error}", icon=":material/error:")
        st.stop()
    identity_sidebar(current)
    navigation(current).run()
