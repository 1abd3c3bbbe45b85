"""Accounts page: admins add workspaces, portfolios and WhatsApp Business Accounts; a broken rule changes nothing."""

from __future__ import annotations

from core import services
from core.reads.accounts import connections_table, portfolios_table, wabas_table
from core.reads.audit import audit_table
from tests.app.ui import exceptions, submit, table, texts
from tests.builders import ADMIN, unique_meta_id, workspace_with_portfolio


def test_adding_a_workspace_confirms_it_and_lists_it(empty_db, open_page):
    at = open_page("accounts.py")

    at.text_input(key="add_workspace_name").input("EU Brands")
    submit(at, "Add workspace")

    assert exceptions(at) == []
    assert "Workspace 'EU Brands' added." in texts(at.toast)
    assert list(table(at, "accounts_workspaces")["workspace"]) == ["EU Brands"]
    assert at.text_input(key="add_workspace_name").value == ""


def test_tables_already_shown_list_what_was_just_added(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    at = open_page("accounts.py")
    assert list(table(at, "accounts_workspaces")["workspace"]) == ["EU Brands"]

    at.text_input(key="add_workspace_name").input("US Brands")
    submit(at, "Add workspace")

    assert sorted(table(at, "accounts_workspaces")["workspace"]) == ["EU Brands", "US Brands"]
    assert "US Brands" in at.selectbox(key="add_waba_workspace").options


def test_duplicate_workspace_shows_the_reason_and_keeps_the_input(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    at = open_page("accounts.py")

    at.text_input(key="add_workspace_name").input("EU Brands")
    submit(at, "Add workspace")

    assert texts(at.error) == ["Workspace 'EU Brands' already exists."]
    assert at.text_input(key="add_workspace_name").value == "EU Brands"
    assert not at.toast


def test_a_name_holding_markdown_is_echoed_as_written_in_an_error(empty_db, open_page):
    name = "Shop [Win a prize](https://evil.example) $5$"
    at = open_page("accounts.py")

    at.text_input(key="add_workspace_name").input(name)
    submit(at, "Add workspace")
    at.text_input(key="add_workspace_name").input(name)
    submit(at, "Add workspace")

    assert texts(at.error) == [f"Workspace '{name}' already exists."]
    assert "[" not in at.error[0].value.replace("\\[", "")  # every bracket escaped: no link
    assert "$" not in at.error[0].value.replace("\\$", "")  # every dollar escaped: no formula


def test_adding_a_portfolio_with_its_shared_limit(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    at = open_page("accounts.py")

    at.text_input(key="add_portfolio_meta_id").input("102938475610")
    at.text_input(key="add_portfolio_name").input("Acme Europe")
    at.selectbox(key="add_portfolio_limit").select("TIER_2K")
    submit(at, "Add business portfolio")

    assert "Business portfolio 'Acme Europe' (102938475610) added." in texts(at.toast)
    portfolios = portfolios_table(empty_db)
    assert portfolios[["portfolio_id", "messaging_limit"]].values.tolist() == [["102938475610", "TIER_2K"]]


def test_portfolio_id_must_be_digits(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    at = open_page("accounts.py")

    at.text_input(key="add_portfolio_meta_id").input("acme-eu")
    at.text_input(key="add_portfolio_name").input("Acme Europe")
    submit(at, "Add business portfolio")

    assert "Meta business id" in texts(at.error)[0]
    assert portfolios_table(empty_db).empty
    assert at.text_input(key="add_portfolio_meta_id").value == "acme-eu"


def test_connecting_a_portfolio_to_a_workspace(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    portfolio = services.add_portfolio(empty_db, ADMIN, meta_business_id="555", name="Acme Europe")
    at = open_page("accounts.py")

    at.selectbox(key="connect_workspace").select("EU Brands")
    at.selectbox(key="connect_portfolio").select(portfolio)
    submit(at, "Connect portfolio")

    assert "Business portfolio Acme Europe (555) connected to 'EU Brands'." in texts(at.toast)
    assert connections_table(empty_db)["workspace"].tolist() == ["EU Brands"]


def test_adding_a_waba_connects_its_portfolio_when_asked(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    portfolio = services.add_portfolio(empty_db, ADMIN, meta_business_id="555", name="Acme Europe")
    at = open_page("accounts.py")

    at.selectbox(key="add_waba_workspace").select("EU Brands")
    at.selectbox(key="add_waba_portfolio").select(portfolio)
    at.text_input(key="add_waba_meta_id").input("104996872345678")
    at.text_input(key="add_waba_name").input("Fashion FR")
    submit(at, "Add WhatsApp Business Account")

    assert "WhatsApp Business Account 'Fashion FR' (104996872345678) added to 'EU Brands'." in texts(at.toast)
    assert wabas_table(empty_db)["waba"].tolist() == ["Fashion FR"]
    assert connections_table(empty_db)["portfolio_id"].tolist() == ["555"]
    assert table(at, "accounts_wabas")["waba"].tolist() == ["Fashion FR"]


def test_waba_form_names_the_missing_choice(empty_db, open_page):
    services.add_workspace(empty_db, ADMIN, "EU Brands")
    services.add_workspace(empty_db, ADMIN, "US Brands")
    at = open_page("accounts.py")

    at.text_input(key="add_waba_meta_id").input("104996872345678")
    at.text_input(key="add_waba_name").input("Fashion FR")
    submit(at, "Add WhatsApp Business Account")

    assert texts(at.error) == ["Choose a workspace."]
    assert at.text_input(key="add_waba_name").value == "Fashion FR"


def test_a_single_workspace_and_portfolio_are_preselected(empty_db, open_page):
    portfolio = workspace_with_portfolio(empty_db, "EU Brands")

    at = open_page("accounts.py")

    assert at.selectbox(key="add_waba_workspace").value == "EU Brands"
    assert at.selectbox(key="add_waba_portfolio").value == portfolio


def add_wabas(engine, portfolio, indexes):
    for index in indexes:
        services.add_waba(
            engine,
            ADMIN,
            workspace="EU Brands",
            portfolio_meta_id=portfolio,
            meta_waba_id=unique_meta_id(),
            name=f"WABA {index}",
        )


def test_eleventh_waba_shows_the_limit_and_changes_nothing(empty_db, open_page):
    """The workspace fills up (another admin, an import) while the form is open: nothing is written, and the
    page then says the workspace is full."""
    portfolio = workspace_with_portfolio(empty_db, "EU Brands")
    add_wabas(empty_db, portfolio, range(9))
    at = open_page("accounts.py")
    add_wabas(empty_db, portfolio, [9])
    audit_before = len(audit_table(empty_db))

    at.selectbox(key="add_waba_workspace").select("EU Brands")
    at.selectbox(key="add_waba_portfolio").select(portfolio)
    at.text_input(key="add_waba_meta_id").input("104996872345678")
    at.text_input(key="add_waba_name").input("WABA 11")
    submit(at, "Add WhatsApp Business Account")

    full = "Workspace 'EU Brands' already has 10 WhatsApp Business Accounts (the maximum is 10)."
    assert full in texts(at.warning)
    assert at.text_input(key="add_waba_name").disabled
    assert len(wabas_table(empty_db)) == 10
    assert len(audit_table(empty_db)) == audit_before
    assert not at.toast
