"""Keyset paging for Flask-Admin model lists whose tables grow without bound (the logs).

Flask-Admin pages with ``OFFSET`` and counts every matching row for its pager: both read the
whole table on a log of millions of rows. :class:`KeysetListMixin` keeps Flask-Admin's list,
search, filters and details, but pages newest first by id through :mod:`kernel.paging`
(``?before=`` / ``?after=`` cursors, ``?per_page=``) and counts nothing. Column sorting is off:
the order is the keyset's. A malformed cursor or page size shows the newest page with the
reason, answered 400.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, request
from flask_admin import expose

from kernel import paging
from kernel.paging import page_url


class PerPageMixin:
    """Mix into a Flask-Admin ``ModelView`` (before it): ``?per_page=`` sets the page size
    (:data:`~kernel.paging.MIN_PER_PAGE` to :data:`~kernel.paging.MAX_PER_PAGE`); a bad value
    shows the default page size with the reason, answered 400."""

    @expose("/")
    def index_view(self) -> tuple[str, int]:
        status = 200
        try:
            g.per_page = paging.per_page(request.args, self.page_size)
        except paging.PagingError as exc:
            flash(f"{exc}; showing {self.page_size} per page", "error")
            g.per_page, status = self.page_size, 400
        return super().index_view(), status

    def get_safe_page_size(self, page_size: int | None) -> int:
        return g.get("per_page") or self.page_size


class KeysetListMixin:
    """Mix into a Flask-Admin ``ModelView`` (before it): keyset pages, no count, no sorting."""

    list_template = "admin/pteroca/keyset_list.html"
    simple_list_pager = True  # no COUNT(*) of the matching rows
    column_sortable_list: tuple = ()
    page_size = 50

    @expose("/")
    def index_view(self) -> tuple[str, int]:
        status = 200
        try:
            g.keyset_args = (
                paging.per_page(request.args, self.page_size),
                paging.cursor(request.args),
            )
        except paging.PagingError as exc:
            flash(f"{exc}; showing the newest rows", "error")
            g.keyset_args = (self.page_size, None)
            status = 400
        return super().index_view(), status

    def _apply_sorting(self, query: Any, joins: Any, sort_column: Any, sort_desc: Any) -> Any:
        return query, joins  # the keyset orders (by id)

    def _apply_pagination(self, query: Any, page: Any, page_size: Any) -> Any:
        return query  # the keyset limits

    def get_list(
        self,
        page: int | None,
        sort_column: Any,
        sort_desc: Any,
        search: str | None,
        filters: Any,
        execute: bool = True,
        page_size: int | None = None,
    ) -> tuple[None, Any]:
        """One keyset page of the rows Flask-Admin's search and filters keep (the page
        number, sort and Flask-Admin's page size are ignored: ``index_view`` read the cursor
        and ``?per_page=``)."""
        size, at = g.get("keyset_args", (self.page_size, None))
        _, query = super().get_list(None, None, False, search, filters, execute=False)
        query = paging.apply(query, self.model.id, at, size)
        if not execute:
            return None, query
        found = paging.page_of(query.all(), at, size)
        g.keyset_page = found
        return None, found.items

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("keyset", g.get("keyset_page"))
        kwargs.setdefault("keyset_url", page_url)
        return super().render(template, **kwargs)
