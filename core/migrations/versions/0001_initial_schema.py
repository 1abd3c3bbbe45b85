"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=60), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("meta_phone_number_id", sa.String(length=32), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("quality_rating", sa.String(length=60), nullable=False),
        sa.Column("messaging_limit_tier", sa.String(length=60), nullable=False),
        sa.Column("name_status", sa.String(length=60), nullable=False),
        sa.Column("throughput_level", sa.String(length=60), nullable=True),
        sa.Column("code_verification_status", sa.String(length=60), nullable=True),
        sa.Column("platform_type", sa.String(length=60), nullable=True),
        sa.Column("account_mode", sa.String(length=60), nullable=True),
        sa.Column("health_event_time", sa.DateTime(), nullable=True),
        sa.Column("name_event_time", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint("e164", name=op.f("uq_phone_numbers_e164")),
        sa.UniqueConstraint(
            "meta_phone_number_id", name=op.f("uq_phone_numbers_meta_phone_number_id")
        ),
    )
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meta_business_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("messaging_limit", sa.String(length=60), nullable=True),
        sa.Column("max_phone_numbers_per_business", sa.Integer(), nullable=True),
        sa.Column("max_phone_numbers_per_waba", sa.Integer(), nullable=True),
        sa.Column("limit_event_time", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint(
            "meta_business_id", name=op.f("uq_portfolios_meta_business_id")
        ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.create_table(
        "number_health_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_number_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("quality_rating", sa.String(length=60), nullable=False),
        sa.Column("messaging_limit_tier", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_numbers.id"],
            name=op.f("fk_number_health_snapshots_phone_number_id_phone_numbers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_health_snapshots")),
    )
    with op.batch_alter_table("number_health_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_number_health_snapshots_number_time",
            ["phone_number_id", "recorded_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_number_health_snapshots_time", ["recorded_at"], unique=False
        )

    op.create_table(
        "wabas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meta_waba_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("ban_state", sa.String(length=60), nullable=True),
        sa.Column("status_event_time", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'archived')", name=op.f("ck_wabas_state")
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_wabas_portfolio_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_wabas_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wabas")),
        sa.UniqueConstraint("meta_waba_id", name=op.f("uq_wabas_meta_waba_id")),
    )
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wabas_portfolio_id"), ["portfolio_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wabas_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "workspace_portfolios",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("connected_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_workspace_portfolios_portfolio_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_portfolios_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "portfolio_id", name=op.f("pk_workspace_portfolios")
        ),
    )
    with op.batch_alter_table("workspace_portfolios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workspace_portfolios_portfolio_id"),
            ["portfolio_id"],
            unique=False,
        )

    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("waba_id", sa.Integer(), nullable=False),
        sa.Column("meta_template_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=60), nullable=False),
        sa.Column("quality_score", sa.String(length=60), nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["waba_id"], ["wabas.id"], name=op.f("fk_message_templates_waba_id_wabas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint(
            "waba_id",
            "name",
            "language",
            name=op.f("uq_message_templates_waba_id_name_language"),
        ),
    )
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_templates_meta_template_id"),
            ["meta_template_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_message_templates_waba_id"), ["waba_id"], unique=False
        )

    op.create_table(
        "subscription_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("waba_id", sa.Integer(), nullable=False),
        sa.Column("phone_number_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(state = 'archived') = (archived_at IS NOT NULL)",
            name=op.f("ck_subscription_groups_archived_at_iff_archived"),
        ),
        sa.CheckConstraint(
            "state IN ('active', 'archived')", name=op.f("ck_subscription_groups_state")
        ),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_numbers.id"],
            name=op.f("fk_subscription_groups_phone_number_id_phone_numbers"),
        ),
        sa.ForeignKeyConstraint(
            ["waba_id"], ["wabas.id"], name=op.f("fk_subscription_groups_waba_id_wabas")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_subscription_groups_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_groups")),
    )
    with op.batch_alter_table("subscription_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_groups_phone_number_id"),
            ["phone_number_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_subscription_groups_waba_state", ["waba_id", "state"], unique=False
        )
        batch_op.create_index(
            "uq_subscription_groups_active_name",
            ["workspace_id", "name"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.create_index(
            "uq_subscription_groups_active_number",
            ["phone_number_id"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
    _guard_history()


def downgrade() -> None:
    _drop_guards()
    with op.batch_alter_table("subscription_groups", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_subscription_groups_active_number",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index(
            "uq_subscription_groups_active_name",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index("ix_subscription_groups_waba_state")
        batch_op.drop_index(batch_op.f("ix_subscription_groups_phone_number_id"))

    op.drop_table("subscription_groups")
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_templates_waba_id"))
        batch_op.drop_index(batch_op.f("ix_message_templates_meta_template_id"))

    op.drop_table("message_templates")
    with op.batch_alter_table("workspace_portfolios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspace_portfolios_portfolio_id"))

    op.drop_table("workspace_portfolios")
    with op.batch_alter_table("wabas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wabas_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_wabas_portfolio_id"))

    op.drop_table("wabas")
    with op.batch_alter_table("number_health_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_number_health_snapshots_time")
        batch_op.drop_index("ix_number_health_snapshots_number_time")

    op.drop_table("number_health_snapshots")
    op.drop_table("workspaces")
    op.drop_table("users")
    op.drop_table("portfolios")
    op.drop_table("phone_numbers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")


# Nothing here is ever hard-deleted, and the audit log is append-only: the database refuses it too.
NO_DELETE_TABLES = (
    "workspaces",
    "portfolios",
    "workspace_portfolios",
    "wabas",
    "phone_numbers",
    "subscription_groups",
    "message_templates",
    "number_health_snapshots",
    "audit_log",
)


def _guard_history() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION fleet_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'fleet: % on % is not allowed (history is kept)', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in NO_DELETE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fleet_refuse_change()"
            )
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION fleet_refuse_change()"
        )
        return
    for table in NO_DELETE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'fleet: DELETE on {table} is not allowed (history is kept)'); END"
        )
    op.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'fleet: UPDATE on audit_log is not allowed (history is kept)'); END"
    )


def _drop_guards() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in NO_DELETE_TABLES:
        op.execute(
            f"DROP TRIGGER {table}_no_delete" + (f" ON {table}" if postgresql else "")
        )
    op.execute(
        "DROP TRIGGER audit_log_no_update" + (" ON audit_log" if postgresql else "")
    )
    if postgresql:
        op.execute("DROP FUNCTION fleet_refuse_change()")
