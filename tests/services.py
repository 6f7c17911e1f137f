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
