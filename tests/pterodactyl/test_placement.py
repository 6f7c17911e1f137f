"""Where new servers go when a node lists reachable and unreachable addresses side by side, and
when a product pins an IP or an alias."""

from __future__ import annotations

import pytest

from builtin_plugins.pterodactyl import links, lookups, placement, product
from builtin_plugins.pterodactyl.product import ConfigError
from builtin_plugins.store.testing import buy
from kernel.extensions import db
from tests.pterodactyl.conftest import ids, panel_customer, panel_product, paper_settings

PORTS = "26000-26010"


def add_allocations(panel, node: int, ip: str, ports: list[str], alias: str | None = None):
    body = {"ip": ip, "ports": ports, **({"alias": alias} if alias else {})}
    panel.app.t.request("POST", f"/nodes/{node}/allocations", json=body)


def allocation_of(sim, service) -> tuple[str, int, str | None]:
    server = sim.server(links.server_link(service.id).server_id)
    alloc = sim.state.allocations[server.allocation_id]
    return alloc.ip, alloc.port, alloc.ip_alias


@pytest.fixture
def mixed_node(panel) -> int:
    """sim-node-2 with, in ports 26000-26010: loopback, unspecified and link-local addresses
    on the lowest port, a documentation-range public address from the next port on."""
    node = ids(panel)["nodes"]["sim-node-2"]
    add_allocations(panel, node, "127.0.0.1", ["26000-26003"])
    add_allocations(panel, node, "0.0.0.0", ["26000"])  # noqa: S104 - a panel row, not a bind
    add_allocations(panel, node, "169.254.10.10", ["26000"])
    add_allocations(panel, node, "203.0.113.10", ["26001-26004"])
    return node


@pytest.mark.parametrize(
    "ip, unreachable",
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("0.0.0.0", True),
        ("::", True),  # noqa: S104
        ("::1", True),
        ("169.254.1.1", True),
        ("fe80::1", True),
        ("[::1]", True),
        ("10.20.0.10", False),
        ("203.0.113.10", False),
        ("2001:db8::5", False),
        ("play.example.com", False),
        ("", False),
    ],
)
def test_unreachable_addresses(ip, unreachable):
    assert placement.unreachable_ip(ip) is unreachable


def test_a_new_server_gets_a_public_address_not_the_lowest_loopback_port(
    ctx, panel, sim, mixed_node
):
    settings = paper_settings(
        panel, node_ids=str(mixed_node), location_ids="", port_range=PORTS, allocations=3
    )
    service = buy(panel_customer(balance=5000), panel_product(settings))
    assert service.state == "active"
    assert allocation_of(sim, service)[:2] == ("203.0.113.10", 26001)
    # adding a port lands on the same public address (the panel's auto-allocation)
    identifier = links.server_link(service.id).identifier
    added = panel.client.assign_allocation(identifier)
    assert added["ip"] == "203.0.113.10"


def test_unreachable_addresses_are_still_used_when_nothing_else_is_free(
    ctx, panel, sim, mixed_node
):
    settings = paper_settings(
        panel, node_ids=str(mixed_node), location_ids="", port_range="26000", allocations=1
    )
    service = buy(panel_customer(balance=5000), panel_product(settings))
    assert service.state == "active" and allocation_of(sim, service)[1] == 26000


def test_a_product_pins_an_ip_or_an_alias(ctx, panel, sim, mixed_node):
    add_allocations(panel, mixed_node, "198.51.100.7", ["26005-26006"], alias="play.example.com")
    user = panel_customer()
    by_ip = panel_product(
        paper_settings(
            panel,
            node_ids=str(mixed_node),
            location_ids="",
            port_range=PORTS,
            allocation_ip="198.51.100.7",
        ),
        slug="pinned-ip",
    )
    by_alias = panel_product(
        paper_settings(
            panel,
            node_ids=str(mixed_node),
            location_ids="",
            port_range=PORTS,
            allocation_ip="PLAY.example.com",
        ),
        slug="pinned-alias",
    )
    loopback = panel_product(
        paper_settings(
            panel,
            node_ids=str(mixed_node),
            location_ids="",
            port_range=PORTS,
            allocation_ip="127.0.0.1",
        ),
        slug="pinned-loopback",
    )
    assert allocation_of(sim, buy(user, by_ip)) == ("198.51.100.7", 26005, "play.example.com")
    assert allocation_of(sim, buy(user, by_alias))[:2] == ("198.51.100.7", 26006)
    assert allocation_of(sim, buy(user, loopback))[0] == "127.0.0.1"  # pinned means pinned


def test_a_pin_nothing_matches_fails_the_order_with_a_refund(ctx, panel, sim, mixed_node):
    from kernel.payments import ledger

    settings = paper_settings(
        panel,
        node_ids=str(mixed_node),
        location_ids="",
        port_range=PORTS,
        allocation_ip="192.0.2.99",
    )
    user = panel_customer(balance=5000)
    service = buy(user, panel_product(settings, price=1000))
    db.session.expire_all()
    assert service.state == "provisioning_failed" and "on 192.0.2.99" in service.last_error
    assert ledger.balance(user.id) == 5000


def test_pin_values_are_checked(ctx, panel):
    from builtin_plugins.pterodactyl.catalog import settings_problems
    from tests.pterodactyl.conftest import configure

    for bad in ("1.2.3.4; rm -rf", "a b", "x" * 192):
        with pytest.raises(ConfigError, match="pin to IP or alias"):
            product.parse(paper_settings(panel, allocation_ip=bad))
    assert product.parse(paper_settings(panel, allocation_ip="2001:db8::5")).allocation_ip
    configure(ctx, node_policy="panel_deploy")
    lookups.forget_cache()
    problems = settings_problems(paper_settings(panel, allocation_ip="203.0.113.10"))
    assert problems and "panel_deploy" in problems[0]
