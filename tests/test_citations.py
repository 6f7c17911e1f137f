"""Comments that cite the panel references resolve inside the repository.

Code comments cite ``docs/reference/pterodactyl_api.md §7.4 "Idempotency"``: a path, a section
number and the heading's words. Both must name a heading of that document, so a reader can
follow every citation and a renumbered document shows up here, not as a silently wrong comment.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
SOURCES = ("builtin_plugins", "kernel", "simulators", "tests", "bench")
DOCUMENT = re.compile(r"docs/reference/(\w+\.md)")
CITATION = re.compile(r'§(\d+(?:\.\d+)*) "([^"]+)"')
# What citations looked like when they pointed at a document outside the repository.
UNRESOLVABLE = re.compile(r"reference sections? \d|\(reference \d|/work/shared|shared/reference")


def headings(document: Path) -> dict[str, str]:
    """Section number -> heading words, from ``## 2. Envelope...`` / ``### 2.4 Error...``."""
    found = {}
    for line in document.read_text().splitlines():
        match = re.match(r"#{2,4} (\d+(?:\.\d+)*)\.? (.+)", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def flat(text: str) -> str:
    """The text with line breaks, comment marks and indentation folded into single spaces,
    so a heading quoted across two comment lines reads as one."""
    return re.sub(r"\s*\n\s*(?:#\s*)?", " ", text)


def unresolved(text: str) -> list[str]:
    """Citations in ``text`` that name no heading of the reference document it names."""
    text = flat(text)
    names = set(DOCUMENT.findall(text))
    problems = [
        f"no such document docs/reference/{n}" for n in names if not (REFERENCE / n).is_file()
    ]
    if problems or not names:
        return problems
    # Each citation is read against the document named last before it (or, when none is
    # named before it, the first one after): a text may cite two documents with the same
    # section numbers, and a merged table would read one against the other's headings.
    mentions = [(m.start(), m.group(1)) for m in DOCUMENT.finditer(text)]
    known = {name: headings(REFERENCE / name) for name in names}
    for cited in CITATION.finditer(text):
        before = [name for at, name in mentions if at < cited.start()]
        name = before[-1] if before else mentions[0][1]
        number, title = cited.groups()
        if known[name].get(number) != title:
            problems.append(f'§{number} "{title}" (the document has {known[name].get(number)!r})')
    return problems


def python_files() -> list[Path]:
    return sorted(p for top in SOURCES for p in (ROOT / top).rglob("*.py"))


def test_the_checker_refuses_a_wrong_heading_and_a_missing_document():
    assert unresolved('see docs/reference/pterodactyl_api.md §7.4 "Idempotency"') == []
    assert unresolved('docs/reference/pterodactyl_api.md §7.4\n    # "Idempotency"') == []
    assert unresolved('docs/reference/pterodactyl_api.md §7.4 "Retries"') == [
        "§7.4 \"Retries\" (the document has 'Idempotency')"
    ]
    two = (
        'docs/reference/pelican_api.md §2.4 "Error format"; '
        'docs/reference/pterodactyl_api.md §2.4 "Error format and order of checks"'
    )
    assert unresolved(two) == []  # each against its own document, whatever the set order
    assert unresolved(two.replace('"Error format";', '"Error format and order of checks";')) == [
        "§2.4 \"Error format and order of checks\" (the document has 'Error format')"
    ]
    assert unresolved('docs/reference/nowhere.md §1 "Keys"') == [
        "no such document docs/reference/nowhere.md"
    ]


def test_reference_citations_resolve():
    problems = []
    for path in python_files():
        if path == Path(__file__):
            continue  # this file quotes the old forms on purpose
        text, where = path.read_text(), path.relative_to(ROOT)
        if UNRESOLVABLE.search(text):
            problems.append(f"{where}: cites a reference outside the repository")
        problems += [f"{where}: {problem}" for problem in unresolved(text)]
    assert problems == [], 'cite as docs/reference/<document>.md §N "<heading>"'
