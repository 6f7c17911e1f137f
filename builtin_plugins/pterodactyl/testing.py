"""Test and benchmark builders for the Pterodactyl plugin: a fleet of live, linked servers.

For pteroca's tests (``tests/pterodactyl``) and benchmarks (``bench/bench_servers.py``,
``bench/bench_reconcile.py``), which all need many servers that are already in line with the
panel simulator without buying each one (a purchase provisions through the panel, one server
at a time). Nothing here runs in the panel; it writes the store's and the plugin's rows
directly, as an import of existing servers would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builtin_plugins.pterodactyl.models import ServerLink, UserLink
from builtin_plugins.store.api import Service
from kernel import db
from kernel import now as utcnow


@dataclass(frozen=True)
class Fleet:
    """What :func:`seed_fleet` made: the services' ids and, in the same order, their servers'."""

    services: list[int]
    servers: list[int]


def seed_fleet(
    sim: Any, product: Any, users: list, count: int, *, per_user: int | None = None
) -> Fleet:
    """``count`` active, in-sync services of ``product``, their servers seeded in ``sim``
    (names, owner, external ids and limits as the product wants) and linked; committed.

    The services go to ``users`` in turn, ``per_user`` each (all to the first by default). A
    user without a panel account link (the account sync makes one when it is on) gets a panel
    user seeded in ``sim`` and a link to it.
    """
    per_user = per_user or count
    panel_users = _panel_users(sim, users)
    owners = [users[n // per_user] for n in range(count)]
    services = [
        Service(
            user_id=owner.id,
            product_id=product.id,
            plan_id=product.plans[0].id,
            name=f"server {n}",
            state="active",
            suspension="",
            expires_at=utcnow(),
            auto_renew=False,
            slots=1,
            price=100,
            charged=100,
            options={},
            last_error="",
            desired_state="active",
            panel_state="active",
            sync_status="ok",
        )
        for n, owner in enumerate(owners)
    ]
    db.session.add_all(services)
    db.session.flush()
    server_ids = sim.seed_servers(
        [panel_users[owner.id] for owner in owners],
        names=[s.name for s in services],
        external_ids=[f"pteroca-{s.id}" for s in services],
        limits={"memory": 0, "disk": 0},
    )
    for service, server_id in zip(services, server_ids, strict=True):
        uuid = sim.state.servers[server_id].uuid
        db.session.add(
            ServerLink(
                service_id=service.id,
                server_id=server_id,
                identifier=uuid[:8],
                uuid=uuid,
                origin="imported",
            )
        )
    db.session.commit()
    return Fleet([s.id for s in services], list(server_ids))


def _panel_users(sim: Any, users: list) -> dict[int, int]:
    """Each user's panel user id: its link's, or one seeded in ``sim`` (in one call) and linked."""
    found: dict[int, int] = {}
    unlinked = []
    for user in users:
        link = db.session.get(UserLink, user.id)
        if link is None:
            unlinked.append(user)
        else:
            found[user.id] = link.panel_user_id
    seeded = sim.seed_users([u.email for u in unlinked]) if unlinked else []
    for user, panel_user in zip(unlinked, seeded, strict=True):
        found[user.id] = panel_user
        db.session.add(
            UserLink(
                user_id=user.id,
                panel_user_id=panel_user,
                panel_username=f"u{panel_user}",
                origin="linked",
                last_error="",
            )
        )
    return found
