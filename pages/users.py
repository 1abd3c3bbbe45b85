"""Users (admins): who has which role when people sign in with the company account."""

from __future__ import annotations

import streamlit as st

from core import identity, services
from core.model import Role
from pages.kit import acting_user, database, feedback, reads, shell, tables

shell.page_header("Users", "Roles: viewers read, analysts also export, admins also change the fleet.")
shell.admins_only("User management")

if not acting_user.auth_enabled():
    st.info(
        "The app runs in local mode (no [auth] section in .streamlit/secrets.toml): everyone acts as the local "
        "user. The roles below apply once sign-in is configured.",
        icon=":material/info:",
    )
st.caption(
    "A signed-in user's role comes from this table; if they are not in it, from the [roles] section of the "
    "secrets; otherwise they are a viewer."
)

users = reads.users()
if users.empty:
    st.caption("No user has been given a role yet.")
else:
    tables.table(users, "users_table", ["name", "role", "created_at"], {"name": "User", "role": "Role"})

feedback.outcome_here("set_role")
with st.form("set_role_form", clear_on_submit=False):
    name = st.text_input("User e-mail", key="set_role_name", placeholder="alice@example.com")
    role = st.selectbox("Role", [r.label for r in Role], index=0, key="set_role_role")
    if st.form_submit_button("Save role", type="primary"):
        with feedback.fleet_errors():
            who = identity.normalize_identity(name)
            services.set_user_role(database.engine(), acting_user.current_actor(), name=who, role=role)
            feedback.succeed(f"User '{who}' is now {role}.", reset={"set_role_name": ""}, where="set_role")
