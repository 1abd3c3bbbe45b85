"""Accounts: workspaces, their business portfolios and WhatsApp Business Accounts; admins add them here."""

from __future__ import annotations

import streamlit as st

from core import model, services
from core.wording import count
from pages.kit import acting_user, arrow_tables, database, downloads, feedback, forms, reads, shell, tables, text

shell.page_header("Accounts", "Workspaces, the Meta business portfolios connected to them, and their WABAs.")
admin = acting_user.is_admin()
# One block, whatever the fleet holds: the tabs below keep their place, so the open one stays open after a write.
with st.container():
    if reads.fleet_is_empty():
        if admin:
            st.info(
                "No workspace yet. Start with **Add workspace** below, then **Add business portfolio** and "
                "**Add WhatsApp Business Account**; numbers are added in **Subscriptions**.",
                icon=":material/info:",
            )
        else:
            shell.empty_fleet_notice()
    else:
        st.subheader("Workspaces")
        tables.long_table(
            reads.workspaces,
            "accounts_workspaces",
            ["workspace", "portfolios", "wabas", "active_numbers", "number_headroom"],
            {"wabas": f"WABAs (of {model.MAX_WABAS_PER_WORKSPACE})", "number_headroom": "Free number slots"},
        )
        st.subheader("Business portfolios")
        tables.long_table(
            reads.portfolios,
            "accounts_portfolios",
            [
                *("portfolio", "portfolio_id", "messaging_limit", "wabas", "active_numbers", "limit_is_low"),
                *("max_phone_numbers_per_business", "max_phone_numbers_per_waba"),
            ],
            {
                "active_numbers": "Senders",
                "limit_is_low": st.column_config.CheckboxColumn("Low for its senders"),
                "max_phone_numbers_per_business": "Meta: numbers per business",
                "max_phone_numbers_per_waba": "Meta: numbers per WABA",
            },
        )
        st.subheader("Portfolios connected to each workspace")
        tables.long_table(
            reads.connections,
            "accounts_connections",
            ["workspace", "portfolio", "messaging_limit", "connected_at"],
            {"portfolio": "Connected portfolio", "connected_at": tables.when_column("Connected", "YYYY-MM-DD")},
        )
        st.subheader("WhatsApp Business Accounts")
        tables.long_table(
            reads.wabas,
            "accounts_wabas",
            [
                *("workspace", "waba", "waba_id", "portfolio", "active_numbers", "meta_number_limit", "templates"),
                *("status", "state", "ban_state", "restrictions", "violation_type", "last_sync", "last_sync_outcome"),
            ],
            {
                "active_numbers": tables.used_of("Numbers", model.MAX_NUMBERS_PER_WABA),
                "meta_number_limit": st.column_config.NumberColumn("Meta's limit", help="max_phone_numbers_per_waba"),
                "ban_state": "Ban",
                "restrictions": "Restrictions (Meta)",
                "violation_type": "Violation",
                "last_sync": tables.when_column("Last Graph sync", "YYYY-MM-DD HH:mm"),
                "last_sync_outcome": "Sync outcome",
            },
        )
        csv_column, json_column = st.columns(2)
        with csv_column:
            downloads.csv_download(
                "Download WABAs (CSV)",
                reads.wabas(),
                file_name=downloads.export_file_name("wabas"),
                key="wabas_csv",
                rows_key="wabas",
            )
        with json_column:
            downloads.json_download(
                "Download WABAs (JSON)",
                reads.wabas(),
                file_name=downloads.export_file_name("wabas", "json"),
                key="wabas_json",
                rows_key="wabas",
            )
if not admin:
    st.stop()

TIERS = [tier.value for tier in model.MessagingLimitTier]
FULL_WORKSPACES_NAMED = 3
workspace_names, waba_counts = arrow_tables.column_lists(reads.workspaces, "workspace", "wabas")
with_room = [name for name, wabas in zip(workspace_names, waba_counts, strict=True) if model.wabas_fit(wabas)]
full = {name: wabas for name, wabas in zip(workspace_names, waba_counts, strict=True) if not model.wabas_fit(wabas)}
portfolio_labels = dict(zip(*arrow_tables.column_lists(reads.portfolios, "portfolio_id", "portfolio"), strict=True))


def full_workspace_notes(full: dict[str, int], *, offered: bool) -> list[str]:
    """What the Add WABA form says of full workspaces: each by name, or one line for many (a fleet may have
    hundreds)."""
    if len(full) <= FULL_WORKSPACES_NAMED:
        return [
            model.workspace_full_message(name, wabas) + (" It is not offered here." if offered else "")
            for name, wabas in full.items()
        ]
    named = ", ".join(f"'{name}'" for name in list(full)[:FULL_WORKSPACES_NAMED])
    return [
        f"{count(len(full), 'workspace')} already have {model.MAX_WABAS_PER_WORKSPACE} WhatsApp Business Accounts "
        f"(the maximum): {named} and {len(full) - FULL_WORKSPACES_NAMED:,} more."
        + (" They are not offered here." if offered else "")
    ]


def portfolio_label(meta_id: str) -> str:
    return f"{portfolio_labels[meta_id]} ({meta_id})"


