"""The caps and the one-number rule hold under concurrent writers: 20 threads start together on the same engine
(each service call opens its own session); exactly the allowed number of writes succeed and every other thread
gets the rule's named error, never a lock timeout, a deadlock or a crash. Run on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine

from core import integrity, services
from core.reads.accounts import connections_table, wabas_table, workspaces_summary
from core.reads.audit import audit_table
from core.reads.numbers import numbers_table
from core.reads.subscriptions import groups_table
from tests import builders
from tests.builders import ADMIN

THREADS = 20


def race(action: Callable[[int], object]) -> tuple[Counter[str], float, list[str]]:
    """Run `action(i)` in THREADS threads released at once; count outcomes by result or error class, and keep
    the refusal messages the users would read."""
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    messages: list[str] = []
    lock = threading.Lock()

    def contender(index: int) -> None:
        barrier.wait()
        try:
            action(index)
            outcome = "done"
        except Exception as error:  # every outcome is counted; the assertions say which are allowed
            outcome = type(error).__name__ if _is_rule_error(error) else f"{type(error).__name__}: {error}"[:200]
            with lock:
                messages.append(str(error))
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, time.perf_counter() - started, messages


def _is_rule_error(error: Exception) -> bool:
    return type(error).__module__ == "core.errors"


def test_twenty_writers_racing_for_the_last_waba_slot_leave_exactly_ten(engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(engine)
    for index in range(9):
        services.add_waba(
            engine,
            ADMIN,
            workspace="EU Brands",
            portfolio_meta_id=portfolio_id,
            meta_waba_id=str(8000 + index),
            name=f"W{index}",
        )

    outcomes, seconds, messages = race(
        lambda i: services.add_waba(
            engine,
            ADMIN,
            workspace="EU Brands",
            portfolio_meta_id=portfolio_id,
            meta_waba_id=str(9000 + i),
            name=f"Racer {i}",
        )
    )

    print(f"\n[{engine.dialect.name}] 11th WABA race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": 1, "WabaLimitReached": THREADS - 1})
    assert all("'EU Brands'" in message for message in messages)
    assert workspaces_summary(engine).loc[0, "wabas"] == 10
    assert integrity.find_violations(engine) == []


def test_twenty_writers_racing_for_the_last_number_slot_leave_exactly_twenty(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    builders.fill_waba(engine, waba_id, 19)

    outcomes, seconds, messages = race(
        lambda i: services.add_number(
            engine, ADMIN, meta_waba_id=waba_id, group_name=f"Racer {i}", phone=builders.french_mobile(1000 + i)
        )
    )

    print(f"\n[{engine.dialect.name}] 21st number race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": 1, "NumberLimitReached": THREADS - 1})
    assert all("'Fashion FR'" in message for message in messages)
    assert wabas_table(engine).loc[0, "active_numbers"] == 20
    assert integrity.find_violations(engine) == []


def test_twenty_writers_adding_the_same_number_to_different_wabas_add_it_once(engine: Engine) -> None:
    wabas = [builders.waba(engine, workspace=f"Workspace {i}", name=f"WABA {i}") for i in range(THREADS)]

    outcomes, seconds, messages = race(
        lambda i: services.add_number(
            engine, ADMIN, meta_waba_id=wabas[i], group_name="Paris", phone="+33 6 12 34 56 78"
        )
    )

    print(f"\n[{engine.dialect.name}] same-number race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": 1, "NumberAlreadyExists": THREADS - 1})
    assert all("+33 6 12 34 56 78" in message for message in messages), messages  # as pages show numbers
    numbers = numbers_table(engine)
    assert list(numbers["phone_e164"]) == ["+33612345678"]
    assert integrity.find_violations(engine) == []


def test_twenty_admins_archiving_the_same_group_archive_it_once(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    [e164] = builders.fill_waba(engine, waba_id, 1)

    outcomes, seconds, _ = race(lambda i: services.archive_group(engine, ADMIN, phone=e164))

    print(f"\n[{engine.dialect.name}] same-group archive race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": 1, "NotFound": THREADS - 1})
    audit = audit_table(engine, object_type="subscription_group")
    assert list(audit["action"]) == ["archive", "bind"]


def test_twenty_admins_connecting_the_same_portfolio_connect_it_once(engine: Engine) -> None:
    services.add_workspace(engine, ADMIN, "EU Brands")
    portfolio_id = services.add_portfolio(engine, ADMIN, meta_business_id="1001", name="Acme Europe")

    outcomes, seconds, _ = race(
        lambda i: services.connect_portfolio(engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id)
    )

    print(f"\n[{engine.dialect.name}] same-connection race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": THREADS})
    assert len(connections_table(engine)) == 1
    assert list(audit_table(engine)["action"]).count("connect") == 1


def test_twenty_admins_moving_the_same_number_to_different_wabas_move_it_once(engine: Engine) -> None:
    home = builders.waba(engine, workspace="Home", name="Home WABA")
    [e164] = builders.fill_waba(engine, home, 1)
    services.archive_group(engine, ADMIN, phone=e164)
    wabas = [builders.waba(engine, workspace=f"Workspace {i}", name=f"WABA {i}") for i in range(THREADS)]

    outcomes, seconds, _ = race(
        lambda i: services.reattach_number(engine, ADMIN, phone=e164, meta_waba_id=wabas[i], group_name="Moved")
    )

    print(f"\n[{engine.dialect.name}] same-number re-attach race: {dict(outcomes)} in {seconds:.2f} s")
    assert outcomes == Counter({"done": 1, "NumberAlreadyInActiveGroup": THREADS - 1})
    assert list(groups_table(engine, state="active")["phone_e164"]) == [e164]
    assert integrity.find_violations(engine) == []
