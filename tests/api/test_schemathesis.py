"""schemathesis against the live OpenAPI document, as a customer and as an admin.

Every operation of the document gets generated requests, valid and invalid; each answer
must not be a 5xx and must match the documented status codes, content types, headers and
schemas, and schemathesis' ``ignored_auth`` check asks each operation again without the
token and expects a refusal. ``positive_data_acceptance`` is left out: schema-valid input
is still refused for reasons a schema cannot say (a server that is not yours, a balance
too low). The document is read from the app under test, not from a file.

(schemathesis' pytest ``from_fixture`` does not run under pytest 9, so the test drives its
strategies with hypothesis directly, one operation after another.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.api.conftest import bearer

EXAMPLES = 6
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


def _fuzz(app, secret: str) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {**bearer(secret), "Idempotency-Key": "fuzz"}
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

            run()
    return labels


@pytest.mark.parametrize("role", ["customer", "admin"])
def test_the_live_document_holds_for_every_operation(
    pteroca_instance, store, make_user, make_token, fund, role
):
    user = make_user(role=role)
    fund(user, 10_000_000)
    labels = _fuzz(pteroca_instance.app, make_token(user))
    assert "POST /api/v1/servers" in labels and "GET /api/v1/me" in labels
