"""Subscriptions page: 'Add Subscription Group and Number', archive with its second step explained, re-attach."""

from __future__ import annotations

from core import services
from core.reads.subscriptions import groups_table
from tests.app.ui import exceptions, shown_text, submit, table, texts
from tests.builders import ADMIN, fill_waba, french_mobile, waba


def fill_add_number_form(at, waba_id, group, phone, region=None, display_name=""):
    at.selectbox(key="add_number_waba").select(waba_id)
    at.text_input(key="add_number_group").input(group)
    at.text_input(key="add_number_phone").input(phone)
    if region:
        at.selectbox(key="add_number_region").select(region)
    if display_name:
        at.text_input(key="add_number_display_name").input(display_name)
    return submit(at, "Add Subscription Group and Number")


def test_add_number_typed_in_national_format_with_its_country(empty_db, open_page):
    waba_id = waba(empty_db)
    at = open_page("subscriptions.py")

    fill_add_number_form(at, waba_id, "FR Promotions", "06 12 34 56 78", region="FR", display_name="Fashion FR")

    assert exceptions(at) == []
    assert "Number +33 6 12 34 56 78 added to 'Fashion FR' in subscription group 'FR Promotions'." in texts(at.toast)
    groups = table(at, "subscriptions_active")
    assert groups[["subscription_group", "phone_international", "display_name"]].values.tolist() == [
        ["FR Promotions", "+33 6 12 34 56 78", "Fashion FR"]
    ]
    assert at.text_input(key="add_number_phone").value == ""


def test_country_selector_defaults_to_international_format(empty_db, open_page):
    waba(empty_db)
    at = open_page("subscriptions.py")

    region = at.selectbox(key="add_number_region")

    assert region.value is None
    assert region.options[0] == "International (+…)"
    assert "France (+33)" in region.options
    assert "United States (+1)" in region.options


def test_twenty_first_number_shows_the_limit_and_keeps_the_input(empty_db, open_page):
    waba_id = waba(empty_db)
    fill_waba(empty_db, waba_id, 20)
    at = open_page("subscriptions.py")

    fill_add_number_form(at, waba_id, "one too many", "+33 6 99 00 00 01")

    assert texts(at.error) == [
        "WhatsApp Business Account 'Fashion FR' already has 20 sender numbers (the maximum is 20); "
        "archive a subscription group to free a slot."
    ]
    assert at.text_input(key="add_number_phone").value == "+33 6 99 00 00 01"
    assert at.text_input(key="add_number_group").value == "one too many"
    assert len(groups_table(empty_db, state="active")) == 20


def test_invalid_number_gives_the_reason(empty_db, open_page):
    waba_id = waba(empty_db)
    at = open_page("subscriptions.py")

    fill_add_number_form(at, waba_id, "FR Promotions", "+33 6 12")

    assert texts(at.error) == ["Phone number '+33 6 12' is impossible: too short."]
    assert groups_table(empty_db).empty
    assert at.text_input(key="add_number_phone").value == "+33 6 12"


def test_number_present_in_another_format_is_refused(empty_db, open_page):
    waba_id = waba(empty_db)
    services.add_number(empty_db, ADMIN, meta_waba_id=waba_id, group_name="FR Promotions", phone="+33612345678")
    at = open_page("subscriptions.py")

    fill_add_number_form(at, waba_id, "FR Again", "0033 6 12 34 56 78")

    in_use = "Phone number +33 6 12 34 56 78 is already in use by subscription group 'FR Promotions'."
    assert texts(at.error) == [in_use]
    assert len(groups_table(empty_db)) == 1


def test_archive_needs_the_confirmation(empty_db, open_page):
    waba_id = waba(empty_db)
    [phone] = fill_waba(empty_db, waba_id, 1)
    at = open_page("subscriptions.py")

    at.selectbox(key="archive_group_phone").select(phone)
    submit(at, "Archive group")

    assert "Tick the confirmation first" in texts(at.error)[0]
    assert len(groups_table(empty_db, state="active")) == 1


def test_archiving_explains_the_step_in_meta_and_lists_the_group_apart(empty_db, open_page):
    waba_id = waba(empty_db)
    [phone] = fill_waba(empty_db, waba_id, 1)
    at = open_page("subscriptions.py")
    assert "Delete the number in Meta Business Manager" in shown_text(at)

    at.selectbox(key="archive_group_phone").select(phone)
    at.checkbox(key="archive_group_confirm").check()
    submit(at, "Archive group")

    next_step = (
        "Subscription group 'group 0' is archived. Next step: delete +33 6 00 00 00 00 "
        "from WhatsApp Business Account 'Fashion FR' in Meta Business Manager."
    )
    assert texts(at.get_by_key("outcome_archive_group").success) == [next_step]
    archived = table(at, "subscriptions_archived")
    assert archived[["subscription_group", "phone_international"]].values.tolist() == [["group 0", "+33 6 00 00 00 00"]]
    assert archived["reattachable"].tolist() == [True]


def test_archived_number_is_reattached_to_a_new_group(empty_db, open_page):
    waba_id = waba(empty_db)
    [phone] = fill_waba(empty_db, waba_id, 1)
    services.archive_group(empty_db, ADMIN, phone=phone)
    at = open_page("subscriptions.py")

    at.selectbox(key="reattach_phone").select(phone)
    at.selectbox(key="reattach_waba").select(waba_id)
    at.text_input(key="reattach_group").input("FR Relaunch")
    submit(at, "Re-attach number")

    confirmed = "Number +33 6 00 00 00 00 re-attached to 'Fashion FR' in subscription group 'FR Relaunch'."
    assert confirmed in texts(at.toast)
    assert texts(at.get_by_key("outcome_reattach_number").success) == [confirmed]
    assert table(at, "subscriptions_active")["subscription_group"].tolist() == ["FR Relaunch"]
    assert groups_table(empty_db, state="active")["phone_e164"].tolist() == [phone]


def test_reattaching_into_a_full_waba_is_refused(empty_db, open_page):
    full = waba(empty_db, "EU Brands", "Fashion FR")
    fill_waba(empty_db, full, 20)
    other = waba(empty_db, "US Brands", "Fashion US")
    services.add_number(empty_db, ADMIN, meta_waba_id=other, group_name="US 1", phone=french_mobile(99))
    services.archive_group(empty_db, ADMIN, phone=french_mobile(99))
    at = open_page("subscriptions.py")

    at.selectbox(key="reattach_phone").select(french_mobile(99))
    at.selectbox(key="reattach_waba").select(full)
    at.text_input(key="reattach_group").input("moved")
    submit(at, "Re-attach number")

    assert "already has 20 sender numbers" in texts(at.error)[0]
    assert at.text_input(key="reattach_group").value == "moved"


def test_the_forms_come_before_the_tables_so_a_live_change_to_a_table_never_moves_them(demo_db, open_page):
    at = open_page("subscriptions.py")

    headings = texts(at.main.subheader)

    assert headings[0] == "Manage subscription groups", headings
    assert len(headings) > 1
