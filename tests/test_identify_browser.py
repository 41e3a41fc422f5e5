"""In a real browser: a case worker screens a person, sees the explained recommendation,
refers with consent, and the receiving organisation sees only the permitted fields."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyotp
import pytest

from maillon.core.settings import Settings
from maillon.identify.context import Actor, write_scope
from maillon.refer.service import add_provider
from maillon.store.api import Store
from tests.auth_helpers import PASSWORD, make_user, organisation_id
from tests.identify_helpers import tools_for
from tests.test_browser import base_url, browser  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _page(browser: Any, base_url: str, width: int = 390) -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 850})
    context.set_default_timeout(10_000)
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(base_url + "/") else route.abort())
    return context.new_page()


def _sign_in(page: Any, base_url: str, store: Store, username: str, org: str,  # noqa: F811
             path: str) -> None:
    secret = make_user(store, username=username, role="case_worker", organisation=org)
    page.goto(base_url + path)
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + path)


def test_screen_refer_and_receive(browser: Any, base_url: str, settings: Settings,  # noqa: F811
                                  store: Store, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    tools = tools_for(settings, store)
    shelter = organisation_id(store, "Shelter Hope")
    with write_scope(store.engine, tools) as s:
        add_provider(s, tools, Actor("admin", None, "test"), name="Shelter Hope beds",
                     service_type="shelter", capacity=4, organisation_id=shelter)

    page = _page(browser, base_url)  # a phone-sized screen
    _sign_in(page, base_url, store, "cara.worker", "Police Unit 7", "/identify/screen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Indicator screening")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
        "the screening form scrolls sideways on a phone"
    page.get_by_label("Name or pseudonym").fill("Amina Okafor")
    page.get_by_label("Date of birth (if known)").fill("1994-03-02")
    page.get_by_label("Language spoken").fill("en")
    page.get_by_role("checkbox", name="Deceived about the nature of the job, location or "
                     "employer", exact=True).check()
    page.get_by_label("Evidence note: Deceived about the nature of the job, location or "
                      "employer").fill("promised hotel work, sent to a farm")
    page.get_by_role("checkbox", name="Deceived about wages or earnings", exact=True).check()
    page.get_by_role("checkbox", name="Excessive working days or hours", exact=True).check()
    page.get_by_role("checkbox", name="Low or no salary", exact=True).check()
    page.locator("#ind_cd_documents").check()  # the same words at recruitment: by id
    page.locator("#ind_cd_debt").check()
    page.get_by_role("button", name="See the recommendation").click()
    page.wait_for_url("**/identify/screenings/*")
    expect(page.locator("#recommendation")).to_have_text("Refer as presumed victim")
    expect(page.locator("#dimensions")).to_contain_text("Coercion at destination: positive")
    expect(page.locator("#explanation")).to_contain_text("recommendation: refer as presumed")
    expect(page.locator("main")).to_contain_text("not a legal determination")
    page.screenshot(path=str(tmp_path / "result.png"), full_page=True)
    if os.environ.get("MAILLON_SHOTS"):
        page.screenshot(path=os.environ["MAILLON_SHOTS"] + "/result.png", full_page=False)

    page.get_by_label("Needs", exact=True).fill("a safe bed tonight")
    page.get_by_label("The person consents to this referral").check()
    page.get_by_role("button", name="Refer", exact=True).click()
    page.wait_for_url("**notice=referred")
    expect(page.locator("#referrals")).to_contain_text("Shelter Hope beds (shelter): sent")
    page.context.close()

    other = _page(browser, base_url, 1280)
    _sign_in(other, base_url, store, "sol.shelter", "Shelter Hope", "/refer/inbox")
    shared = other.locator("dl.shared")
    expect(shared).to_contain_text("Amina Okafor")
    expect(shared).to_contain_text("a safe bed tonight")
    expect(shared.locator("dt")).to_have_text(
        ["Name or pseudonym", "Language spoken", "Needs stated at referral"])
    expect(other.locator("main")).not_to_contain_text("promised hotel work")
    expect(other.locator("main")).not_to_contain_text("1994")
    other.get_by_role("button", name="Accepted").click()
    expect(other.locator("main")).to_contain_text("Shelter Hope beds · accepted")
    other.context.close()
