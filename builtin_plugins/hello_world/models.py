"""hello_world's table (plugin tables are prefixed with the plugin name)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kernel import db
from kernel import now as utcnow


class Greeting(db.Model):
    __tablename__ = "hello_world_greeting"
    __template_fields__ = ("id", "text", "by", "created_at")  # what templates may read
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
