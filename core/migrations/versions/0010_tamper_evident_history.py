"""tamper-evident history: hash chains over the audit log and each number's health history; the database refuses
to rewrite, delete or truncate them

Every audit entry and health snapshot gets `chain_hash`, SHA-256 over its recorded values and the hash of the row
before it in its chain (core.chains): one chain for the audit log, one per number for the history, in id order.
Existing rows are chained here. `audit_chain_head` and `history_chain_heads` hold each chain's last hash; writers
lock them to append, and `check` compares them with the last row left.

Guards added on both databases: no UPDATE of a snapshot's recorded values (`quality_changed` stays updatable: the
core sets it, and corrects it when a late snapshot arrives before another; it is not hashed); no UPDATE of
`phone_numbers.e164` to another value; no DELETE of a chain head. The audit log already refused every UPDATE and
DELETE (0001). On PostgreSQL every history table also refuses TRUNCATE (a statement trigger: TRUNCATE fires no
row trigger). A table owner can still drop or disable a trigger: `check` reports missing and disabled guards, and
a runtime role without ownership (`python -m core db grant-runtime`) cannot do either.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.chains import AUDIT_VALUES, GENESIS, SNAPSHOT_VALUES, link

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AUDIT = "audit_log"
SNAPSHOTS = "number_health_snapshots"
HEADS = ("audit_chain_head", "history_chain_heads")
# Every table whose rows are history (0001's and 0005's no-delete tables, and the chain heads).
HISTORY_TABLES = (
    "workspaces",
    "portfolios",
    "workspace_portfolios",
    "wabas",
    "phone_numbers",
    "subscription_groups",
    "message_templates",
    "number_health_snapshots",
    "audit_log",
    "field_event_times",
    *HEADS,
)
RECORDED_SNAPSHOT_COLUMNS = ("id", *SNAPSHOT_VALUES, "chain_hash")
REFUSED = "fleet: {op} on {table} is not allowed (history is kept)"


def _sqlite_refusal(name: str, timing: str, table: str, message: str, when: str = "") -> str:
    return f"CREATE TRIGGER {name} {timing} ON {table} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END"


def _postgresql_refusal(name: str, timing: str, table: str, level: str = "ROW", when: str = "") -> str:
    # fleet_refuse_change() comes from 0001 and names the operation and the table in its message.
    return f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH {level} {when} EXECUTE FUNCTION fleet_refuse_change()"


SNAPSHOT_UPDATE = f"BEFORE UPDATE OF {', '.join(RECORDED_SNAPSHOT_COLUMNS)}"
E164_UPDATE = "BEFORE UPDATE OF e164"


def guards(postgresql: bool) -> dict[tuple[str, str], str]:
    """(table, trigger) → its CREATE statement, for the guards this revision adds."""
    return _postgresql_guards() if postgresql else _sqlite_guards()


def _postgresql_guards() -> dict[tuple[str, str], str]:
    statements = {
        (SNAPSHOTS, f"{SNAPSHOTS}_no_update"): _postgresql_refusal(
            f"{SNAPSHOTS}_no_update", SNAPSHOT_UPDATE, SNAPSHOTS
        ),
        ("phone_numbers", "phone_numbers_e164_fixed"): _postgresql_refusal(
            "phone_numbers_e164_fixed", E164_UPDATE, "phone_numbers", when="WHEN (OLD.e164 IS DISTINCT FROM NEW.e164)"
        ),
    }
    for table in HEADS:
        statements[(table, f"{table}_no_delete")] = _postgresql_refusal(f"{table}_no_delete", "BEFORE DELETE", table)
    for table in HISTORY_TABLES:
        statements[(table, f"{table}_no_truncate")] = _postgresql_refusal(
            f"{table}_no_truncate", "BEFORE TRUNCATE", table, level="STATEMENT"
        )
    return statements


def _sqlite_guards() -> dict[tuple[str, str], str]:
    recorded = REFUSED.format(op="UPDATE of a recorded value", table=SNAPSHOTS)
    e164 = REFUSED.format(op="UPDATE of e164", table="phone_numbers")
    statements = {
        (SNAPSHOTS, f"{SNAPSHOTS}_no_update"): _sqlite_refusal(
            f"{SNAPSHOTS}_no_update", SNAPSHOT_UPDATE, SNAPSHOTS, recorded
        ),
        ("phone_numbers", "phone_numbers_e164_fixed"): _sqlite_refusal(
            "phone_numbers_e164_fixed",
            E164_UPDATE,
            "phone_numbers",
            e164,
            when="FOR EACH ROW WHEN NEW.e164 IS NOT OLD.e164",
        ),
    }
    for table in HEADS:
        refused = REFUSED.format(op="DELETE", table=table)
        statements[(table, f"{table}_no_delete")] = _sqlite_refusal(
            f"{table}_no_delete", "BEFORE DELETE", table, refused
        )
    return statements


def upgrade() -> None:
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    op.add_column(AUDIT, sa.Column("chain_hash", sa.LargeBinary(), nullable=True))
    op.add_column(SNAPSHOTS, sa.Column("chain_hash", sa.LargeBinary(), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "history_chain_heads",
        sa.Column("phone_number_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_numbers.id"],
            name=op.f("fk_history_chain_heads_phone_number_id_phone_numbers"),
        ),
        sa.PrimaryKeyConstraint("phone_number_id", name=op.f("pk_history_chain_heads")),
    )
    # 0001's guard refuses every UPDATE of the audit log: lifted while the existing entries get their hashes.
    op.execute("DROP TRIGGER audit_log_no_update" + (" ON audit_log" if postgresql else ""))
    _chain_audit(connection)
    _chain_history(connection)
    op.execute(_audit_no_update(postgresql))
    for statement in guards(postgresql).values():
        op.execute(statement)


def _audit_no_update(postgresql: bool) -> str:
    """0001's guard, as it wrote it."""
    if postgresql:
        return _postgresql_refusal("audit_log_no_update", "BEFORE UPDATE", AUDIT)
    return _sqlite_refusal("audit_log_no_update", "BEFORE UPDATE", AUDIT, REFUSED.format(op="UPDATE", table=AUDIT))


