"""What a first-time admin reads and where: counts in words, numbers in one format, the next step kept in view,
a full workspace said before typing, the sidebar's wording in local mode, tables as tall as their rows."""

from __future__ import annotations

import pytest

from core import services, wording
from tests import builders
from tests.app.ui import button as ui_button
from tests.app.ui import exceptions, shown_text, texts


@pytest.mark.parametrize(
    ("number", "singular", "plural", "expected"),
    [
        (1, "workspace", None, "1 workspace"),
        (2, "workspace", None, "2 workspaces"),
        (0, "sender", None, "0 senders"),
        (1, "entry", "entries", "1 entry"),
        (10_000, "number", None, "10,000 numbers"),
    ],
)
def test_a_count_takes_the_plural_only_when_not_one(number, singular, plural, expected):
    assert wording.count(number, singular, plural) == expected


def test_ecosystem_of_one_of_each_is_counted_in_the_singular(empty_db, open_page):
    builders.fill_waba(empty_db, builders.waba(empty_db), 1)

    at = open_page("ecosystem.py")

    assert exceptions(at) == []
    assert "1 workspace · 1 business portfolio · 1 WABA · 1 number" in shown_text(at)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '1 sender"' in dot or "1 sender\\n" in dot
    assert "1 senders" not in dot


def test_a_local_viewer_is_not_told_they_signed_in_as_an_admin(demo_db, open_page):
    at = open_page("numbers.py", role="viewer")

    sidebar = " ".join(texts(at.sidebar.caption))
    assert "signed in" not in sidebar.lower()
    assert "Local mode, no sign-in: you act as local-admin, with the viewer role." in sidebar


def full_workspace(engine, name="EU Brands"):
    portfolio_id = builders.workspace_with_portfolio(engine, name)
    for index in range(10):
        services.add_waba(
            engine, builders.ADMIN, workspace=name, portfolio_meta_id=portfolio_id,
            meta_waba_id=builders.unique_meta_id(), name=f"WABA {index}",
        )  # fmt: skip


def test_a_full_workspace_is_said_and_the_add_waba_form_is_off_before_typing(empty_db, open_page):
    full_workspace(empty_db)

    at = open_page("accounts.py")

    assert exceptions(at) == []
    assert "Workspace 'EU Brands' already has 10 WhatsApp Business Accounts (the maximum is 10)." in texts(at.warning)
    assert at.text_input(key="add_waba_meta_id").disabled
    assert at.text_input(key="add_waba_name").disabled
    assert at.selectbox(key="add_waba_workspace").disabled
    assert ui_button(at, "Add WhatsApp Business Account").disabled


def test_a_full_workspace_is_not_offered_beside_one_with_room(empty_db, open_page):
    full_workspace(empty_db)
    builders.workspace_with_portfolio(empty_db, "Americas Retail", "Acme Americas")

    at = open_page("accounts.py")

    assert at.selectbox(key="add_waba_workspace").options == ["Americas Retail"]
    assert not at.text_input(key="add_waba_name").disabled
    assert any("EU Brands" in warning and "not offered" in warning for warning in texts(at.warning))


def test_a_role_change_is_confirmed_above_its_form_not_only_in_a_toast(demo_db, open_page):
    at = open_page("users.py")

    at.text_input(key="set_role_name").input("alice@example.com")
    at.selectbox(key="set_role_role").select("analyst")
    ui_button(at, "Save role").click().run()

    assert exceptions(at) == []
    assert texts(at.get_by_key("outcome_set_role").success) == ["User 'alice@example.com' is now analyst."]


def test_an_import_is_confirmed_where_its_apply_button_was_not_under_the_title(empty_db, open_page):
    portfolio_id = builders.workspace_with_portfolio(empty_db)
    at = open_page("import_data.py")
    at.segmented_control(key="import_kind").set_value("csv").run()
    at.text_area(key="import_text").input(
        "workspace,portfolio_id,waba_id,waba_name,group,phone,display_name\n"
        f"EU Brands,{portfolio_id},104996872345678,Fashion FR,FR Promotions,+33612345678,Shop\n"
    ).run()
    ui_button(at, "Preview").click().run()

    ui_button(at, "Apply import").click().run()

    assert exceptions(at) == []
    [confirmed] = texts(at.get_by_key("outcome_apply_import").success)
    assert confirmed.startswith("Imported 'pasted text'")
    assert [note for note in texts(at.success) if note.startswith("Imported")] == [confirmed]


def test_many_full_workspaces_are_said_in_one_line_not_one_each(empty_db, open_page):
    names = ["A Brands", "B Brands", "C Brands", "D Brands"]
    for name in names:
        full_workspace(empty_db, name)
    builders.workspace_with_portfolio(empty_db, "Americas Retail", "Acme Americas")

    at = open_page("accounts.py")

    assert exceptions(at) == []
    assert texts(at.warning) == [
        "4 workspaces already have 10 WhatsApp Business Accounts (the maximum): 'A Brands', 'B Brands', 'C Brands' "
        "and 1 more. They are not offered here."
    ]
    assert at.selectbox(key="add_waba_workspace").options == ["Americas Retail"]
