"""A local fake of the EU's VIES REST API for the invoices plugin's online VAT check.

Implements ``POST /check-vat-number`` as the Commission's service answers it: ``{"countryCode",
"vatNumber"}`` -> ``{"valid": bool, "name", "address", "requestDate", ...}``, or, when a member
state's register is down, an answer without ``valid`` (``{"actionSucceed": false,
"errorWrappers": [{"error": "MS_UNAVAILABLE"}]}``). Registered numbers are added with
:meth:`FakeVies.register`; ``down`` holds country codes that answer MS_UNAVAILABLE; every
request is recorded in ``.checked``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from simulators.served import ServedFake, send_json


class FakeVies(ServedFake):
    thread_name = "fake-vies"

    def __init__(self) -> None:
        self.registered: dict[str, str] = {}  # "FR40303265045" -> company name
        self.down: set[str] = set()
        self.checked: list[str] = []
        self.status = 200
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"actionSucceed": False})
                if self.path != "/check-vat-number":
                    return self._send(404, {"actionSucceed": False})
                return self._send(fake.status, fake.answer(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                send_json(self, status, payload)

        self._serve(Handler)

    def register(self, vat_id: str, name: str) -> None:
        with self._lock:
            self.registered[vat_id] = name

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        country, number = str(body.get("countryCode", "")), str(body.get("vatNumber", ""))
        with self._lock:
            self.checked.append(country + number)
            if country in self.down:
                return {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}
            name = self.registered.get(country + number)
        return {
            "countryCode": country,
            "vatNumber": number,
            "requestDate": "2026-03-14",
            "valid": name is not None,
            "name": name or "---",
            "address": "---",
        }