def _typed(table: str, names: tuple[str, ...]) -> Any:
    """The table with the types its values are hashed with (SQLite hands back times as text otherwise)."""
    types: dict[str, Any] = {"at": sa.DateTime(), "recorded_at": sa.DateTime(), "phone_number_id": sa.Integer()}
    return sa.table(
        table,
        sa.column("id", sa.Integer()),
        sa.column("chain_hash", sa.LargeBinary()),
        *(sa.column(name, types.get(name, sa.Text())) for name in names),
    )


def _chain_audit(connection: sa.Connection) -> None:
    audit = _typed(AUDIT, AUDIT_VALUES)
    rows = connection.execute(sa.select(audit.c.id, *(audit.c[n] for n in AUDIT_VALUES)).order_by(audit.c.id))
    previous = GENESIS
    hashes = []
    for row_id, *values in rows.all():
        previous = link(previous, values)
        hashes.append({"row_id": row_id, "hash": previous})
    _store_hashes(connection, audit, hashes)
    connection.execute(sa.text("INSERT INTO audit_chain_head (id, last_hash) VALUES (1, :hash)"), {"hash": previous})


def _chain_history(connection: sa.Connection) -> None:
    snapshots = _typed(SNAPSHOTS, SNAPSHOT_VALUES)
    rows = connection.execute(
        sa.select(snapshots.c.id, *(snapshots.c[n] for n in SNAPSHOT_VALUES)).order_by(
            snapshots.c.phone_number_id, snapshots.c.id
        )
    )
    hashes = list(_history_hashes(rows.all()))
    _store_hashes(connection, snapshots, hashes)
    heads = list({h["number"]: h for h in hashes}.values())  # each number's last row
    if heads:
        connection.execute(
            sa.text("INSERT INTO history_chain_heads (phone_number_id, last_hash) VALUES (:number, :hash)"), heads
        )


def _history_hashes(rows: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Each row's hash, number by number."""
    for number, chain in groupby(rows, key=itemgetter(1)):
        previous = GENESIS
        for row_id, *values in chain:
            previous = link(previous, values)
            yield {"row_id": row_id, "hash": previous, "number": number}


def _store_hashes(connection: sa.Connection, table: Any, hashes: list[dict[str, Any]]) -> None:
    if hashes:
        statement = table.update().where(table.c.id == sa.bindparam("row_id")).values(chain_hash=sa.bindparam("hash"))
        connection.execute(statement, [{"row_id": h["row_id"], "hash": h["hash"]} for h in hashes])


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, trigger in guards(postgresql):
        # IF EXISTS: on SQLite, a later revision's downgrade that rebuilt the table took its triggers with it.
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (f" ON {table}" if postgresql else ""))
    op.drop_table("history_chain_heads")
    op.drop_table("audit_chain_head")
    op.execute("DROP TRIGGER audit_log_no_update" + (" ON audit_log" if postgresql else ""))
    op.drop_column(SNAPSHOTS, "chain_hash")
    op.drop_column(AUDIT, "chain_hash")
    op.execute(_audit_no_update(postgresql))
