"""Simulators of the outside services pteroca talks to, for demos and tests (never production).

- :mod:`simulators.pterodactyl`: a Pterodactyl panel (application and client API, Wings'
  console websocket), used by ``pteroca demo``, ``pteroca simulator pterodactyl`` and the
  ``pterodactyl_simulator`` pytest fixture;
- :mod:`simulators.pelican`: the same panel simulator playing Pelican (no nests, Pelican's
  rules, limits and Wings faults), used by ``pteroca simulator pelican`` and the
  ``pelican_simulator`` pytest fixture;
- :mod:`simulators.stripe`: a Stripe-shaped server (Checkout Sessions, refunds, signed webhooks);
- :mod:`simulators.paypal`: a PayPal-shaped server (OAuth, Orders v2, captures, refunds, webhooks).

Each one is real HTTP on 127.0.0.1, so the code under test is the real client code. No plugin
imports this package (an import-linter contract in the test suite keeps it so); they ship with
pteroca so that plugin authors' tests can use them through the pytest fixtures.
"""
