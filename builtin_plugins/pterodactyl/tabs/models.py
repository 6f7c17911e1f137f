"""The server tabs' one table: which local accounts were made subusers of which servers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow


class Subuser(db.Model):
    """A local account sharing a store service as the panel subuser ``panel_uuid``.

    The row says *who* may ask for access; the permissions themselves are read from the
    panel's subuser list on every request (a subuser removed in the panel loses access).
    """

    __tablename__ = "pterodactyl_subuser"
    __table_args__ = (
        UniqueConstraint("service_id", "user_id", name="uq_pterodactyl_subuser_service_user"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("store_service.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    panel_uuid: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
