"""Alembic migrations of the session store (run by realtime.store.db, never by hand)."""
