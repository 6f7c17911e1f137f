"""kernel core tables: state, audit log, plugins, plugin settings, roles, users, cron runs

Revision ID: k0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "k0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "kernel_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.create_table(
        "plugin",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "plugin_setting",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("plugin", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("encrypted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("plugin", "key", name="uq_plugin_setting_plugin"),
    )
    op.create_index("ix_plugin_setting_plugin", "plugin_setting", ["plugin"])
    role = op.create_table(
        "role",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("permissions", sa.JSON, nullable=False),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column(
            "role_name",
            sa.String(64),
            sa.ForeignKey("role.name", name="fk_user_role_name_role"),
            nullable=False,
        ),
        sa.Column("is_blocked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("email", name="uq_user_email"),
    )
    op.create_table(
        "cron_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("slot", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.UniqueConstraint("task", "slot", name="uq_cron_run_task"),
    )
    op.create_index("ix_cron_run_task", "cron_run", ["task"])
    op.bulk_insert(
        role,
        [
            {"name": "admin", "description": "Full access", "permissions": ["*"]},
            {
                "name": "support",
                "description": "Helps customers",
                "permissions": ["admin.access", "admin.users"],
            },
            {"name": "customer", "description": "Buys and manages servers", "permissions": []},
        ],
    )


def downgrade():
    for table in (
        "cron_run",
        "user",
        "role",
        "plugin_setting",
        "plugin",
        "audit_log",
        "kernel_state",
    ):
        op.drop_table(table)
