"""The dashboard's own widgets: the wallet balance, then the account's (2FA, verification)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from kernel import hookimpl
from kernel.accounts.models import User
from kernel.web.wallet_views import balance_label
from kernel.web.widgets import account_widgets


@hookimpl(trylast=True)
def dashboard_widgets(user: User) -> list[dict]:
    balance = [
        {
            "title": _("Balance"),
            "order": 10,
            "html": Markup(
                '<p class="fs-3 mb-1" data-testid="balance">{}</p><a href="{}">{}</a>'
            ).format(balance_label(user), url_for("wallet.index"), _("Top up")),
        }
    ]
    return balance + account_widgets(user)
