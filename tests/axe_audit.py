"""axe-core on every page the browser tests visit.

Every browser context the suite opens (the ``page`` fixture's and those a test opens itself with
``browser.new_context()``) gets the vendored axe-core as an init script: when a top-level document
has loaded, axe checks it against the WCAG 2.1 A and AA rules and hands the violations to Python
through an exposed binding. A test fails at teardown when any page it visited had a violation of
impact ``serious`` or ``critical``; the message names the page, the rule and the elements.

Why an init script and a binding rather than ``page.evaluate`` after each ``goto``: tests reach
pages by clicks and redirects as often as by ``goto``, and only the page itself knows when it
has loaded. Init scripts are injected by the browser's debugging protocol, so the pages' Content
Security Policy (which allows no inline or foreign script) does not stop them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

AXE_JS = (
    Path(__file__).resolve().parent.parent
    / "themes"
    / "default"
    / "static"
    / "vendor"
    / "axe-core"
    / "axe.min.js"
)
FAILING_IMPACTS = ("serious", "critical")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Runs in every document after axe itself; only the top frame reports (iframes are part of it).
RUNNER = """
(() => {
  if (window.top !== window || !window.axe || !/^https?:/.test(location.protocol)) return;
  const run = () => axe.run(document, {
      runOnly: {type: "tag", values: __TAGS__}, resultTypes: ["violations"]})
    .then(result => window.__ptAxeReport({url: location.href, violations: result.violations.map(
      v => ({id: v.id, impact: v.impact, help: v.help,
             targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))}))
    .catch(error => window.__ptAxeReport({url: location.href, error: String(error)}));
  window.__ptAxeDone = new Promise(resolve => {
    const go = () => setTimeout(() => run().then(resolve, resolve), 0);
    if (document.readyState === "complete") go(); else window.addEventListener("load", go);
  });
})();
""".replace("__TAGS__", json.dumps(WCAG_TAGS))


@dataclass
class AxeAudit:
    """What axe found on the pages of one test: every checked URL and every failing violation."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    contexts: list = field(default_factory=list)

    def report(self, source, result: dict) -> None:
        url = result.get("url", "?")
        self.checked.append(url)
        if result.get("error"):
            self.failures.append(f"{url}: axe could not run: {result['error']}")
        for violation in result.get("violations", []):
            if violation.get("impact") in FAILING_IMPACTS:
                self.failures.append(
                    f"{url}: {violation['impact']} {violation['id']} ({violation['help']}) at "
                    + "; ".join(violation["targets"])
                )

    def install(self, context) -> None:
        """Give ``context`` axe and the runner, and remember it for the final wait."""
        context.expose_binding("__ptAxeReport", self.report)
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(script=RUNNER)
        self.contexts.append(context)
        original_close = context.close

        def close(*args, **kwargs):
            self.settle(context)
            return original_close(*args, **kwargs)

        context.close = close

    def settle(self, context) -> None:
        """Wait for the runs still going on the open pages of ``context`` (the last page visited)."""
        for page in list(context.pages):
            if page.is_closed():
                continue
            try:
                page.wait_for_load_state("load", timeout=5000)
                page.evaluate("() => window.__ptAxeDone || null")
            except Exception:  # noqa: BLE001 - a page navigating away or gone: nothing to settle
                continue

    def verdict(self) -> str:
        for context in self.contexts:
            try:
                self.settle(context)
            except Exception:  # noqa: BLE001 - already closed
                continue
        unique = list(dict.fromkeys(self.failures))
        return "\n".join(unique)


def audited(browser, audit_for):
    """Wrap ``browser.new_context``/``new_page`` so every context gets ``audit_for()``'s audit."""
    new_context = browser.new_context

    def audited_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        audit = audit_for()
        if audit is not None:
            audit.install(context)
        return context

    def audited_page(*args, **kwargs):
        context = audited_context(*args, **kwargs)
        page = context.new_page()
        page.on("close", lambda _page: None)
        return page

    browser.new_context = audited_context
    browser.new_page = audited_page
    return browser
