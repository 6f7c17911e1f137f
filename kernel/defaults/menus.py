"""The client area's own menu entries: dashboard, wallet (with the balance), account."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from kernel import hookimpl
from kernel.accounts.models import User
from kernel.web.wallet_views import balance_label


@hookimpl(trylast=True)
def client_menu_items(user: User) -> list[dict]:
    return [
        {"label": _("Dashboard"), "url": url_for("web.dashboard"), "order": 0},
        {
            "label": _("Wallet") + f" · {balance_label(user)}",
            "url": url_for("wallet.index"),
            "order": 20,
        },
        {"label": _("Account"), "url": url_for("web.account"), "order": 900},
    ]
