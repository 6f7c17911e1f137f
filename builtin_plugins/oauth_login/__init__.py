"""oauth_login: sign up and log in with Discord, Google, GitHub or any OpenID Connect provider.

Hook implementations only; see views.py (the pages), flows.py (state, nonce, PKCE),
client.py (Authlib), identities.py (link, unlink, sign-up rules) and api.py (for plugins).
"""

from __future__ import annotations

from kernel import hookimpl


@hookimpl
def register_blueprints(app):
    from .views import bp

    return [bp]


@hookimpl
def register_hookspecs():
    from . import hookspecs

    return [hookspecs]


@hookimpl
def template_slots(slot, context):
    from . import slots

    return slots.render(slot, context)


@hookimpl
def register_cron_tasks():
    from kernel import CronTask

    from .flows import purge

    return [
        CronTask(
            "oauth_login.purge_flows", "23 * * * *", purge, "Delete sign-in flows older than a day"
        )
    ]


@hookimpl
def personal_data(user):
    from . import privacy

    return privacy.export(user)


@hookimpl
def erase_personal_data(user):
    from . import privacy

    privacy.erase(user)
