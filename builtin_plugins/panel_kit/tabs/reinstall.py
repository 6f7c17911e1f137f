"""The reinstall tab: run the egg's install script again, after an explicit confirmation."""

from __future__ import annotations

from flask_babel import gettext as _

from builtin_plugins.panel_kit.tabs.access import Access
from builtin_plugins.panel_kit.tabs.actions import TabError, record, require, with_client


def reinstall(access: Access, *, confirmed: bool) -> None:
    require(access, "settings.reinstall")
    if not confirmed:
        raise TabError(
            _(
                "Tick the box to confirm: reinstalling runs the install script again "
                "and may delete or replace files."
            )
        )
    with_client(access, lambda c: c.client.reinstall(access.identifier), quick=False)
    record(access, "reinstall")
