"""Builders for test data: each call makes what a test needs, through the real services."""

from __future__ import annotations

import itertools

import phonenumbers
from sqlalchemy import Engine

from core import services
from core.model import Actor, Role

ADMIN = Actor(name="admin@example.com", role=Role.ADMIN)
ANALYST = Actor(name="analyst@example.com", role=Role.ANALYST)
VIEWER = Actor(name="viewer@example.com", role=Role.VIEWER)

_ids = itertools.count(1)


def unique_meta_id() -> str:
    return str(900_000_000_000 + next(_ids))


def french_mobile(index: int) -> str:
    """A valid, distinct French mobile number in E.164 for each index (0 ≤ index < 10^8)."""
    number = f"+336{index:08d}"
    assert phonenumbers.is_valid_number(phonenumbers.parse(number))
    return number


def workspace_with_portfolio(engine: Engine, name: str = "EU Brands", portfolio_name: str = "Acme Europe") -> str:
    """A workspace connected to a new portfolio; returns the portfolio's Meta id."""
    services.add_workspace(engine, ADMIN, name)
    portfolio_id = services.add_portfolio(
        engine, ADMIN, meta_business_id=unique_meta_id(), name=portfolio_name, messaging_limit="TIER_2K"
    )
    services.connect_portfolio(engine, ADMIN, workspace=name, portfolio_meta_id=portfolio_id)
    return portfolio_id


def waba(engine: Engine, workspace: str = "EU Brands", name: str = "Fashion FR") -> str:
    """A WABA in a (new if needed) workspace; returns its Meta id."""
    portfolio_id = workspace_with_portfolio(engine, workspace)
    return services.add_waba(
        engine, ADMIN, workspace=workspace, portfolio_meta_id=portfolio_id, meta_waba_id=unique_meta_id(), name=name
    )


def fill_waba(engine: Engine, meta_waba_id: str, count: int, start: int = 0) -> list[str]:
    """Adds `count` numbers (each in its own group) to a WABA; returns their E.164 forms."""
    added = []
    for index in range(start, start + count):
        result = services.add_number(
            engine, ADMIN, meta_waba_id=meta_waba_id, group_name=f"group {index}", phone=french_mobile(index)
        )
        added.append(result.e164)
    return added
