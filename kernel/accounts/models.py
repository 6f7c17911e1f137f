"""User and role tables."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kernel.extensions import db
from kernel.models import utcnow


class Role(db.Model):
    __tablename__ = "role"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    # Permission codes; "*" grants every permission.
    permissions: Mapped[list] = mapped_column(JSON, default=list)


class User(UserMixin, db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role_name: Mapped[str] = mapped_column(ForeignKey("role.name"), default="customer")
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    role: Mapped[Role] = relationship(lazy="joined")

    def has_permission(self, code: str) -> bool:
        perms = self.role.permissions if self.role else []
        return "*" in perms or code in perms

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_blocked
