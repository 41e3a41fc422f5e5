"""Property-based API testing from the OpenAPI spec, authenticated as two different roles.

Schemathesis generates requests for every operation the spec documents (bounded examples per
operation, so the suite stays fast). Checked: no 5xx ever, and every documented response
conforms to its schema and content type. Unauthenticated runs would only collect 401s, so each
run signs in first: once as a supervisor (sees names, imports), once as an analyst
(pseudonymised). Sign-out is excluded: it would end the run's own session.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import sign_in


@pytest.fixture(params=["supervisor", "analyst"])
def signed_in_app(request: pytest.FixtureRequest, settings: Settings, store: Store
                  ) -> Iterator[tuple[Any, dict[str, str]]]:
    """The app and the bearer header of a fresh account of the role."""
    from maillon.web.app import create_app

    app = create_app(settings, store)
    with TestClient(app) as client:
        token = sign_in(client, store, username=f"st.{request.param}", role=request.param)
    yield app, {"Authorization": f"Bearer {token}"}


def test_no_server_error_and_responses_match_the_spec(
    signed_in_app: tuple[Any, dict[str, str]]
) -> None:
    app, headers = signed_in_app
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/auth/logout":
            continue  # it would end this run's own session

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        run()
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /api/v1/cases/search" in tested and len(tested) >= 8
