"""A local OSV-compatible advisory server for tests and benchmarks (never the network).

Implements what pip-audit's ``OsvService`` calls, ``POST /v1/query``
(``{"package": {"name", "ecosystem"}, "version"}`` -> ``{"vulns": [...]}`` or
``{}``), plus ``POST /v1/querybatch`` as osv.dev has it. Vulnerabilities are
added with :meth:`FakeOsv.add`; every request is recorded in ``.queries``.

    with FakeOsv() as osv:
        osv.add("requests", "GHSA-xxxx", introduced="0", fixed="2.32.0")
        app.config["OSV_URL"] = osv.url
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from simulators.served import ServedFake, send_json


@dataclass
class FakeVuln:
    id: str
    package: str
    introduced: str = "0"
    fixed: str | None = None  # None: no fixed version exists
    versions: list[str] = field(default_factory=list)  # explicit affected versions
    summary: str = ""
    aliases: list[str] = field(default_factory=list)

    def affects(self, version: str) -> bool:
        if version in self.versions:
            return True
        try:
            v = Version(version)
            low = Version("0") if self.introduced == "0" else Version(self.introduced)
            return v >= low and (self.fixed is None or v < Version(self.fixed))
        except InvalidVersion:
            return False

    def to_osv(self) -> dict[str, Any]:
        events: list[dict[str, str]] = [{"introduced": self.introduced}]
        if self.fixed:
            events.append({"fixed": self.fixed})
        return {
            "schema_version": "1.6.0",
            "id": self.id,
            "summary": self.summary or f"test vulnerability {self.id} in {self.package}",
            "aliases": list(self.aliases),
            "published": "2024-01-02T03:04:05Z",
            "modified": "2024-01-02T03:04:05Z",
            "affected": [
                {
                    "package": {"name": self.package, "ecosystem": "PyPI"},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                    "versions": list(self.versions),
                }
            ],
        }


class FakeOsv(ServedFake):
    thread_name = "fake-osv"

    """The server; ``status`` (e.g. 500) makes every query fail with that HTTP status.

    ``on_query(body)``, when set, runs before each query is answered, while the client
    waits: a slow advisory service, during which a test can act (swap a file, say).
    """

    def __init__(self) -> None:
        self.vulns: list[FakeVuln] = []
        self.queries: list[dict[str, Any]] = []
        self.status = 200
        self.on_query: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"code": 3, "message": "invalid JSON"})
                if fake.on_query is not None:
                    fake.on_query(body)
                if fake.status != 200:
                    return self._send(fake.status, {"code": 13, "message": "fake failure"})
                if self.path == "/v1/query":
                    return self._send(200, fake.answer(body))
                if self.path == "/v1/querybatch":
                    results = [
                        {
                            "vulns": [
                                {"id": v["id"], "modified": v["modified"]}
                                for v in fake.answer(q).get("vulns", [])
                            ]
                        }
                        for q in body.get("queries", [])
                    ]
                    return self._send(200, {"results": results})
                return self._send(404, {"code": 5, "message": "not found"})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                send_json(self, status, payload)

        self._serve(Handler)

    def add(
        self,
        package: str,
        vuln_id: str,
        *,
        introduced: str = "0",
        fixed: str | None = None,
        versions: list[str] | None = None,
        summary: str = "",
        aliases: list[str] | None = None,
    ) -> FakeVuln:
        vuln = FakeVuln(
            id=vuln_id,
            package=package,
            introduced=introduced,
            fixed=fixed,
            versions=list(versions or []),
            summary=summary,
            aliases=list(aliases or []),
        )
        with self._lock:
            self.vulns.append(vuln)
        return vuln

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.queries.append(query)
            package = query.get("package") or {}
            if package.get("ecosystem", "PyPI") != "PyPI":
                return {}
            name = canonicalize_name(package.get("name", ""))
            version = str(query.get("version", ""))
            found = [
                v.to_osv()
                for v in self.vulns
                if canonicalize_name(v.package) == name and v.affects(version)
            ]
        return {"vulns": found} if found else {}

    def queried(self) -> list[tuple[str, str]]:
        return [
            ((q.get("package") or {}).get("name", ""), str(q.get("version", "")))
            for q in self.queries
        ]


def unreachable_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


try:
    import pytest
except ImportError:  # pragma: no cover - the benchmark runs without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def osv_server():
        """A running :class:`FakeOsv`; point ``OSV_URL`` at ``osv_server.url``."""
        with FakeOsv() as server:
            yield server
