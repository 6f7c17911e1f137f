"""Persisted plugin state and settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kernel import clock
from kernel.extensions import db


class PluginRecord(db.Model):
    __tablename__ = "plugin"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="discovered")
    reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    # Hash of the files that passed the scan when the plugin was enabled.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # relative path -> sha256 of every file that scan covered: the verified loader imports
    # nothing else (kernel/plugins/verified.py). None: enabled before per-file hashes.
    files: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)
    scan_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the admitting scan
    # Tables the plugin's migrations had created when they last ran: what a purge drops
    # when the plugin's code may not be imported to run its downgrades.
    tables: Mapped[list | None] = mapped_column(JSON, nullable=True, default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=clock.now, onupdate=clock.now)


class PluginSetting(db.Model):
    __tablename__ = "plugin_setting"
    __table_args__ = (UniqueConstraint("plugin", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text, default="")
    encrypted: Mapped[bool] = mapped_column(default=False)
