"""A Pelican simulator shared by a test module, reset to its seed before each test, and
HTTP clients holding its root admin's application (``papp_``) and client (``pacc_``) keys."""

from __future__ import annotations

import httpx
import pytest

from simulators.pelican import PelicanSimulator
from tests.pelican.panel import JSON


@pytest.fixture(scope="module")
def running_pelican():
    with PelicanSimulator(install_seconds=0, power_seconds=0, backup_seconds=0) as sim:
        yield sim


@pytest.fixture
def sim(running_pelican):
    running_pelican.reset()
    return running_pelican


@pytest.fixture
def app(sim):
    with httpx.Client(
        base_url=sim.url,
        timeout=10,
        headers={"Authorization": f"Bearer {sim.application_key}", "Accept": JSON},
    ) as http:
        yield http


@pytest.fixture
def client(sim):
    with httpx.Client(
        base_url=sim.url,
        timeout=10,
        headers={"Authorization": f"Bearer {sim.client_key}", "Accept": JSON},
    ) as http:
        yield http
