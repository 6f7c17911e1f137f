"""The kernel's permission codes (``admin.access``, ``users.manage``, ...)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.accounts.permissions import KERNEL_PERMISSIONS


@hookimpl(trylast=True)
def register_permissions() -> list[tuple[str, str]]:
    return list(KERNEL_PERMISSIONS)
