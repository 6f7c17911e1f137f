"""A purchase that repeats one made a moment ago: the same customer, product and server name.

Going back from the "server bought" page and submitting the checkout again (or opening it in
a second tab) makes a new order form, so the order-form token cannot tell it from a wish for a
second server. The store asks once instead: :func:`purchase` refuses with :class:`RepeatPurchase`
until the customer confirms, and the checkout page shows the earlier server with a button that
buys another anyway.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from builtin_plugins.store.errors import StoreError
from builtin_plugins.store.lifecycle import TERMINATED
from builtin_plugins.store.models import Service
from kernel import db, now

# Long enough to cover going back, reloading and paying again; short enough that a customer
# who buys a second "survival" server next week is not asked.
REPEAT_WINDOW = timedelta(minutes=10)


class RepeatPurchase(StoreError):
    """The customer bought the same product under the same name moments ago."""

    def __init__(self, earlier: Service):
        super().__init__(
            f"you bought {earlier.name!r} ({earlier.product.name}) a moment ago; "
            "confirm to buy a second one"
        )
        self.earlier = earlier


def recent_same(user_id: int, product_id: int, name: str) -> Service | None:
    """The customer's live server of ``product_id`` named ``name`` (any case) bought within
    :data:`REPEAT_WINDOW` (by the business clock that stamps ``created_at``), newest first."""
    since = now() - REPEAT_WINDOW
    query = (
        select(Service)
        .where(
            Service.user_id == user_id,
            Service.product_id == product_id,
            func.lower(Service.name) == name.strip().lower(),
            Service.state != TERMINATED,
            Service.created_at >= since,
        )
        .order_by(Service.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
