"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: FakeSMTPServer):
        self.server = server

    async def handle_DATA(self, _smtp, _session, envelope):
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self.server.lock:
            self.server.messages.append(message)
        return "250 OK"


class _Controller(Controller):
    def _trigger_server(self):
        # We bind port 0; learn the real port before aiosmtpd connects to itself.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSMTPServer:
    """``with FakeSMTPServer() as smtp:`` then point ``MAIL_URL`` at ``smtp.url``."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=0)

    def __enter__(self) -> FakeSMTPServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def sent_to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def last_to(self, address: str, timeout: float = 5.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent_to(address)
            if found:
                return found[-1]
            time.sleep(0.02)
        got = [str(m["To"]) for m in self.messages]
        raise AssertionError(f"no email reached {address}; got {got}")

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def link_to(self, address: str, path_part: str) -> str:
        """The first link in the last message to ``address`` whose URL contains ``path_part``."""
        body = self.text(self.last_to(address))
        for url in re.findall(r"https?://\S+", body):
            if path_part in url:
                return url
        raise AssertionError(f"no link with {path_part!r} in:\n{body}")
