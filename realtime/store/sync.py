"""A station's sessions into the clinic database: idempotent, nothing lost, no duplicates.

A station records every step into its own realtime.db first (committed and fsynced as it
happens); this module copies to the clinic database what it does not have yet.  Sessions
are matched by their UUID (runners by name), steps by (session, metrics version, seq) and
cues by (session, seq), and every insert is "insert unless present", so running a sync
twice, or again after one was killed at any point, sends each row once.  Each batch is
one transaction on the clinic side: a killed sync leaves whole batches only.

Order, per session: its row (as "recording" while it is new on the clinic side), then
its steps and cues, then its final row (status, end, summary): the dashboard never shows
a session as done while its steps are still on their way.  The station then notes what
the clinic has (`sync_marks`), which `realtime sessions` reads to show what is not synced.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from realtime.errors import UserError
from realtime.store import schema as S
from realtime.store.db import Store, StoreUnavailable, utc_now

BATCH = 2000  # rows per clinic transaction


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync sent."""

    sessions: int
    steps: int
    cues: int
    runners: int


@dataclass(frozen=True, slots=True)
class Pending:
    """A local session the clinic database does not fully have."""

    id: int
    uuid: str
    steps_to_send: int  # -1: never sent
    cues_to_send: int
    row_changed: bool


