"""Rate-limit counters in the database, for a panel without Redis.

Flask-Limiter keeps counters in its storage. In memory they would belong to one app, and
every hot swap (a plugin enabled, a theme chosen) builds a new app: the counters would
start again from zero, and an attacker could reset their own limit by waiting for one.
With ``PTEROCA_REDIS_URL`` the counters live in Redis; without it, here: one row per
limit and client, counted with an atomic upsert, so every process and every app build
shares them. Rows whose window ended are deleted by the ``kernel.prune_rate_limits`` cron
task.
"""

from __future__ import annotations

import hashlib
import time

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from kernel.extensions import db

SCHEME = "pteroca+db"
MAX_KEY = 191


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limit_counter"
    key: Mapped[str] = mapped_column(String(MAX_KEY), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # epoch seconds


def _key(key: str) -> str:
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """A ``limits`` storage (fixed windows) over the app's database, ``pteroca+db://``.

    It writes through the request's own session and commits at once: the limit is checked
    before the view runs, so nothing else is pending, and a count must not be lost when
    the view later rolls back.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = RateLimitCounter.__table__
        dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
        insert = dialect.insert(table).values(key=_key(key), hits=amount, expires_at=now + expiry)
        expired = table.c.expires_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((expired, amount), else_=table.c.hits + amount),
                "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
            },
        ).returning(table.c.hits)
        try:
            hits = db.session.execute(statement).scalar_one()
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            raise
        return int(hits)

    def _row(self, key: str) -> RateLimitCounter | None:
        return db.session.scalar(
            select(RateLimitCounter).where(
                RateLimitCounter.key == _key(key), RateLimitCounter.expires_at > time.time()
            )
        )

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.hits if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at if row else time.time()

    def check(self) -> bool:
        try:
            db.session.execute(select(func.count()).select_from(RateLimitCounter))
        except SQLAlchemyError:
            db.session.rollback()
            return False
        return True

    def reset(self) -> int | None:
        count = db.session.execute(delete(RateLimitCounter)).rowcount
        db.session.commit()
        return count

    def clear(self, key: str) -> None:
        db.session.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _key(key)))
        db.session.commit()


def prune() -> int:
    """Cron task: delete counters whose window ended; returns how many."""
    count = db.session.execute(
        delete(RateLimitCounter).where(RateLimitCounter.expires_at <= time.time())
    ).rowcount
    db.session.commit()
    return count or 0