st.subheader("Manage accounts")
add_workspace, add_portfolio, connect, add_waba = st.tabs(
    ["Add workspace", "Add business portfolio", "Connect portfolio", "Add WhatsApp Business Account"]
)
with add_workspace:
    feedback.outcome_here("add_workspace")
    with st.form("add_workspace_form", clear_on_submit=False):
        name = st.text_input("Workspace name", key="add_workspace_name", placeholder="e.g. EU Brands")
        if st.form_submit_button("Add workspace", type="primary"):
            with feedback.fleet_errors():
                added = services.add_workspace(database.engine(), acting_user.current_actor(), name)
                feedback.succeed(f"Workspace '{added}' added.", reset={"add_workspace_name": ""}, where="add_workspace")

with add_portfolio:
    feedback.outcome_here("add_portfolio")
    with st.form("add_portfolio_form", clear_on_submit=False):
        st.caption("A business portfolio is a Meta Business Manager; its messaging limit is shared by all its numbers.")
        meta_id = st.text_input(
            "Meta business id", key="add_portfolio_meta_id", placeholder="digits, e.g. 102938475610"
        )
        portfolio_name = st.text_input("Portfolio name", key="add_portfolio_name", placeholder="e.g. Acme Europe")
        limit = st.selectbox(
            "Shared messaging limit", TIERS, index=None, key="add_portfolio_limit", placeholder="Not known yet"
        )
        if st.form_submit_button("Add business portfolio", type="primary"):
            with feedback.fleet_errors():
                added = services.add_portfolio(
                    database.engine(), acting_user.current_actor(), meta_business_id=meta_id, name=portfolio_name,
                    messaging_limit=limit,
                )  # fmt: skip
                feedback.succeed(
                    f"Business portfolio '{portfolio_name.strip()}' ({added}) added.",
                    reset={"add_portfolio_meta_id": "", "add_portfolio_name": "", "add_portfolio_limit": None},
                    where="add_portfolio",
                )


def workspace_and_portfolio(
    workspace_key: str, portfolio_key: str, workspaces: list[str], *, disabled: bool = False
) -> tuple[str | None, str | None]:
    """The workspace and business-portfolio pickers both forms that join the two start with."""
    workspace = st.selectbox(
        "Workspace",
        workspaces,
        index=forms.only_choice(workspaces),
        key=workspace_key,
        placeholder="Choose a workspace",
        disabled=disabled,
    )
    portfolio_id = st.selectbox(
        "Business portfolio",
        list(portfolio_labels),
        index=forms.only_choice(list(portfolio_labels)),
        key=portfolio_key,
        format_func=portfolio_label,
        placeholder="Choose a business portfolio",
        disabled=disabled,
    )
    return workspace, portfolio_id


with connect:
    feedback.outcome_here("connect_portfolio")
    with st.form("connect_portfolio_form", clear_on_submit=False):
        workspace, portfolio_id = workspace_and_portfolio("connect_workspace", "connect_portfolio", workspace_names)
        if st.form_submit_button("Connect portfolio", type="primary"):
            with feedback.fleet_errors():
                workspace = forms.chosen(workspace, "a workspace")
                portfolio_id = forms.chosen(portfolio_id, "a business portfolio")
                if services.connect_portfolio(
                    database.engine(), acting_user.current_actor(), workspace=workspace, portfolio_meta_id=portfolio_id
                ):
                    feedback.succeed(
                        f"Business portfolio {portfolio_label(portfolio_id)} connected to '{workspace}'.",
                        where="connect_portfolio",
                    )
                already = f"Business portfolio {portfolio_label(portfolio_id)} was already connected to '{workspace}'."
                st.info(text.literal(already))

with add_waba:
    feedback.outcome_here("add_waba")
    with st.form("add_waba_form", clear_on_submit=False):
        st.caption(
            f"At most {model.MAX_WABAS_PER_WORKSPACE} WhatsApp Business Accounts per workspace. A WABA lives in one "
            "business portfolio, which must be connected to the workspace."
        )
        # Said before anything is typed: a full workspace is not offered, and with none left the form is off.
        no_room = bool(workspace_names) and not with_room
        for note in full_workspace_notes(full, offered=not no_room):
            st.warning(text.literal(note), icon=":material/block:")
        workspace, portfolio_id = workspace_and_portfolio(
            "add_waba_workspace", "add_waba_portfolio", with_room, disabled=no_room
        )
        connect_if_needed = st.checkbox(
            "Connect this portfolio to the workspace if it is not connected yet",
            value=True,
            key="add_waba_connect",
            disabled=no_room,
        )
        waba_id = st.text_input(
            "Meta WABA id", key="add_waba_meta_id", placeholder="digits, e.g. 104996872345678", disabled=no_room
        )
        waba_name = st.text_input("WABA name", key="add_waba_name", placeholder="e.g. Fashion FR", disabled=no_room)
        if st.form_submit_button("Add WhatsApp Business Account", type="primary", disabled=no_room):
            with feedback.fleet_errors():
                added = services.add_waba(
                    database.engine(), acting_user.current_actor(), workspace=forms.chosen(workspace, "a workspace"),
                    portfolio_meta_id=forms.chosen(portfolio_id, "a business portfolio"), meta_waba_id=waba_id,
                    name=waba_name, connect_if_needed=connect_if_needed,
                )  # fmt: skip
                feedback.succeed(
                    f"WhatsApp Business Account '{waba_name.strip()}' ({added}) added to '{workspace}'.",
                    reset={"add_waba_meta_id": "", "add_waba_name": ""},
                    where="add_waba",
                )