def _insert_ignore(c: Connection, table: sa.Table, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, in the clinic database's dialect."""
    if not rows:
        return
    if c.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    c.execute(insert(table).on_conflict_do_nothing(), rows)


def pending(local: Store) -> list[Pending]:
    """Local sessions whose row, steps or cues the clinic database lacks (from the
    station's own notes: no server needed)."""
    s, m, st, cu = S.sessions, S.sync_marks, S.steps, S.cues
    n_steps = (sa.select(st.c.session_id, sa.func.count().label("n")).group_by(st.c.session_id)
               .subquery())
    n_cues = (sa.select(cu.c.session_id, sa.func.count().label("n")).group_by(cu.c.session_id)
              .subquery())
    q = (sa.select(s.c.id, s.c.uuid, s.c.rev, m.c.rev.label("mrev"), m.c.steps.label("msteps"),
                   m.c.cues.label("mcues"), n_steps.c.n.label("steps"),
                   n_cues.c.n.label("cues"))
         .outerjoin(m, m.c.session_id == s.c.id)
         .outerjoin(n_steps, n_steps.c.session_id == s.c.id)
         .outerjoin(n_cues, n_cues.c.session_id == s.c.id)
         .order_by(s.c.id))
    out = []
    with local.engine.connect() as c:
        for r in c.execute(q):
            steps, cues = int(r.steps or 0), int(r.cues or 0)
            if r.mrev is None:
                out.append(Pending(r.id, r.uuid, -1, cues, True))
            elif r.mrev != r.rev or steps > r.msteps or cues > r.mcues:
                out.append(Pending(r.id, r.uuid, steps - r.msteps, cues - r.mcues,
                                   r.mrev != r.rev))
    return out


def _runner_map(local: Store, clinic: Store) -> tuple[dict[int, int], int]:
    """Local runner id -> clinic runner id (runners matched by name; a missing one is
    added with its profile; the newer profile wins on both sides)."""
    r = S.runners
    with local.engine.connect() as c:
        mine = list(c.execute(sa.select(r)))
    out, added = {}, 0
    for row in mine:
        with clinic._tx() as c:
            theirs = c.execute(sa.select(r).where(r.c.name == row.name)).first()
            if theirs is None:  # another station may add the same name at the same moment
                _insert_ignore(c, r, [{"name": row.name, "created": row.created,
                                       "profile": row.profile,
                                       "profile_updated": row.profile_updated}])
                cid = c.execute(sa.select(r.c.id).where(r.c.name == row.name)).scalar()
                added += 1
            else:
                cid = theirs.id
                if row.profile is not None and (theirs.profile_updated or "") < \
                        (row.profile_updated or ""):
                    c.execute(r.update().where(r.c.id == cid).values(
                        profile=row.profile, profile_updated=row.profile_updated))
                elif theirs.profile is not None and (row.profile_updated or "") < \
                        (theirs.profile_updated or ""):
                    local.set_profile(row.name, theirs.profile, theirs.profile_updated)
        out[row.id] = int(cid)
    return out, added


def _push_session(local: Store, clinic: Store, sid: int, runner_ids: dict[int, int],
                  batch: int) -> tuple[int, int]:
    """One session into the clinic database; returns (steps, cues) sent."""
    s, st, cu = S.sessions, S.steps, S.cues
    with local.engine.connect() as lc:
        row = lc.execute(sa.select(s).where(s.c.id == sid)).first()
        versions = [v for (v,) in lc.execute(sa.select(st.c.metrics_version).distinct()
                                             .where(st.c.session_id == sid))]
        n_local_steps = lc.execute(sa.select(sa.func.count()).select_from(st)
                                   .where(st.c.session_id == sid)).scalar() or 0
        n_local_cues = lc.execute(sa.select(sa.func.count()).select_from(cu)
                                  .where(cu.c.session_id == sid)).scalar() or 0
    assert row is not None
    fields = {c.name: getattr(row, c.name) for c in s.c if c.name != "id"}
    fields["runner_id"] = runner_ids.get(row.runner_id) if row.runner_id is not None else None
    with clinic._tx() as c:
        # new there: "recording" until its steps are all in (a sync running beside this
        # one may insert it first: then this insert does nothing)
        _insert_ignore(c, s, [{**fields, "status": "recording", "ended": None,
                               "summary": None, "rev": -1}])
        cid = c.execute(sa.select(s.c.id).where(s.c.uuid == row.uuid)).scalar()
        have = dict(c.execute(sa.select(st.c.metrics_version, sa.func.max(st.c.seq))
                              .where(st.c.session_id == cid).group_by(st.c.metrics_version))
                    .all())
        have_cue = c.execute(sa.select(sa.func.max(cu.c.seq))
                             .where(cu.c.session_id == cid)).scalar()
    sent_steps = sent_cues = 0
    for v in versions:
        after = have.get(v)
        after = -1 if after is None else int(after)
        while True:
            with local.engine.connect() as lc:
                rows = [dict(r._mapping) for r in lc.execute(
                    sa.select(st).where(st.c.session_id == sid, st.c.metrics_version == v,
                                        st.c.seq > after).order_by(st.c.seq).limit(batch))]
            if not rows:
                break
            for r in rows:
                r["session_id"] = cid
            with clinic._tx() as c:
                _insert_ignore(c, st, rows)
            sent_steps += len(rows)
            after = rows[-1]["seq"]
    after = -1 if have_cue is None else int(have_cue)
    while True:
        with local.engine.connect() as lc:
            rows = [dict(r._mapping) for r in lc.execute(
                sa.select(cu).where(cu.c.session_id == sid, cu.c.seq > after)
                .order_by(cu.c.seq).limit(batch))]
        if not rows:
            break
        for r in rows:
            r["session_id"] = cid
        with clinic._tx() as c:
            _insert_ignore(c, cu, rows)
        sent_cues += len(rows)
        after = rows[-1]["seq"]
    with clinic._tx() as c:  # now the row as it is (done, its summary), stats recomputed
        c.execute(s.update().where(s.c.id == cid).values(
            **{k: v for k, v in fields.items() if k not in ("uuid", "station", "started")}))
        c.execute(S.session_stats.delete().where(S.session_stats.c.session_id == cid))
    m = S.sync_marks
    with local._tx() as c:
        c.execute(m.delete().where(m.c.session_id == sid))
        c.execute(m.insert().values(session_id=sid, rev=row.rev, steps=n_local_steps,
                                    cues=n_local_cues, synced=utc_now()))
    return sent_steps, sent_cues


def sync(local: Store, clinic: Store, batch: int = BATCH,
         on_session: Callable[[int, int, int], None] | None = None) -> SyncResult:
    """Send what the clinic database lacks (see the module docstring).  `on_session(i,
    total, steps)` follows the progress."""
    if local.url == clinic.url:
        return SyncResult(0, 0, 0, 0)
    runner_ids, added = _runner_map(local, clinic)
    todo = pending(local)
    n_steps = n_cues = 0
    for i, p in enumerate(todo):
        a, b = _push_session(local, clinic, p.id, runner_ids, batch)
        n_steps += a
        n_cues += b
        if on_session is not None:
            on_session(i + 1, len(todo), a)
    return SyncResult(len(todo), n_steps, n_cues, added)


class Syncer:
    """Sends a station's sessions to the clinic database every `interval_s`, in its own
    thread, while a session records.  The session never waits for it: steps are safe in
    the station's file first.  An unreachable clinic database is said in one line (and
    its return in another); what was not sent goes with the next sync."""

    def __init__(self, local: Store, open_clinic: Callable[[], Store], name: str,
                 interval_s: float = 1.0) -> None:
        self.local, self.open_clinic, self.name = local, open_clinic, name
        self.interval_s = interval_s
        self.clinic: Store | None = None
        self.down = False
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)

    def start(self) -> Syncer:
        self._thread.start()
        return self

    def once(self) -> bool:
        """One sync; False when the clinic database could not be reached."""
        try:
            if self.clinic is None:
                self.clinic = self.open_clinic()
            self.sent += sync(self.local, self.clinic).steps
        except (StoreUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            if not self.down:
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
                print(f"realtime: clinic database {self.name} unreachable ({why}): recording "
                      "on this station; `realtime sync` sends it when the server is back",
                      file=sys.stderr, flush=True)
            self.down = True
            return False
        except (UserError, sa.exc.SQLAlchemyError) as exc:  # said once; tried again later
            if not self.down:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                print(f"realtime: sync to {self.name} failed ({first}); it is tried again",
                      file=sys.stderr, flush=True)
            self.down = True
            return False
        if self.down:
            print(f"realtime: clinic database {self.name} reachable again: sessions sent",
                  file=sys.stderr, flush=True)
        self.down = False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.once()

    def stop(self) -> bool:
        """Stop the thread and make a last sync; False if something is left unsent."""
        self._stop.set()
        self._thread.join(timeout=60.0)
        ok = self.once()
        if self.clinic is not None:
            self.clinic.close()
        return ok
