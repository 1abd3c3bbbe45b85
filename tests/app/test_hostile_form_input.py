"""Hostile values typed into the forms: refused with the field's error and the input kept, nothing added; the same
rule the CLI and CSV onboarding apply (core.model.clean_name, normalize_phone_number)."""

from __future__ import annotations

import pytest

from core.reads.accounts import workspaces_summary
from tests.app.test_subscriptions_forms import fill_add_number_form
from tests.app.ui import exceptions, submit, texts
from tests.builders import waba


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("abc\u202edcba", "contains a text-direction control (U+202E)"),
        ("\u200b\u200b", "shows nothing: it holds only invisible characters"),
        ("EU Brands \u0301", "puts a combining mark (U+0301) at the start of a word"),
    ],
    ids=["direction override", "zero-width spaces only", "accent on a space"],
)
def test_a_hostile_workspace_name_is_refused_in_the_form_and_kept_for_correction(empty_db, open_page, typed, reason):
    at = open_page("accounts.py")

    at.text_input(key="add_workspace_name").input(typed)
    submit(at, "Add workspace")

    assert exceptions(at) == []
    assert len(texts(at.error)) == 1
    assert texts(at.error)[0].startswith("Field 'workspace name' ")
    assert reason in texts(at.error)[0]
    assert at.text_input(key="add_workspace_name").value == typed
    assert workspaces_summary(empty_db).empty


def test_an_accent_typed_after_its_letter_is_composed_into_one_character(empty_db, open_page):
    at = open_page("accounts.py")

    at.text_input(key="add_workspace_name").input("EU Brands\u0301")
    submit(at, "Add workspace")

    assert exceptions(at) == []
    assert list(workspaces_summary(empty_db)["workspace"]) == ["EU Brand\u015b"]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("+33 6 AB CD EF 78", "contains letters (A, B, C, D, E, F)"),
        ("-33 6 12 34 56 78", "starts with '-'"),
    ],
    ids=["keypad letters", "leading minus"],
)
def test_a_phone_number_that_is_not_digits_is_refused_in_the_form(empty_db, open_page, typed, reason):
    waba_id = waba(empty_db)
    at = open_page("subscriptions.py")

    fill_add_number_form(at, waba_id, "FR Promotions", typed)

    assert exceptions(at) == []
    assert len(texts(at.error)) == 1
    assert texts(at.error)[0].startswith("Phone number")
    assert reason in texts(at.error)[0]
    assert at.text_input(key="add_number_phone").value == typed
