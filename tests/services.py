"""Services some tests need (Chromium, PostgreSQL, Redis): found, or a plain reason why not.

CI (``CI=true``) installs every service, so there a missing one is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("PTEROCA_CHROMIUM", "/usr/bin/chromium")


def require(available: bool, what: str, how: str) -> None:
    if available:
        return
    message = f"{what} is not available here ({how}); CI runs these tests"
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing on CI: .ci/run must install it ({how})")
    pytest.skip(message)


def require_chromium() -> str:
    require(bool(shutil.which(CHROMIUM)), "Chromium", "apt-get install chromium")
    return CHROMIUM


POSTGRES_ENV = "PTEROCA_TEST_POSTGRES_URL"


def require_postgres() -> str:
    """An admin URL for a PostgreSQL server that may create databases (set by .ci/run)."""
    url = os.environ.get(POSTGRES_ENV, "")
    require(bool(url), "PostgreSQL", f"set {POSTGRES_ENV}, as .ci/run does")
    return url


def fresh_postgres_database(admin_url: str):
    """Create an empty database; return (its SQLAlchemy URL, a function that drops it)."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"pteroca_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    plain = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False), drop
