"""``Idempotency-Key``: the same key with the same body is the same request; with another
body it is a client's mistake (422), never a silent replay of something else.

:func:`claim` only guards the key against reuse with a different body. What makes the
operation itself happen once is the operation's own rule (the store's purchase token, a
ledger reference): a key maps to one such handle, so ten parallel requests with one key
converge on one result there, under that rule's lock.

A key is remembered for :data:`REPLAY_WINDOW` (docs/api.md promises it); the
``kernel.prune_idempotency_keys`` cron task then forgets it (:func:`prune`). A retry with the
same body after that still lands on the operation's own handle (the same server, the same
ledger entry); only the 422 for a different body is no longer given.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kernel import clock
from kernel.extensions import db
from kernel.privacy.retention import BATCH, delete_older
from kernel.rest.errors import ApiError
from kernel.rest.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY = 255
# How long a key is remembered (docs/api.md "Idempotency"): far beyond any client's retries,
# including a purchase retried after a top-up days later.
REPLAY_WINDOW = timedelta(days=30)


def fingerprint(body: object) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def claim(operation: str, body: object, *, required: bool = True) -> str | None:
    """The request's key for ``operation`` (at most 255 printable characters), after
    checking that an earlier use of it had the same ``body``; '' when absent and not
    required. Commits the first use, so a parallel request sees it."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        if required:
            raise ApiError(
                400,
                f"Send an {HEADER} header (any unique string, e.g. a UUID) so "
                "a retried request cannot buy twice.",
                errors={HEADER: ["required"]},
                type="idempotency_key_missing",
            )
        return None
    if len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            400,
            f"The {HEADER} must be 1 to {MAX_KEY} printable characters.",
            errors={HEADER: ["invalid"]},
        )
    digest = fingerprint(body)
    mine = (
        IdempotencyKey.user_id == current_user.id,
        IdempotencyKey.operation == operation,
        IdempotencyKey.key == key,
    )
    row = db.session.scalar(select(IdempotencyKey).where(*mine))
    if row is None:
        try:
            db.session.add(
                IdempotencyKey(
                    user_id=current_user.id, operation=operation, key=key, fingerprint=digest
                )
            )
            db.session.commit()
            return key
        except IntegrityError:  # a parallel request with the same key won: compare with it
            db.session.rollback()
            row = db.session.scalar(select(IdempotencyKey).where(*mine))
    if row is not None and row.fingerprint != digest:
        raise ApiError(
            422,
            f"This {HEADER} was used with a different request body; use a new "
            "key for a new request.",
            errors={HEADER: ["reused"]},
            type="idempotency_key_reused",
        )
    return key


def prune(now: datetime | None = None, batch: int = BATCH) -> int:
    """Cron task ``kernel.prune_idempotency_keys``: forget keys older than the replay window;
    returns how many went."""
    return delete_older(IdempotencyKey, (now or clock.now()) - REPLAY_WINDOW, batch)
