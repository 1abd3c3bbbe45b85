"""The caps and the at-risk rule live in core.model; services, imports and pages ask it rather than compare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import model

CORE = Path(model.__file__).parent
# A cap compared against outside the model: `x > MAX_NUMBERS_PER_WABA`, `MAX_WABAS_PER_WORKSPACE >= y`…
CAP_COMPARISON = re.compile(
    r"[<>]=?\s*(model\.)?MAX_(NUMBERS_PER_WABA|WABAS_PER_WORKSPACE)\b|\bMAX_(NUMBERS_PER_WABA|WABAS_PER_WORKSPACE)\s*[<>]"
)
# integrity re-checks the stored data in SQL (HAVING count > cap), the database-side form of the same constant.
ALLOWED = {"model.py", "integrity.py"}


@pytest.mark.parametrize(
    ("active", "added", "fits"),
    [(0, 20, True), (19, 1, True), (20, 1, False), (15, 6, False), (15, 5, True), (0, 21, False)],
)
def test_a_waba_has_room_for_twenty_numbers(active: int, added: int, fits: bool) -> None:
    assert model.numbers_fit(active, added) is fits


@pytest.mark.parametrize(("active", "added", "fits"), [(0, 10, True), (9, 1, True), (10, 1, False), (8, 3, False)])
def test_a_workspace_has_room_for_ten_wabas(active: int, added: int, fits: bool) -> None:
    assert model.wabas_fit(active, added) is fits


@pytest.mark.parametrize("path", sorted(p for p in CORE.rglob("*.py") if p.name not in ALLOWED), ids=str)
def test_no_module_but_the_model_compares_against_a_cap(path: Path) -> None:
    assert CAP_COMPARISON.search(path.read_text(encoding="utf-8")) is None


def test_the_at_risk_definition_names_every_value_once() -> None:
    definition = model.at_risk_definition()

    assert definition == ("Quality YELLOW or RED, or status FLAGGED, RESTRICTED, RATE_LIMITED, DISCONNECTED or BANNED")


@pytest.mark.parametrize(
    ("quality", "status"),
    [(quality, status) for quality in [*model.QualityRating, None] for status in [*model.NumberStatus, None]],
)
def test_a_number_has_reasons_exactly_when_it_is_at_risk(quality: str | None, status: str | None) -> None:
    assert (model.risk_reasons(quality, status) != "") is model.is_number_at_risk(quality, status)
