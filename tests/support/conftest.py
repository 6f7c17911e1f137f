"""A panel with the support plugin (and the store) on, customers with servers, and staff with
and without the ``support.tickets`` permission."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest

from kernel.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    instance: object
    customer: object  # TestUser
    other: object
    agent: object  # staff with support.tickets
    plain_staff: object  # staff (admin.access) without it
    admin: object
    server_id: int
    other_server_id: int

    @property
    def app(self):
        return self.instance.app

    def login(self, user):
        return self.instance.login(self.instance.client(), user)


def make_role(app, name: str, permissions: list[str]) -> None:
    from kernel.accounts.models import Role

    with app.app_context():
        db.session.add(Role(name=name, description=name, permissions=permissions))
        db.session.commit()
        db.session.remove()


def make_server(app, user_id: int, name: str = "Survival", *, product_slug: str = "mc") -> int:
    """A live server of ``user_id`` on a product fulfilled by hand (no panel needed)."""
    from builtin_plugins.store.api import PricePlan, Product, Service
    from kernel import now

    with app.app_context():
        product = db.session.scalar(db.select(Product).where(Product.slug == product_slug))
        if product is None:
            product = Product(name=product_slug.upper() + " plan", slug=product_slug,
                              provisioner="manual", description="", images=[], resources={},
                              provisioner_settings={}, active=True)
            product.plans.append(PricePlan(kind="fixed", label="", period_unit="days",
                                           period_count=30, price=1000))
            db.session.add(product)
            db.session.flush()
        service = Service(user_id=user_id, product_id=product.id, plan_id=product.plans[0].id,
                          name=name, state="active", expires_at=now() + timedelta(days=30),
                          price=1000, external_id="manual-x", options={})
        db.session.add(service)
        db.session.commit()
        service_id = service.id
        db.session.remove()
    return service_id


@pytest.fixture
def world(pteroca_instance, enable_plugin) -> World:
    app = enable_plugin("support", with_dependencies=True)
    make_role(app, "agent", ["admin.access", "support.tickets"])
    inst = pteroca_instance
    customer = inst.make_user("cust@example.com", name="Cus Tomer")
    other = inst.make_user("other@example.com", name="Other Person")
    agent = inst.make_user("agent@example.com", role="agent", name="Agnes Agent")
    plain = inst.make_user("helper@example.com", role="support", name="Plain Staff")
    admin = inst.make_user("root@example.com", role="admin", name="Root")
    return World(inst, customer, other, agent, plain, admin,
                 make_server(inst.app, customer.id, "Survival"),
                 make_server(inst.app, other.id, "Other's box"))


def upload(name: str, data: bytes) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def open_ticket(client, *, subject="My server is down", body="It stopped at noon.",
                server: int | None = None, files=(), category: str = "1",
                priority: str = "normal"):
    data = {"subject": subject, "body": body, "category": category, "priority": priority,
            "server": str(server or "")}
    if files:
        data["files"] = [upload(n, d) for n, d in files]
    return client.post("/support/new", data=data, content_type="multipart/form-data")


def ticket_id_of(response) -> int:
    location = response.headers["Location"]
    return int(location.rstrip("/").rsplit("/", 1)[-1])


def models():
    from builtin_plugins.support import models as m

    return m
