"""HTTP to a Pterodactyl-family panel (Pterodactyl, Pelican): JSON headers, bearer keys,
timeouts, retries, envelopes and pagination.

Retry policy (docs/reference/pterodactyl_api.md §7.7 "Timeouts, retries and 5xx"):

- 429: sleep ``Retry-After`` seconds (60 when absent) and send again, whatever the method: a
  throttled request never reached the controller.
- 502, 503, 504 and connection failures: exponential backoff (1 s, 2 s, 4 s, ...) for
  idempotent calls only (reads, PATCH/PUT/DELETE, suspend/unsuspend). A non-idempotent POST
  (server create, reinstall, power...) is retried only when it cannot have arrived: the
  connection was refused, or the panel answered 503 (maintenance). Its caller verifies the
  state with a read before repeating it (the provisioner looks servers up by external id).
- Any other 4xx/5xx is raised at once as a typed :mod:`errors` exception.

Throttle windows: a 429 opens a window of ``Retry-After`` seconds for that key on that panel,
remembered by the process (:class:`Throttle`). Until it closes, nothing is sent with the key: a
client that may wait (a job) waits for the rest of the window first; one that may not (a page:
one rate-limit attempt) raises :class:`errors.RateLimited` with the seconds left at once, so a
page says "the panel is busy, try again in N s" instead of sending into the window.

Budget: before each attempt the transport takes a token from its :class:`budget.Budget` (when
it has one: the panel plugins always give one), so pteroca stays below the panel's limits and
the 429 handling above is only a safety net. A transport whose retry policy allows a single
rate-limit attempt is *interactive* (a page): it has priority and waits at most a second; any
other is *background* work and waits, paced, for what pages leave (:mod:`budget`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.budget import Budget

log = logging.getLogger(__name__)

USER_AGENT = "pteroca-panel-kit/1.0"
RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all for 502/503/504 and connection failures
    backoff: float = 1.0  # first wait, doubled each time
    max_backoff: float = 30.0
    rate_limit_attempts: int = 5  # 429 answers honoured before giving up
    max_retry_after: float = 120.0  # a longer Retry-After is raised, not slept
    default_retry_after: float = 60.0


@dataclass(frozen=True)
class Timeouts:
    read: float = 30.0  # plain reads and writes that stay inside the panel
    wings: float = 90.0  # calls the panel forwards to Wings (create, delete, power...): >= 60 s
    connect: float = 5.0

    def for_call(self, wings: bool) -> httpx.Timeout:
        return httpx.Timeout(self.wings if wings else self.read, connect=self.connect)


@dataclass
class Page:
    """One page of a paginated list (``items`` unwrapped)."""

    items: list[Any]
    current_page: int = 1
    total_pages: int = 1
    total: int = 0
    per_page: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


def unwrap(obj: Any) -> Any:
    """``{"object", "attributes"}`` -> the attributes; lists -> lists; includes stay under
    ``relationships`` (unwrapped too); a ``null_resource`` -> None."""
    if not isinstance(obj, dict) or "object" not in obj:
        return obj
    kind = obj.get("object")
    if kind == "list":
        return [unwrap(item) for item in obj.get("data") or []]
    if kind == "null_resource":
        return None
    attributes = dict(obj.get("attributes") or {})
    relationships = attributes.get("relationships")
    if isinstance(relationships, dict):
        attributes["relationships"] = {k: unwrap(v) for k, v in relationships.items()}
    return attributes


def filters(include: tuple[str, ...] | list[str] = (), **values: Any) -> dict[str, Any]:
    """Query parameters: ``filter[<name>]`` for each given value, and ``include``."""
    params: dict[str, Any] = {f"filter[{k}]": v for k, v in values.items() if v is not None}
    if include:
        params["include"] = ",".join(include)
    return params


class Throttle:
    """The panel's rate-limit windows this process knows of, per panel, API and key."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def remaining(self, scope: str) -> float:
        with self._lock:
            until = self._until.get(scope, 0.0)
        return max(0.0, until - time.monotonic())

    def opened(self, scope: str, seconds: float) -> None:
        with self._lock:
            self._until[scope] = max(self._until.get(scope, 0.0), time.monotonic() + seconds)

    def waited(self, scope: str) -> None:
        """The caller slept through the window it saw."""
        with self._lock:
            self._until.pop(scope, None)

    def forget(self) -> None:
        with self._lock:
            self._until.clear()


THROTTLE = Throttle()


