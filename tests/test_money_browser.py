"""An analyst works an alert in a real browser (Chromium through Playwright, as test_browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest

from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import PASSWORD, make_user
from tests.test_browser import base_url, browser, page  # noqa: F401  (fixtures)
from tests.test_money_queue import ORG, _load

pytestmark = [pytest.mark.browser, pytest.mark.database]

ANALYST = "ann.analyst"


def _sign_in(page: Any, base_url: str, store: Store, path: str) -> None:  # noqa: F811
    from playwright.sync_api import expect

    secret = make_user(store, username=ANALYST, role="analyst", organisation=ORG)
    page.goto(base_url + path)
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Username").fill(ANALYST)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + path)
    expect(page.locator("header")).to_contain_text(ANALYST)


def test_analyst_reviews_notes_and_escalates(page: Any, base_url: str,  # noqa: F811
                                             settings: Settings, store: Store,
                                             tmp_path: Path, backend: str) -> None:
    from playwright.sync_api import expect

    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser")
    _load(settings, store, tmp_path)
    _sign_in(page, base_url, store, "/money/alerts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Money alerts")
    expect(page.get_by_role("link", name="Money alerts")).to_have_attribute(
        "aria-current", "page")
    page.get_by_label("Status").select_option("new")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="MA-cycle").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alert MA-cycle")
    indicators = page.get_by_role("region", name="Indicators that fired")
    expect(indicators).to_contain_text("circulation_cycle")
    expect(indicators).to_contain_text("graph_cycle")
    expect(indicators.get_by_role("table")).to_contain_text("T2")
    graph = page.get_by_role("img", name="alert network")
    expect(graph).to_be_visible()
    expect(graph.locator("circle")).to_have_count(3)
    # no goAML export for analysts
    expect(page.get_by_role("link", name="goAML STR draft (XML)")).to_have_count(0)

    page.get_by_label("New note").fill("Same phone number as case C-100 suspect")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("region", name="Notes")).to_contain_text("Same phone number")

    page.get_by_label("New status").select_option("investigating")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#alert-status")).to_have_text("investigating")
    expect(page.locator("main")).to_contain_text(f"assigned to {ANALYST}")

    # escalating without a reason is refused, with the reason it goes through
    page.get_by_label("New status").select_option("escalated")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("main")).to_contain_text("reason")
    page.go_back()
    page.reload()
    page.get_by_label("New status").select_option("escalated")
    page.get_by_label("Reason (required to escalate or close)").fill("Cycle with case link")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#alert-status")).to_have_text("escalated")
    expect(page.locator("main")).to_contain_text("Cycle with case link")

    # a closed alert is reopened with a reason; the closing reason stays as a note
    page.get_by_label("New status").select_option("closed")
    page.get_by_label("Reason (required to escalate or close)").fill("Explained by payroll")
    page.get_by_role("button", name="Change status").click()
    expect(page.locator("#alert-status")).to_have_text("closed")
    expect(page.get_by_label("New status")).to_have_count(0)
    page.get_by_label("Reason for reopening (required)").fill("Account seen in a new case")
    page.get_by_role("button", name="Reopen alert").click()
    expect(page.locator("#alert-status")).to_have_text("investigating")
    expect(page.locator("main")).to_contain_text("Account seen in a new case")
    expect(page.get_by_role("region", name="Notes")).to_contain_text("Explained by payroll")
