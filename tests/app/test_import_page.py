"""The Import page (admins): choose a kind, upload or paste a file, read the preview, apply it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from core.reads.numbers import numbers_table
from tests.app.ui import button, exceptions, shown_text, table, texts
from tests.fixtures.meta import support


@pytest.fixture
def lucky_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The fleet of the Meta fixtures, used by the app under test (DATABASE_URL)."""
    engine = support.fleet_in(tmp_path / "fleet.db")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fleet.db'}")
    monkeypatch.delenv("FLEET_USER", raising=False)
    yield engine
    engine.dispose()


def preview_pasted(at: AppTest, kind: str, content: str) -> AppTest:
    at.segmented_control(key="import_kind").set_value(kind).run()
    at.text_area(key="import_text").input(content).run()
    return button(at, "Preview").click().run()


def tab_labels(at: AppTest) -> list[str]:
    return [tab.label for tab in at.tabs]


def test_pasted_webhooks_are_previewed_with_their_changes_and_nothing_is_written(
    lucky_db: Engine, open_page: Callable[..., AppTest]
) -> None:
    before = support.dump(lucky_db)
    at = open_page("import_data.py")

    preview_pasted(at, "webhook", support.read("webhooks/day_of_deliveries.jsonl").decode())

    assert exceptions(at) == []
    assert "Preview of pasted text" in shown_text(at)
    assert tab_labels(at) == ["Create (2)", "Update (5)", "History (3)", "Skipped (2)"]  # alert and violation kept
    changes = table(at, "import_table_update")
    assert ("number", support.US_SUPPORT, "messaging_limit_tier", "TIER_10K", "TIER_1K") in [
        tuple(row) for row in changes[["object", "key", "field", "before", "after"]].values.tolist()
    ]
    assert button(at, "Apply import") is not None
    assert support.dump(lucky_db) == before


def test_applying_the_preview_writes_it_and_says_what_changed(
    lucky_db: Engine, open_page: Callable[..., AppTest]
) -> None:
    at = open_page("import_data.py")
    preview_pasted(at, "webhook", support.read("webhooks/quality_flagged.json").decode())

    button(at, "Apply import").click().run()

    assert exceptions(at) == []
    table = numbers_table(lucky_db).set_index("phone_e164")
    assert table.loc[support.US_MAIN, "status"] == "FLAGGED"
    assert "Imported 'pasted text'" in shown_text(at)
    assert at.toast[0].value.startswith("Imported 'pasted text'")
    assert "Apply import" not in [b.label for b in at.button]


def test_an_uploaded_listing_for_the_chosen_waba_is_previewed(
    lucky_db: Engine, open_page: Callable[..., AppTest]
) -> None:
    at = open_page("import_data.py")
    at.selectbox(key="import_waba").select(support.WABA_US).run()

    at.file_uploader(key="import_file").set_value(
        ("phone_numbers.json", support.read("listings/lucky_shrub_us_page.json"), "application/json")
    ).run()
    button(at, "Preview").click().run()

    assert exceptions(at) == []
    assert "Preview of phone_numbers.json" in shown_text(at)
    created = table(at, "import_table_create")
    assert created[["action", "object", "key"]].values.tolist() == [["create", "number", "+16315555555"]]
    assert {metric.label: metric.value for metric in at.metric}["Numbers to update"] == "2"


def test_a_broken_file_shows_every_problem_and_offers_no_apply(
    lucky_db: Engine, open_page: Callable[..., AppTest]
) -> None:
    at = open_page("import_data.py")

    preview_pasted(at, "csv", support.read("csv/bad_rows.csv").decode())

    assert exceptions(at) == []
    assert "6 problem(s): nothing can be imported" in shown_text(at)
    errors = table(at, "import_table_errors")
    assert errors["where"].tolist() == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"]
    assert "Apply import" not in [b.label for b in at.button]


def test_a_file_the_fleet_already_matches_has_nothing_to_apply(
    lucky_db: Engine, open_page: Callable[..., AppTest]
) -> None:
    at = open_page("import_data.py")
    listing = json.dumps(support.BASELINE_LISTING)
    at.selectbox(key="import_waba").select(support.WABA_US).run()

    preview_pasted(at, "meta-numbers", listing)

    assert "there is nothing to apply" in shown_text(at)
    assert "Apply import" not in [b.label for b in at.button]


def test_an_import_over_the_size_limit_is_refused_with_the_sizes(
    lucky_db: Engine, open_page: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_MAX_IMPORT_BYTES", "1000")
    at = open_page("import_data.py")

    preview_pasted(at, "webhook", support.read("webhooks/day_of_deliveries.jsonl").decode())

    assert exceptions(at) == []
    assert texts(at.error)[0].startswith("File 'pasted text' is ")
    assert "imports accept at most 1000 bytes (1,000 bytes)" in texts(at.error)[0]


@pytest.mark.parametrize(("limit", "shown_mb", "said"), [(None, 10, "10.0 MB"), ("3000000", 3, "2.9 MB")])
def test_the_upload_box_takes_files_up_to_the_import_limit(
    lucky_db: Engine,
    open_page: Callable[..., AppTest],
    monkeypatch: pytest.MonkeyPatch,
    limit: str | None,
    shown_mb: int,
    said: str,
) -> None:
    if limit is not None:
        monkeypatch.setenv("FLEET_MAX_IMPORT_BYTES", limit)
    at = open_page("import_data.py")

    uploader = at.file_uploader(key="import_file")

    assert uploader.proto.max_upload_size_mb == shown_mb
    assert said in uploader.proto.help


def test_the_preview_is_dropped_when_the_input_changes(lucky_db: Engine, open_page: Callable[..., AppTest]) -> None:
    at = open_page("import_data.py")
    preview_pasted(at, "webhook", support.read("webhooks/quality_flagged.json").decode())

    at.text_area(key="import_text").input(support.read("webhooks/quality_unflagged.json").decode()).run()

    assert "Preview of" not in shown_text(at)


def test_an_upload_over_the_size_limit_is_refused_when_chosen_and_cannot_be_previewed(
    lucky_db: Engine, open_page: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_MAX_IMPORT_BYTES", "1000")
    at = open_page("import_data.py")
    at.segmented_control(key="import_kind").set_value("webhook").run()

    at.file_uploader(key="import_file").set_value(
        ("deliveries.jsonl", support.read("webhooks/day_of_deliveries.jsonl"), "application/json")
    ).run()

    assert exceptions(at) == []
    assert texts(at.error) == [
        "'deliveries.jsonl' holds more than 1000 bytes (1,000 bytes), the most an import accepts. Split the file, or "
        "raise FLEET_MAX_IMPORT_BYTES."
    ]
    assert button(at, "Preview").disabled
