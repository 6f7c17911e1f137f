"""The kernel's own template-slot content: the impersonation banner in the ``header`` slot.

Unlike the other defaults this one is ``tryfirst``: while staff act as a customer, the banner
with its way back must be the first thing in the header, before any plugin's content.
"""

from __future__ import annotations

from typing import Any

from kernel import hookimpl


@hookimpl(tryfirst=True)
def template_slots(slot: str, context: Any) -> Any:
    if slot == "header":
        from kernel.web.impersonation_views import banner

        return banner()
    return None