class Transport:
    """One API (application or client) of one panel: a key and a path prefix."""

    def __init__(
        self,
        http: httpx.Client,
        key: str,
        prefix: str,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        sleep: Callable[[float], None],
        user_agent: str = USER_AGENT,
        budget: Budget | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.http, self.key, self.prefix = http, key, prefix
        self.budget = budget
        self._interactive = interactive
        self.user_agent = user_agent
        self.timeouts, self.retry, self.sleep = timeouts, retry, sleep
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.scope = f"{http.base_url}{prefix}#{digest}"

    @property
    def interactive(self) -> bool:
        """A page's call: budget priority, never a long wait. Unless told, a transport that
        may not wait out a 429 (one rate-limit attempt) is a page's."""
        if self._interactive is not None:
            return self._interactive
        return self.retry.rate_limit_attempts <= 1

    def _respect_window(self, method: str, url: str) -> None:
        """Do not send inside a throttle window: wait it out, or say how long it lasts."""
        left = THROTTLE.remaining(self.scope)
        if left <= 0:
            return
        if self.retry.rate_limit_attempts > 1 and left <= self.retry.max_retry_after:
            log.warning("panel rate limit window on %s %s: waiting %.1f s", method, url, left)
            self.sleep(left)
            THROTTLE.waited(self.scope)
            return
        entry = errors.ErrorEntry(
            "TooManyRequestsHttpException", 429, "not sent: the panel asked us to wait"
        )
        raise errors.RateLimited(
            status=429, method=method, path=url, retry_after=left, entries=[entry]
        )

    # --- one call ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        idempotent: bool | None = None,
        wings: bool = False,
        text: bool = False,
    ) -> Any:
        """Send with retries; return the decoded JSON (None for 204, the text when ``text``)."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.prefix + path
        failures = throttles = 0
        self._respect_window(method, url)
        while True:
            if self.budget is not None:
                self.budget.take(interactive=self.interactive, method=method, path=url)
            try:
                response = self._send(
                    method, url, params=params, json=json, content=content, wings=wings
                )
            except errors.PanelUnreachable as exc:
                failures += 1
                not_sent = isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
                if (idempotent or not_sent) and failures < self.retry.attempts:
                    self._backoff(failures, f"{method} {url}: {exc}")
                    continue
                raise
            if response.status_code < 400:
                return self._decode(response, method, url, text)
            exc = self._error(response, method, url)
            if response.status_code == 429:
                throttles += 1
                wait = exc.retry_after
                if wait is None:
                    wait = self.retry.default_retry_after
                    exc.retry_after = wait
                THROTTLE.opened(self.scope, wait)
                retry = self.retry
                if throttles < retry.rate_limit_attempts and wait <= retry.max_retry_after:
                    log.warning("panel rate limit on %s %s: waiting %.1f s", method, url, wait)
                    self.sleep(wait)
                    THROTTLE.waited(self.scope)
                    continue
                raise exc
            status = response.status_code
            if status in RETRY_STATUSES and (idempotent or status == 503):
                failures += 1
                if failures < self.retry.attempts:
                    self._backoff(failures, f"{method} {url}: HTTP {response.status_code}")
                    continue
            raise exc

    def _send(self, method: str, url: str, *, params, json, content, wings: bool) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        if json is not None:
            headers["Content-Type"] = "application/json"
        elif content is not None:
            headers["Content-Type"] = "text/plain"
        try:
            return self.http.request(
                method,
                url,
                params=params,
                json=json,
                content=content,
                headers=headers,
                timeout=self.timeouts.for_call(wings),
            )
        except httpx.TimeoutException as exc:
            raise errors.PanelTimeout(
                f"{method} {url}: the panel did not answer in time ({type(exc).__name__})",
                method=method,
                path=url,
            ) from exc
        except httpx.HTTPError as exc:
            raise errors.PanelUnreachable(
                f"{method} {url}: cannot reach the panel at "
                f"{self.http.base_url} ({type(exc).__name__}: {exc})",
                method=method,
                path=url,
            ) from exc

    def _backoff(self, failures: int, why: str) -> None:
        wait = min(self.retry.backoff * (2 ** (failures - 1)), self.retry.max_backoff)
        log.warning("panel call failed (%s); retry %d in %.1f s", why, failures, wait)
        self.sleep(wait)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        kind = response.headers.get("Content-Type", "")
        if "json" not in kind:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _decode(self, response: httpx.Response, method: str, url: str, text: bool) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        if text:
            return response.text
        body = self._json(response)
        if body is None:
            raise errors.NotAPanel(
                f"{method} {url} answered HTTP {response.status_code} with "
                "something other than the panel's JSON API (is the panel URL "
                "right?)",
                status=response.status_code,
                method=method,
                path=url,
            )
        return body

    def _error(self, response: httpx.Response, method: str, url: str) -> errors.PanelError:
        return errors.error_for(
            response.status_code,
            self._json(response),
            method=method,
            path=url,
            headers=response.headers,
        )

    # --- shapes -----------------------------------------------------------------------

    def item(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call answering one object: its attributes (None for an empty answer)."""
        return unwrap(self.request(method, path, **kwargs))

    def page(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        page: int = 1,
        per_page: int | None = None,
        wings: bool = False,
    ) -> Page:
        query = dict(params or {})
        query["page"] = page
        if per_page is not None:
            query["per_page"] = per_page
        body = self.request("GET", path, params=query, wings=wings) or {}
        meta = dict(body.get("meta") or {})
        pagination = meta.pop("pagination", None) or {}
        items = [unwrap(i) for i in body.get("data") or []]
        return Page(
            items=items,
            current_page=int(pagination.get("current_page") or page),
            total_pages=max(1, int(pagination.get("total_pages") or 1)),
            total=int(pagination.get("total") or len(items)),
            per_page=int(pagination.get("per_page") or len(items)),
            meta=meta,
        )

    def iterate(
        self, path: str, params: dict[str, Any] | None = None, *, per_page: int = 100
    ) -> Iterator[Any]:
        """Every item of a list, page after page. The next page's URL is built here with the
        same filters and ``per_page`` (the panel's ``links.next`` keeps only ``page``). A list
        the panel does not paginate (no ``meta.pagination``) is one page."""
        number = 1
        while True:
            result = self.page(path, params, page=number, per_page=per_page)
            yield from result.items
            if result.current_page >= result.total_pages or not result.items:
                return
            number = result.current_page + 1

    def all(
        self, path: str, params: dict[str, Any] | None = None, *, per_page: int = 100
    ) -> list[Any]:
        return list(self.iterate(path, params, per_page=per_page))
