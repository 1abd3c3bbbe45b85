"""Subscriptions: subscription groups per WABA, each bound to one number; admins add, archive and re-attach."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import model, services
from core.reads.accounts import of_wabas, waba_capacity, waba_choices
from core.reads.frame import with_international_numbers
from core.reads.phone_regions import phone_regions
from core.reads.subscriptions import archived_groups, reattach_choices
from pages.kit import acting_user, database, feedback, forms, paging, reads, shell, tables

# A longer list of groups to archive is hard to scroll and heavy to send: past it, pick WABAs in "Show WABAs" first.
MAX_LISTED_GROUPS = 1000


def add_number_form(waba_labels: dict[str, str], regions: dict[str, str]) -> None:
    """Add Subscription Group and Number: a WABA, a group name and the number."""
    feedback.outcome_here("add_number")
    with st.form("add_number_form", clear_on_submit=False):
        st.caption(
            f"At most {model.MAX_NUMBERS_PER_WABA} numbers per WABA. A number may exist only once in the "
            "whole fleet, whatever the format it is typed in."
        )
        waba_id = forms.pick(
            "WhatsApp Business Account", waba_labels, key="add_number_waba", placeholder="Choose a WABA", only_one=True
        )
        group_name = st.text_input("Subscription group name", key="add_number_group", placeholder="e.g. FR Promotions")
        phone = st.text_input(
            "Phone number",
            key="add_number_phone",
            placeholder="+33 6 12 34 56 78, 0033612345678, or a national format with its country",
        )
        region = st.selectbox(
            "Country (for national formats)",
            [None, *regions],
            key="add_number_region",
            format_func=lambda code: regions[code] if code else "International (+…)",
        )
        display_name = st.text_input("Display name", key="add_number_display_name", placeholder="optional")
        if st.form_submit_button("Add Subscription Group and Number", type="primary"):
            with feedback.fleet_errors():
                added = services.add_number(
                    database.engine(),
                    acting_user.current_actor(),
                    meta_waba_id=forms.chosen(waba_id, "a WhatsApp Business Account"),
                    group_name=group_name,
                    phone=phone,
                    display_name=display_name,
                    region=region,
                )
                feedback.succeed(
                    f"Number {model.format_international(added.e164)} added to '{added.waba_name}' in subscription "
                    f"group '{added.group_name}'.",
                    reset={"add_number_group": "", "add_number_phone": "", "add_number_display_name": ""},
                    where="add_number",
                )


def archive_form(active: pd.DataFrame) -> None:
    """Archive a group (step 1 of removing a number; step 2 is in Meta Business Manager)."""
    feedback.outcome_here("archive_group")
    with st.form("archive_group_form", clear_on_submit=False):
        listed = with_international_numbers(active if len(active) <= MAX_LISTED_GROUPS else active.iloc[:0])
        labels = listed["subscription_group"] + " — " + listed["phone_international"] + " (" + listed["waba"] + ")"
        group_labels = dict(zip(listed["phone_e164"].tolist(), labels.tolist(), strict=True))
        if len(listed) < len(active):
            st.info(f"{len(active):,} active groups: pick their WABAs in **Show WABAs** above to list them here.")
        st.warning(
            "Removing a number takes two steps. **1. Archive its subscription group here**: the group's slot in the "
            "WABA is freed and its history is kept. **2. Delete the number in Meta Business Manager** "
            "(WhatsApp Manager › Phone numbers) — this app cannot do that step for you.",
            icon=":material/warning:",
        )
        to_archive = forms.pick(
            "Subscription group to archive", group_labels, key="archive_group_phone", placeholder="Choose a group"
        )
        confirmed = st.checkbox(
            "I understand: I will then delete the number in Meta Business Manager", key="archive_group_confirm"
        )
        if st.form_submit_button("Archive group", type="primary"):
            with feedback.fleet_errors():
                phone_to_archive = forms.chosen(to_archive, "a subscription group to archive")
                if not confirmed:
                    st.error("Tick the confirmation first: archiving is step 1, deleting the number in Meta is step 2.")
                else:
                    result = services.archive_group(
                        database.engine(), acting_user.current_actor(), phone=phone_to_archive
                    )
                    feedback.succeed(
                        result.next_step,
                        keep_visible=True,
                        reset={"archive_group_phone": None, "archive_group_confirm": False},
                        where="archive_group",
                    )


def reattach_form(free: dict[str, str], waba_labels: dict[str, str]) -> None:
    """Re-attach a number whose group was archived to a new group."""
    feedback.outcome_here("reattach_number")
    with st.form("reattach_number_form", clear_on_submit=False):
        st.caption("A number whose group was archived can join a new group — it is the same number, with its history.")
        number = forms.pick("Archived number", free, key="reattach_phone", placeholder="Choose a number")
        target = forms.pick(
            "WhatsApp Business Account", waba_labels, key="reattach_waba", placeholder="Choose a WABA", only_one=True
        )
        new_group = st.text_input("New subscription group name", key="reattach_group")
        if st.form_submit_button("Re-attach number", type="primary"):
            with feedback.fleet_errors():
                added = services.reattach_number(
                    database.engine(),
                    acting_user.current_actor(),
                    phone=forms.chosen(number, "an archived number"),
                    meta_waba_id=forms.chosen(target, "a WhatsApp Business Account"),
                    group_name=new_group,
                )
                feedback.succeed(
                    f"Number {model.format_international(added.e164)} re-attached to '{added.waba_name}' in "
                    f"subscription group '{added.group_name}'.",
                    reset={"reattach_phone": None, "reattach_group": ""},
                    where="reattach_number",
                )


shell.page_header("Subscriptions", "Each subscription group holds exactly one sender number of one WABA.")
admin = acting_user.is_admin()
if shell.empty_fleet_notice():
    st.stop()

wabas = reads.wabas()
waba_labels = waba_choices(wabas)
reattachable = reads.reattachable()
regions = dict(phone_regions())
shown_wabas = st.multiselect(
    "Show WABAs", list(waba_labels), key="subscriptions_waba", format_func=waba_labels.__getitem__,
    placeholder="All",
)  # fmt: skip
active = of_wabas(reads.groups(state="active"), shown_wabas)
all_archived = archived_groups(reads.groups(state="archived"), reattachable)
archived = of_wabas(all_archived, shown_wabas)
group_columns = ["workspace", "waba", "subscription_group", "phone_international", "display_name", "created_at"]
numbers_used = tables.used_of("Numbers", model.MAX_NUMBERS_PER_WABA)

if admin:
    # Above the tables: a live rerun that changes a table's length (a webhook, the worker, another admin) then
    # never moves the forms, and a move of the page would close a select box's open list.
    st.subheader("Manage subscription groups")
    add_tab, archive_tab, reattach_tab = st.tabs(
        ["Add Subscription Group and Number", "Archive a group", "Re-attach a number"]
    )
    with add_tab:
        add_number_form(waba_labels, regions)
    with archive_tab:
        archive_form(active)
    with reattach_tab:
        reattach_form(reattach_choices(all_archived, reattachable), waba_labels)

st.subheader("Numbers per WABA")
per_waba = paging.page_of_long_table(
    of_wabas(waba_capacity(wabas), shown_wabas), "subscriptions_per_waba_page", tables.content_key("waba", shown_wabas)
)
tables.table(
    per_waba.rows, "subscriptions_per_waba",
    ["waba", "workspace", "active_numbers", "free_slots"], {"active_numbers": numbers_used, "free_slots": "Free slots"},
)  # fmt: skip

st.subheader(f"Active subscription groups ({len(active)})")
if active.empty:
    hint = " Add one with **Add Subscription Group and Number** above." if admin else ""
    st.info(f"No active subscription group yet.{hint}", icon=":material/info:")
else:
    counted, page_choice = st.columns([4, 1], vertical_alignment="center")
    page = paging.table_page(active, "subscriptions_page", tables.content_key("active", shown_wabas), page_choice)
    counted.caption(f"{page.described.capitalize()}.")
    tables.table(with_international_numbers(page.rows), "subscriptions_active", group_columns)

st.subheader(f"Archived subscription groups ({len(archived)})")
if archived.empty:
    st.caption("No archived group. Archiving a group frees its slot in the WABA and keeps its history.")
else:
    reattach_label = st.column_config.CheckboxColumn("Can be re-attached", help="The number has no active group now")
    archived_page = paging.page_of_long_table(
        archived, "subscriptions_archived_page", tables.content_key("archived", shown_wabas)
    )
    tables.table(
        with_international_numbers(archived_page.rows), "subscriptions_archived",
        [*group_columns, "archived_at", "reattachable"],
        {"reattachable": reattach_label},
    )  # fmt: skip
