"""A demo payment provider: shows the provider protocol; off unless the setting enables it."""

from __future__ import annotations

from builtin_plugins.hello_world import services


class DemoProvider:
    identifier = "hello_world_demo"
    display_name = "Hello demo payments (no real money)"
    currencies = ("USD", "EUR", "PLN")

    def is_configured(self) -> bool:
        return bool(services.setting("demo_provider"))
