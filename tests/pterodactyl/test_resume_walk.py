"""The panel kit's resumable walk (panel_kit/resume.py) on a listing that changes under it, and
its cursor's parsing of rows it did not write."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from builtin_plugins.panel_kit.api import Page, errors, resume


class Listing:
    """A panel listing by page number, sorted by id; it records the pages asked for and may
    change between two of them."""

    def __init__(self, ids, per_page=3):
        self.ids, self.per_page, self.asked = sorted(ids), per_page, []
        self.before: dict[int, callable] = {}  # page -> change made before answering it

    def __call__(self, number: int) -> Page:
        self.asked.append(number)
        if number in self.before:
            self.before.pop(number)(self)
        start = (number - 1) * self.per_page
        items = [{"id": i} for i in self.ids[start : start + self.per_page]]
        pages = max(1, -(-len(self.ids) // self.per_page))
        return Page(items, current_page=number, total_pages=pages, total=len(self.ids))


def seen(segments) -> list[int]:
    return [s["id"] for segment in segments for s in segment.servers]


def test_each_page_covers_the_ids_up_to_its_last_and_the_last_page_runs_to_the_end():
    listing = Listing(range(1, 9))
    segments = list(resume.walk(listing))
    assert [(s.after, s.upto, s.number) for s in segments] == [(0, 3, 1), (3, 6, 2), (6, None, 3)]
    assert seen(segments) == list(range(1, 9))
    assert segments[1].holds(4) and not segments[1].holds(3) and segments[2].holds(10**9)


def test_a_resumed_walk_reads_the_last_page_done_again_and_skips_what_was_done():
    listing = Listing(range(1, 13))
    segments = list(resume.walk(listing, after=6, pages=2))
    assert listing.asked == [2, 3, 4] and seen(segments) == [7, 8, 9, 10, 11, 12]


def test_servers_deleted_before_the_cursor_move_later_ones_back_and_none_is_skipped():
    listing = Listing(range(1, 16))
    for gone in (1, 2, 3, 4):  # more than a page: 7 and 8 now sit on page 1... and 2
        listing.ids.remove(gone)
    segments = list(resume.walk(listing, after=6, pages=2))
    assert seen(segments) == list(range(7, 16))
    assert listing.asked[:3] == [2, 1, 2]  # page 2 starts past 6: one more page back


def test_a_resumed_walk_whose_page_is_now_past_the_end_steps_back():
    listing = Listing(range(7, 13))  # 1-6 deleted since: page 3 is empty now
    assert seen(resume.walk(listing, after=9, pages=3)) == [10, 11, 12]
    assert listing.asked == [3, 2, 1, 2]


def test_a_cursor_far_past_the_end_goes_back_to_the_last_page_at_once():
    listing = Listing(range(1, 13))
    assert seen(resume.walk(listing, after=9, pages=10**9)) == [10, 11, 12]
    assert listing.asked == [10**9, 4, 3, 4]


def test_servers_deleted_during_the_walk_are_not_skipped():
    listing = Listing(range(1, 13))
    listing.before[3] = lambda lst: lst.ids.remove(2)  # 7 moves up to page 2, already read
    assert seen(resume.walk(listing)) == list(range(1, 13))
    assert listing.asked == [1, 2, 3, 2, 3, 4]


def test_a_panel_that_does_not_sort_by_id_is_refused():
    def page(number):
        return Page([{"id": 5}, {"id": 2}], current_page=1, total_pages=1, total=2)

    with pytest.raises(errors.PanelError, match="sort=id"):
        list(resume.walk(page))


def test_an_empty_listing_is_one_last_segment():
    assert [(s.after, s.upto) for s in resume.walk(Listing([]))] == [(0, None)]


GOOD = {"run": "abc", "started_at": "2026-12-07T10:00:00", "after": 5, "pages": 1}


def test_a_cursor_round_trips():
    cursor = resume.Cursor("r1", datetime(2026, 12, 7, 10), 120, 3, {"checked": 300}, {4, 9})
    assert resume.Cursor.loads(cursor.dumps()) == cursor


@pytest.mark.parametrize(
    "change",
    [
        {"after": -1},
        {"after": 1.5},
        {"after": "5"},
        {"pages": True},
        {"pages": None},
        {"run": 7},
        {"run": "x" * 65},
        {"started_at": "soon"},
        {"started_at": "2026-12-07T10:00:00+02:00"},
        {"counts": {"checked": -3}},
        {"counts": []},
        {"claimed": [0]},
        {"claimed": "1,2"},
        {"claimed": list(range(1, resume.MAX_CLAIMED + 2))},
    ],
)
def test_a_cursor_a_run_did_not_write_is_refused(change):
    with pytest.raises(resume.CursorError):
        resume.Cursor.loads(json.dumps(GOOD | change))


@pytest.mark.parametrize("text", ["", "{", "null", "[1]", '"x"', "1e999"])
def test_text_that_is_no_cursor_is_refused(text):
    with pytest.raises(resume.CursorError):
        resume.Cursor.loads(text)


def test_only_our_external_ids_count():
    servers = [
        {"id": 1, "external_id": "pteroca-12"},
        {"id": 2, "external_id": "pteroca-12x"},
        {"id": 3, "external_id": "other-4"},
        {"id": 4, "external_id": None},
        {"id": 5, "external_id": "pteroca-٣"},  # a digit, but not an ASCII one
        {"id": 6, "external_id": "pteroca-"},
    ]
    assert resume.ours(servers, "pteroca") == [(12, servers[0])]
