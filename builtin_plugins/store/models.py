"""Store tables, all prefixed ``store_``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel import db
from kernel import now as utcnow


class Category(db.Model):
    __tablename__ = "store_category"
    # What theme templates may read (docs/themes.md); relationships only when listed.
    __template_fields__ = ("id", "name", "slug", "description", "image_url", "priority", "featured")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)

    def __str__(self) -> str:
        return self.name


class Product(db.Model):
    __tablename__ = "store_product"
    __template_fields__ = (
        "id",
        "name",
        "slug",
        "description",
        "images",
        "resources",
        "stock",
        "per_customer_limit",
        "allow_auto_renew",
        "active",
        "featured",
        "priority",
        "category_id",
        "category",
        "plans",
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("store_category.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list] = mapped_column(JSON, default=list)
    # Shown to customers: {"memory_mb": 2048, "disk_mb": 10240, "cpu_percent": 100, ...}
    resources: Mapped[dict] = mapped_column(JSON, default=dict)
    provisioner: Mapped[str] = mapped_column(String(64), default="manual")
    provisioner_settings: Mapped[dict] = mapped_column(JSON, default=dict)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: unlimited
    per_customer_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allow_auto_renew: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[Category | None] = relationship()
    plans: Mapped[list[PricePlan]] = relationship(
        back_populates="product", order_by="PricePlan.id", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class PricePlan(db.Model):
    """fixed: ``price`` per period; slot: ``price`` x slots per period; on_demand: ``price`` per
    period, charged only for periods in which the server ran."""

    __tablename__ = "store_price_plan"
    __template_fields__ = (
        "id",
        "product_id",
        "kind",
        "label",
        "period_unit",
        "period_count",
        "price",
        "min_slots",
        "max_slots",
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("store_product.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default="fixed")
    label: Mapped[str] = mapped_column(String(120), default="")
    period_unit: Mapped[str] = mapped_column(String(8), default="days")  # hours | days
    period_count: Mapped[int] = mapped_column(Integer, default=30)
    price: Mapped[int] = mapped_column(BigInteger)  # minor units
    min_slots: Mapped[int] = mapped_column(Integer, default=1)
    max_slots: Mapped[int] = mapped_column(Integer, default=1)
    slot_variable: Mapped[str] = mapped_column(String(64), default="")
    product: Mapped[Product] = relationship(back_populates="plans")

    def __str__(self) -> str:
        return self.label or f"{self.period_count} {self.period_unit}"


class Service(db.Model):
    """A server a customer bought.

    ``state`` is the store's lifecycle (lifecycle.py); ``desired_state`` the panel state that
    follows from it (active, suspended or deleted; with the product's build limits, the
    customer as owner and the service's name), ``panel_state`` what the reconciler last saw
    or made there, and the ``sync_*`` columns the reconciler's progress (reconciler.py).
    """

    __tablename__ = "store_service"
    __table_args__ = (
        Index("ix_store_service_due", "state", "expires_at", "id"),
        Index("ix_store_service_state_id", "state", "id"),  # the admin list's pages (st0004)
        Index("ix_store_service_sync", "sync_status", "sync_next_at"),
    )
    __template_fields__ = (
        "id",
        "name",
        "state",
        "suspension",
        "suspended_at",
        "expires_at",
        "auto_renew",
        "slots",
        "price",
        "created_at",
        "terminated_at",
        "product_id",
        "plan_id",
        "product",
        "plan",
        "setup_status",
        "failure_kind",
        "reinstalls",
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("store_product.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("store_price_plan.id"))
    name: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(24), default="provisioning", index=True)
    suspension: Mapped[str] = mapped_column(String(8), default="")  # "" | auto | manual
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    slots: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[int] = mapped_column(BigInteger)  # per period, after the purchase discount
    charged: Mapped[int] = mapped_column(BigInteger, default=0)  # held for the current period
    external_id: Mapped[str] = mapped_column(String(191), default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # checkout choices (egg, location...)
    last_error: Mapped[str] = mapped_column(Text, default="")
    purchase_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    desired_state: Mapped[str] = mapped_column(String(16), default="active")
    panel_state: Mapped[str] = mapped_column(String(16), default="")
    sync_status: Mapped[str] = mapped_column(String(16), default="ok")  # ok|pending|stuck|accepted
    sync_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every new want
    sync_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sync_next_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sync_claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sync_claim: Mapped[str] = mapped_column(String(32), default="")  # the claiming run's token
    sync_error: Mapped[str] = mapped_column(Text, default="")
    synced_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    product: Mapped[Product] = relationship()
    plan: Mapped[PricePlan] = relationship()

    # What the customer's pages say about setting a server up (fulfilment.py keeps these marks
    # in ``options``, which templates do not see: it also holds the checkout choices).
    @property
    def setup_status(self) -> str:
        """``installing`` while a paid server's first installation runs, else ``""``."""
        return str((self.options or {}).get("setup") or "")

    @property
    def failure_kind(self) -> str:
        """Why a ``provisioning_failed`` server failed: ``create``, ``install`` or ``""``."""
        return str((self.options or {}).get("failure") or "")

    @property
    def reinstalls(self) -> int:
        """Free reinstalls made after a failed first installation."""
        return int((self.options or {}).get("reinstalls") or 0)


class SyncAttempt(db.Model):
    """One try of the reconciler to bring a server's panel state to the desired one."""

    __tablename__ = "store_sync_attempt"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("store_service.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    desired: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok|waiting|failed|human
    panel_state: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class PurchaseToken(db.Model):
    """One per checkout page view: a form submitted twice buys once."""

    __tablename__ = "store_purchase_token"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Voucher(db.Model):
    __tablename__ = "store_voucher"
    __template_fields__ = ("code", "kind", "value", "min_amount", "expires_at")
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # balance | topup_discount | purchase_discount
    value: Mapped[int] = mapped_column(BigInteger)  # minor units (balance) or percent (discounts)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    once_per_user: Mapped[bool] = mapped_column(Boolean, default=True)
    new_accounts_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)

    def __str__(self) -> str:
        return self.code


class VoucherUsage(db.Model):
    __tablename__ = "store_voucher_usage"
    __table_args__ = (
        UniqueConstraint("voucher_id", "reference"),
        Index(
            "ix_store_voucher_usage_voucher_list", "voucher_id", "id"
        ),  # one code's uses (st0004)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("store_voucher.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    reference: Mapped[str] = mapped_column(String(191))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # the discount or credit given
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    voucher: Mapped[Voucher] = relationship()
