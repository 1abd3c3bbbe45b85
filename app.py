"""WABA Fleet: the entry point. Builds the engine once, works out who is signed in, and runs the navigation
that user's role allows."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from core import deployment
from core.config import load_settings
from core.errors import FleetError
from core.model import Actor, Role
from pages.kit import acting_user, database, freshness, shell, text, unexpected_errors

st.set_page_config(page_title="WABA Fleet", page_icon=":material/forum:", layout="wide")

Menu = list[StreamlitPage] | dict[str, list[StreamlitPage]]


def sign_in_screen() -> None:
    st.title("WABA Fleet")
    st.write("One view of your WhatsApp Business Accounts, sender numbers and subscription groups.")
    st.button("Sign in", key="sign_in", type="primary", icon=":material/login:", on_click=st.login)
    st.caption("You sign in with your company account; an admin gives you a role (you start as a viewer).")


def identity_sidebar(actor: Actor) -> None:
    with st.sidebar:
        if acting_user.auth_enabled():
            st.caption(f"Signed in as **{text.literal(actor.name)}** ({actor.role.label})")
            st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
        else:
            st.caption(
                f"Local mode, no sign-in: you act as {text.literal(actor.name)}, with the {actor.role.label} role.",
                help="Set by FLEET_USER and FLEET_LOCAL_ROLE; with sign-in on, each user has their own role.",
            )


def navigation(actor: Actor) -> StreamlitPage:
    """The pages of the user's role in the menu; an admin page's address shows a reader why it is not theirs
    (rather than Streamlit's "page not found")."""
    return st.navigation(menu("admin" if actor.role >= Role.ADMIN else "reader"))


def menu(kind: str) -> Menu:
    """The menu's pages for a kind of user, built once per session: building a page finds and checks its file,
    which every rerun of every page would otherwise pay again."""
    built = st.session_state.setdefault(MENU_KEY, {})
    if kind not in built:
        built[kind] = MENUS[kind]()
    return built[kind]


def user_menu(is_admin: bool) -> Menu:
    fleet = [
        st.Page(spec.path, title=spec.title, icon=spec.icon, default=index == 0)
        for index, spec in enumerate(shell.PAGES)
        if not spec.admin_only
    ]
    admin = [
        st.Page(spec.path, title=spec.title, icon=spec.icon)
        if is_admin
        else st.Page(partial(admins_only, spec.title), title=spec.title, url_path=spec.url_path, visibility="hidden")
        for spec in shell.PAGES
        if spec.admin_only
    ]
    return {"Fleet": fleet, "Admin": admin}


def admins_only(title: str) -> None:
    st.title(title)
    st.info(f"{title} is for admins. Ask an admin for the role on the Users page.", icon=":material/lock:")


def signed_out_menu() -> Menu:
    """Only the sign-in screen, at every page's address: a link to /numbers shows it too."""
    return [
        st.Page(sign_in_screen, title="Sign in", icon=":material/login:", default=True),
        *[
            st.Page(sign_in_screen, title="Sign in", url_path=spec.url_path, visibility="hidden")
            for spec in shell.PAGES[1:]
        ],
    ]


MENU_KEY = "menu_pages"
MENUS: dict[str, Callable[[], Menu]] = {
    "admin": partial(user_menu, True),
    "reader": partial(user_menu, False),
    "signed out": signed_out_menu,
}


def refuse_unsafe_exposure() -> None:
    """Closed by default: local mode serves this machine only (see core.deployment)."""
    reason = deployment.unsafe_exposure(
        st.get_option("server.address"), sign_in=acting_user.auth_enabled(), settings=load_settings()
    )
    if reason:
        deployment.log_refusal(reason)
        st.title("WABA Fleet")
        st.error(text.literal(reason), icon=":material/lock:")
        st.stop()


def identity_refused(error: FleetError) -> None:
    """Who this is cannot be worked out (an unverified e-mail, a malformed [roles] section): say why, rather than
    guess a role, and let a signed-in user sign out to try another account."""
    st.title("WABA Fleet")
    st.error(f"Cannot work out who you are: {text.literal(error)}", icon=":material/error:")
    if acting_user.auth_enabled():
        st.button("Sign out", key="sign_out", icon=":material/logout:", on_click=st.logout)
    st.stop()


def run() -> None:
    refuse_unsafe_exposure()
    database.engine()  # the schema is brought up to date before any page reads
    freshness.note_data_version()  # once per rerun: the key of every cached read
    if acting_user.auth_enabled() and not st.user.get("is_logged_in"):
        st.navigation(menu("signed out"), position="hidden").run()
        return
    try:
        current = acting_user.current_actor()
    except FleetError as error:
        identity_refused(error)
        return
    identity_sidebar(current)
    with st.sidebar:
        freshness.follow_data_version()
    page = navigation(current)
    with unexpected_errors.shown_by_id(f"page {page.title}"):
        page.run()


with unexpected_errors.shown_by_id("app.py"):
    run()
