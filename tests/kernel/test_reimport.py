"""A plugin whose files change is re-imported at its new hash, models included."""

from __future__ import annotations

from kernel.testing import HEALTH_HEADERS
from tests.helpers import write_plugin

MODELS = """
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from kernel import db


class Shelf(db.Model):
    __tablename__ = "books_shelf"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20), default="{label}")


class Book(db.Model):
    __tablename__ = "books_book"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("books_shelf.id"))
    shelf: Mapped["Shelf"] = relationship("Shelf")
"""

INIT = """
from kernel import hookimpl
from . import models  # noqa: F401

@hookimpl
def health_checks():
    from .models import Book, Shelf
    return [("label", lambda: None if Book.shelf.property.mapper.class_ is Shelf else "stale")]
"""


def test_changed_models_are_reloaded_without_clashes(app, plugins_dir, cli, fresh):
    folder = write_plugin(
        plugins_dir,
        "books",
        INIT,
        capabilities=["health"],
        files={"models.py": MODELS.format(label="v1")},
    )
    assert cli("plugin", "enable", "books").exit_code == 0
    first = fresh(app).test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert first["plugin_health"]["books"] == {"label": "ok"}
    (folder / "models.py").write_text(MODELS.format(label="v2"))
    assert cli("plugin", "enable", "books").exit_code == 0  # update_pending -> rescanned, enabled
    import pteroca_plugins.books.models as models

    assert models.Shelf.__table__.c.label.default.arg == "v2"
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # no "multiple classes found for path Shelf"
    second = fresh(app).test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert second["plugin_health"]["books"] == {"label": "ok"}
