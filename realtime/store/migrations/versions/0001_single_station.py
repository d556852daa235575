"""The single-station schema (schema version 1: runners, sessions, steps, cues).

An existing realtime.db made by that program (PRAGMA user_version = 1, no Alembic table)
is stamped at this revision and then upgraded; a new database starts here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from realtime.store.schema import REAL_COLUMNS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("created", sa.Text, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("runner_id", sa.Integer, sa.ForeignKey("runners.id")),
        sa.Column("kind", sa.Text, sa.CheckConstraint("kind IN ('live', 'analyze')"),
                  nullable=False),
        sa.Column("started", sa.Text, nullable=False),
        sa.Column("ended", sa.Text),
        sa.Column("status", sa.Text,
                  sa.CheckConstraint("status IN ('recording', 'done', 'failed')"),
                  nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("views", sa.Text, nullable=False),
        sa.Column("folder", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("session_index", sa.Integer, nullable=False, server_default="0"),
        sa.Column("t0_s", sa.Float),
        sa.Column("calibration", sa.Text),
        sa.Column("summary", sa.Text),
    )
    op.create_table(
        "steps",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("leg", sa.Text, sa.CheckConstraint("leg IN ('L', 'R')"), nullable=False),
        *(sa.Column(c, sa.Float) for c in REAL_COLUMNS),
        sa.Column("unreliable", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("session_id", "seq"),
    )
    op.create_table(
        "cues",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("t_s", sa.Float, nullable=False),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("spoken", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "seq"),
    )
    op.create_index("sessions_runner", "sessions", ["runner_id", "started"])
