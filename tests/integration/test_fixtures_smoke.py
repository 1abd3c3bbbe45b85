from __future__ import annotations

from sqlalchemy import Engine

from core.reads.numbers import numbers_table
from tests import builders


def test_a_number_added_on_each_database_shows_in_the_numbers_table(engine: Engine) -> None:
    waba_id = builders.waba(engine)

    builders.fill_waba(engine, waba_id, 2)

    table = numbers_table(engine)
    assert list(table["phone_e164"]) == [builders.french_mobile(0), builders.french_mobile(1)]
    assert set(table["group_state"]) == {"active"}
