"""The data version: raised once by every committed write, left alone by refused writes and by imports that change
nothing, so cached page reads keyed by it are dropped exactly when the fleet changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from core import imports, seed, services
from core.db import data_version
from core.errors import DuplicateName
from tests.builders import ADMIN
from tests.fixtures.meta import support


def test_each_service_write_raises_the_version_once(engine: Engine) -> None:
    before = data_version(engine)

    services.add_workspace(engine, ADMIN, "EU Brands")
    services.add_workspace(engine, ADMIN, "US Brands")

    assert data_version(engine) == before + 2


def test_a_refused_write_leaves_the_version(engine: Engine) -> None:
    services.add_workspace(engine, ADMIN, "EU Brands")
    before = data_version(engine)

    with pytest.raises(DuplicateName):
        services.add_workspace(engine, ADMIN, "EU Brands")

    assert data_version(engine) == before


def test_an_import_raises_the_version_and_its_replay_does_not(engine: Engine) -> None:
    support.lucky_shrub_fleet(engine)
    request = support.request("webhook", "webhooks/quality_flagged.json")
    before = data_version(engine)

    imports.run_import(engine, ADMIN, request)
    after_first = data_version(engine)
    imports.run_import(engine, ADMIN, request)

    assert after_first == before + 1
    assert data_version(engine) == after_first


def test_seeding_raises_the_version(sqlite_engine: Engine) -> None:
    before = data_version(sqlite_engine)

    seed.seed(sqlite_engine, seed.DEMO_SHAPE)

    assert data_version(sqlite_engine) == before + 1


def test_an_alert_evaluation_that_finds_nothing_leaves_the_version(engine: Engine) -> None:
    from core.alerts import add_rule
    from core.alerts.evaluation import evaluate

    support.lucky_shrub_fleet(engine)
    add_rule(engine, ADMIN, name="quality", event="quality_drop", target="mailto:ops@example.com")
    evaluate(engine, datetime.now(UTC))
    before = data_version(engine)

    evaluate(engine, datetime.now(UTC))

    assert data_version(engine) == before
