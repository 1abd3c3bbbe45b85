"""CSV bulk onboarding into a real SQLite fleet: all or nothing, every bad row named by its line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from core import imports, services
from core.imports import ImportRejected, ImportRequest
from core.imports.csv_onboarding import COLUMNS
from core.reads.accounts import connections_table, wabas_table
from core.reads.audit import audit_table
from core.reads.history import number_history
from core.reads.subscriptions import groups_table
from tests.builders import ADMIN, french_mobile
from tests.fixtures.meta import support

NOW = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)
HEADER = ",".join(COLUMNS)


@pytest.fixture
def fleet(sqlite_engine: Engine) -> Engine:
    support.lucky_shrub_fleet(sqlite_engine)
    return sqlite_engine


def onboard(engine: Engine, text: str) -> imports.ImportResult:
    return imports.run_import(engine, ADMIN, ImportRequest("csv", text.encode(), "onboarding.csv"), now=NOW)


def row(waba: str, group: str, phone: str, *, workspace: str = support.WORKSPACE, waba_name: str = "x") -> str:
    return f"{workspace},{support.PORTFOLIO},{waba},{waba_name},{group},{phone},"


def refused(engine: Engine, text: str) -> list[str]:
    before = support.dump(engine)
    with pytest.raises(ImportRejected) as rejected:
        onboard(engine, text)
    assert support.dump(engine) == before
    return [str(problem) for problem in rejected.value.problems]


def test_a_sheet_onboards_numbers_into_existing_and_new_wabas_connecting_the_portfolio(fleet: Engine) -> None:
    result = imports.run_import(fleet, ADMIN, support.request("csv", "csv/onboarding.csv"), now=NOW)

    assert result.plan.summary() == {
        "portfolios to connect": 1,
        "WABAs to create": 1,
        "numbers to create": 4,
        "history rows": 4,
    }
    groups = groups_table(fleet, state="active").set_index("phone_e164")
    assert groups.loc[
        ["+12015550123", "+33698765432", "+4915123456789", "+4915201234567"], ["waba_id", "subscription_group"]
    ].values.tolist() == [
        [support.WABA_US, "US orders"],
        [support.WABA_EU, "FR promotions"],
        ["980198427658004", "DE service"],
        ["980198427658004", "DE promotions"],
    ]
    connections = connections_table(fleet)
    assert sorted(connections["portfolio_id"]) == sorted([support.PORTFOLIO, support.RETAIL_PORTFOLIO])
    wabas = wabas_table(fleet).set_index("waba_id")
    assert wabas.loc["980198427658004", ["waba", "portfolio_id", "active_numbers"]].tolist() == [
        "Lucky Shrub DE",
        support.RETAIL_PORTFOLIO,
        2,
    ]


def test_onboarding_is_audited_per_object_and_once_for_the_import(fleet: Engine) -> None:
    imports.run_import(fleet, ADMIN, support.request("csv", "csv/onboarding.csv"), now=NOW)

    audit = audit_table(fleet, since=NOW)
    counts = audit.groupby(["action", "object_type"]).size().to_dict()
    assert counts == {
        ("add", "phone_number"): 4,
        ("add", "waba"): 1,
        ("bind", "subscription_group"): 4,
        ("connect", "portfolio"): 1,
        ("import", "import"): 1,
    }
    history = number_history(fleet, ["+4915123456789"])
    assert history[["status", "quality_rating", "messaging_limit_tier", "source"]].values.tolist() == [
        ["PENDING", "NA", "TIER_NOT_SET", "csv-onboarding"]
    ]


def test_a_semicolon_sheet_saved_by_excel_is_onboarded(fleet: Engine) -> None:
    imports.run_import(fleet, ADMIN, support.request("csv", "csv/onboarding_semicolon_excel.csv"), now=NOW)

    groups = groups_table(fleet, state="active").set_index("subscription_group")
    assert groups.loc["España ventas", ["phone_e164", "display_name"]].tolist() == [
        "+34612345678",
        "Lucky Shrub España; ventas",
    ]


def test_a_sheet_saved_by_excel_as_unicode_text_is_onboarded(fleet: Engine) -> None:
    # Excel's "Unicode Text (*.txt)": UTF-16 with its byte-order mark, cells separated by tabs.
    sheet = f"{HEADER}\n{row(support.WABA_US, 'US orders', '+1 201-555-0123')}\n".replace(",", "\t")
    data = sheet.replace("\n", "\r\n").encode("utf-16")

    imports.run_import(fleet, ADMIN, ImportRequest("csv", data, "onboarding.txt"), now=NOW)

    groups = groups_table(fleet, state="active").set_index("subscription_group")
    assert groups.loc["US orders", "phone_e164"] == "+12015550123"


def test_a_header_written_in_words_is_read_like_the_documented_one(fleet: Engine) -> None:
    header = "Workspace, Portfolio ID ,WABA id,WABA-Name,Group,Phone,Display name,Region"
    text = f"{header}\n{row(support.WABA_US, 'US orders', '+1 201-555-0123')},\n"

    onboard(fleet, text)

    groups = groups_table(fleet, state="active").set_index("subscription_group")
    assert groups.loc["US orders", "phone_e164"] == "+12015550123"


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ((support.WABA_US, "3.36123E+10"), "phone"),
        ((support.WABA_US, "33612345678.0"), "phone"),
        ("1.02290129340398E+14", "waba_id"),
    ],
    ids=["phone-in-scientific-notation", "phone-with-decimals", "waba-id-in-scientific-notation"],
)
def test_a_value_a_spreadsheet_turned_into_a_number_is_refused_with_how_to_fix_it(
    fleet: Engine, cells: tuple[str, str] | str, column: str
) -> None:
    waba, phone = cells if isinstance(cells, tuple) else (cells, "+1 201-555-0123")

    (problem,) = refused(fleet, f"{HEADER}\n{row(waba, 'US orders', phone)}\n")

    assert problem.startswith("line 2: ")
    assert f"column '{column}' was turned into a number by a spreadsheet" in problem
    assert "format the column as text" in problem


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(fleet: Engine) -> None:
    problems = refused(fleet, support.read("csv/bad_rows.csv").decode())

    assert problems == [
        "line 3: phone +12015550123 is also on line 2.",
        "line 4: workspace 'Lucky Shrubs' does not exist; create it first (python -m core workspace add).",
        "line 5: Phone number '+1 555-078-3881' is not a valid number in +1.",
        "line 6: Field 'group' contains a text-direction control (U+202E) that would show it differently from how "
        "it is stored.",
        "line 7: Field 'display_name' shows nothing: it holds only invisible characters.",
        "line 8: Phone number '+33 6 12 34' is impossible: too short.",
    ]


def test_a_number_already_in_the_fleet_is_refused_in_any_format(fleet: Engine) -> None:
    services.archive_group(fleet, ADMIN, phone=support.FR_MAIN)
    services.add_number(fleet, ADMIN, meta_waba_id=support.WABA_EU, group_name="FR care", phone=french_mobile(1))

    problems = refused(
        fleet,
        "\n".join(
            [
                HEADER + ",region",
                row(support.WABA_EU, "FR again", "06 00 00 00 01") + ",FR",
                row(support.WABA_EU, "FR back", "0033 6 12 34 56 78") + ",",
            ]
        ),
    )

    assert problems == [
        "line 2: phone +33600000001 is already in use by subscription group 'FR care'.",
        "line 3: phone +33612345678 already exists (its subscription group is archived); re-attach it instead.",
    ]


def test_the_twenty_number_cap_counts_the_files_own_rows(fleet: Engine) -> None:
    rows = [row(support.WABA_US, f"US {index}", french_mobile(index)) for index in range(19)]

    problems = refused(fleet, "\n".join([HEADER, *rows]))

    assert problems == [
        "line 20: WABA 102290129340398 would have 21 numbers (2 active + 19 from this file; the maximum is 20)."
    ]


def test_the_ten_waba_cap_counts_the_files_new_wabas(fleet: Engine) -> None:
    rows = [
        row(str(980000000000000 + index), f"G {index}", french_mobile(index), waba_name=f"W {index}")
        for index in range(9)
    ]

    problems = refused(fleet, "\n".join([HEADER, *rows]))

    assert problems == [
        "line 10: WABA 980000000000008 would be WhatsApp Business Account number 11 of workspace 'Lucky Shrub' "
        "(the maximum is 10)."
    ]


def test_group_names_must_be_new_to_the_workspace_and_to_the_file(fleet: Engine) -> None:
    problems = refused(
        fleet,
        "\n".join(
            [
                HEADER,
                row(support.WABA_EU, "FR main", french_mobile(1)),
                row(support.WABA_EU, "FR care", french_mobile(2)),
                row(support.WABA_EU, "FR care", french_mobile(3)),
            ]
        ),
    )

    assert problems == [
        "line 2: workspace 'Lucky Shrub' already has an active subscription group 'FR main'.",
        "line 4: group 'FR care' of workspace 'Lucky Shrub' is also on line 3.",
    ]


def test_a_waba_of_another_workspace_or_described_two_ways_is_refused(fleet: Engine) -> None:
    services.add_workspace(fleet, ADMIN, "Acme")

    problems = refused(
        fleet,
        "\n".join(
            [
                HEADER,
                row(support.WABA_US, "US x", french_mobile(1), workspace="Acme"),
                row("980198427658004", "DE a", french_mobile(2), waba_name="Lucky Shrub DE"),
                row("980198427658004", "DE b", french_mobile(3), waba_name="Lucky Shrub Germany"),
            ]
        ),
    )

    assert problems == [
        "line 2: WABA 102290129340398 ('Lucky Shrub US') is in workspace 'Lucky Shrub' and portfolio "
        "2729063490586005, not 'Acme' / 2729063490586005.",
        "line 4: WABA 980198427658004 is described differently on line 3 (workspace, portfolio_id and waba_name "
        "must agree).",
    ]


def test_a_dry_run_of_a_sheet_writes_nothing(fleet: Engine) -> None:
    before = support.dump(fleet)

    plan = imports.plan_import(fleet, ADMIN, support.request("csv", "csv/onboarding.csv"), now=NOW)

    assert plan.tables()["Create"]["action"].tolist() == ["connect", "create", "create", "create", "create", "create"]
    assert support.dump(fleet) == before
