"""Helpers for talking to the Pelican simulator in tests: users, eggs, server bodies."""

from __future__ import annotations

import httpx

JSON = "application/json"
OMIT = object()  # a server_body override that leaves the key out
APP = "/api/application"


def errors_of(response: httpx.Response) -> list[dict]:
    return response.json()["errors"]


def fields(response: httpx.Response) -> dict[str, str]:
    """source_field -> rule of a 422."""
    assert response.status_code == 422, response.text
    return {e["meta"]["source_field"]: e["meta"]["rule"] for e in errors_of(response)}


def new_user(app: httpx.Client, email: str, username: str | None = None, **extra) -> dict:
    body = {"email": email, "username": username or email.split("@")[0], **extra}
    response = app.post(f"{APP}/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()["attributes"]


def paper(app: httpx.Client) -> dict:
    egg = app.get(f"{APP}/eggs/1?include=variables").json()["attributes"]
    assert egg["name"] == "Paper"
    return egg


def environment(egg: dict) -> dict[str, str]:
    return {
        v["attributes"]["env_variable"]: v["attributes"]["default_value"]
        for v in egg["relationships"]["variables"]["data"]
    }


def server_body(app: httpx.Client, owner: int, **overrides) -> dict:
    egg = paper(app)
    body = {
        "name": "survival",
        "user": owner,
        "egg": egg["id"],
        "environment": environment(egg),
        "limits": {"memory": 1024, "swap": 0, "disk": 4096, "io": 500, "cpu": 100},
        "feature_limits": {"databases": 1, "allocations": 2, "backups": 2},
        "deploy": {
            "tags": ["sim-eu"],
            "locations": [],
            "dedicated_ip": False,
            "port_range": ["25565-25624"],
        },
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not OMIT}


def new_server(app: httpx.Client, owner: int, **overrides) -> dict:
    response = app.post(f"{APP}/servers", json=server_body(app, owner, **overrides))
    assert response.status_code == 201, response.text
    return response.json()["attributes"]


def build_body(server: dict, **overrides) -> dict:
    """A full build PATCH for ``server`` as it is (the panel replaces, never merges)."""
    body = {
        "allocation": server["allocation"],
        "limits": {k: server["limits"][k] for k in ("memory", "swap", "disk", "io", "cpu")},
        "feature_limits": dict(server["feature_limits"]),
    }
    body.update(overrides)
    return body
