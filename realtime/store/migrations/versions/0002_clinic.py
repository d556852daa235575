"""The clinic schema: many stations in one database, steps kept per metrics version.

- runners: the profile's TOML text and when it last changed (the clinic's copy);
- sessions: `uuid` and `station` (sessions from many stations never collide), the
  `metrics_version` whose steps are shown, `rev` (what a station has not sent yet);
- steps: keyed by (session, metrics_version, seq), so re-analysis keeps the old rows;
  rows stored before versions existed are version "1";
- session_stats (step count and medians per session and version), sync_marks (what the
  clinic database already has of a station's session).

Every existing row is kept; each existing session gets a new UUID and the station name
the store was opened with.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import context, op

from realtime.store.schema import REAL_COLUMNS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    station = context.config.attributes.get("station") or "unknown"
    op.add_column("runners", sa.Column("profile", sa.Text))
    op.add_column("runners", sa.Column("profile_updated", sa.Text))

    op.add_column("sessions", sa.Column("uuid", sa.String(36)))
    op.add_column("sessions", sa.Column("station", sa.Text))
    op.add_column("sessions", sa.Column("metrics_version", sa.Text, nullable=False,
                                        server_default="1"))
    op.add_column("sessions", sa.Column("rev", sa.Integer, nullable=False, server_default="0"))
    bind = op.get_bind()
    ids = [r[0] for r in bind.execute(sa.text("SELECT id FROM sessions ORDER BY id"))]
    if ids:
        bind.execute(sa.text("UPDATE sessions SET uuid = :u, station = :s WHERE id = :i"),
                     [{"u": str(uuid.uuid4()), "s": station, "i": i} for i in ids])
    # SQLite rebuilds the table: its unnamed CHECKs are not reflected, so they are given
    checks = (sa.CheckConstraint("kind IN ('live', 'analyze')"),
              sa.CheckConstraint("status IN ('recording', 'done', 'failed')"))
    with op.batch_alter_table("sessions", table_args=checks) as b:
        b.alter_column("uuid", existing_type=sa.String(36), nullable=False)
        b.alter_column("station", existing_type=sa.Text, nullable=False)
        b.create_unique_constraint("uq_sessions_uuid", ["uuid"])

    cols = ", ".join(("session_id", "seq", "phase", "leg", *REAL_COLUMNS, "unreliable"))
    op.create_table(
        "steps_v2",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("metrics_version", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("leg", sa.Text, sa.CheckConstraint("leg IN ('L', 'R')"), nullable=False),
        *(sa.Column(c, sa.Float) for c in REAL_COLUMNS),
        sa.Column("unreliable", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("session_id", "metrics_version", "seq", name="pk_steps"),
        sqlite_with_rowid=False,  # a session's steps are read in key order: stored so
    )
    op.execute(f"INSERT INTO steps_v2 ({cols}, metrics_version) "
               f"SELECT {cols}, '1' FROM steps")
    op.drop_table("steps")
    op.rename_table("steps_v2", "steps")

    op.create_table(
        "session_stats",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("metrics_version", sa.Text, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False),
        sa.Column("stats", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("session_id", "metrics_version", name="pk_session_stats"),
    )
    op.create_table(
        "sync_marks",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("rev", sa.Integer, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False),
        sa.Column("cues", sa.Integer, nullable=False),
        sa.Column("synced", sa.Text, nullable=False),
    )
