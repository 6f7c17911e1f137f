"""Operations: the retry cron task, the health check and the demo's seed."""

from __future__ import annotations

from kernel import set_settings, site_setting

from . import config, pending, profiles, taxes


def retry() -> dict[str, int]:
    """Cron (every 5 minutes): issue what waits, send what was not sent, re-check VAT ids."""
    result = pending.retry()
    result["vat_confirmed"] = profiles.recheck_unverified(config.load())
    return result


def health() -> str | None:
    """None when invoicing works; else what stops it (shown on the Plugins page and /-/health)."""
    setup = config.load()
    problems = config.problems(setup) + taxes.missing_rates(setup)
    stale = pending.stale()
    if stale:
        problems.append(
            f"{len(stale)}+ payments wait for their document for over an hour "
            f"(first: {stale[0].source}: {stale[0].last_error or 'not tried yet'})"
        )
    return "; ".join(problems) or None


def demo_seed() -> list[str]:
    """A demo seller in Germany with the EU's standard rates, once."""
    if config.load().seller.name:
        return []
    set_settings(
        config.PLUGIN,
        {
            "seller_name": f"{site_setting('site_name') or 'pteroca'} Hosting GmbH",
            "seller_address": "Beispielstraße 1\n10115 Berlin",
            "seller_country": "DE",
            "seller_vat_id": "DE136695976",
            "seller_email": "billing@example.com",
            "seller_footer": "Demo seller: these invoices are samples.",
        },
    )
    added = taxes.load_eu_standard_rates()
    return [
        f"invoices: demo seller in Germany, {added} EU VAT rates; invoices under "
        "/wallet/invoices, admin under /admin/invoices/"
    ]
