"""The pages in a real browser: Debian's Chromium driven by Playwright against uvicorn.

Skipped (with the reason) when ``/usr/bin/chromium`` is absent, except under ``CI=true`` where
that fails. Every request the page makes must go to the local server.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import uvicorn

from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
HTMX_JS = Path(__file__).resolve().parent.parent / "src/maillon/web/static/vendor/htmx.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

HEADER = (
    "record_id,case_id,org_Name,prs_Role,prs_FirstName,prs_SecondName,prs_Birthdate,prs_Gender,"
    "prs_Citizenship,vic_MethodsOfControl,vic_TypeOfExploitation,hte_ExploitationCountry,"
    "cas_Status,cas_RegistrationDate\n"
)
ORG = "Police Unit 7"
USERNAME = "sam.supervisor"
GOOD = (
    f"P-1,C-100,{ORG},Victim,Amina,Okafor,1994-03-02,Female,NG,PhysicalThreats,"
    "ForcedLabour,FR,Active,2023-05-04\n"
    f"P-2,C-100,{ORG},Perpetrator,Jean,Dubois,1970,Male,FR,,,,Active,2023-05-04\n"
    f"P-3,C-200,{ORG},Victim,Li,Wei,2001-11,Female,CN,,SexualExploitation,BE,Closed,"
    "2022-01-15\n"
)
BAD = (
    f"P-7,C-300,{ORG},Victim,Eva,Novak,1990-02-01,Female,SK,,,,Active,2023-01-01\n"
    f"P-8,C-300,{ORG},Victim,Ivo,Novak,1990-02-30,Male,SK,,,,Active,2023-01-01\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def base_url(settings: Settings, store: Store) -> Iterator[str]:
    """The real app served by uvicorn on a free local port, in a background thread."""
    from maillon.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    outside: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    opened = context.new_page()
    yield opened
    context.close()
    assert outside == [], f"the page tried to load from outside the app: {outside}"


def _csv(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _sign_in(page: Any, base_url: str, store: Store, path: str) -> None:
    """Open ``path``, get sent to the sign-in form, fill it in and land back on ``path``."""
    from playwright.sync_api import expect

    secret = make_user(store, username=USERNAME, role="supervisor", organisation=ORG)
    page.goto(base_url + path)
    page.wait_for_url("**/login?next=*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + path)
    expect(page.locator("header")).to_contain_text(USERNAME)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_import_then_find_the_case(page: Any, base_url: str, store: Store,
                                   tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _sign_in(page, base_url, store, "/imports")
    expect(page.locator("main")).to_contain_text(f"imported as {ORG}")
    page.locator("input#file").set_input_files(_csv(tmp_path, "cases.csv", GOOD))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/imports/*")
    expect(page.locator(".notice")).to_contain_text("committed")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cases").click()
    page.wait_for_url("**/cases")
    expect(page.locator("#case-table")).to_contain_text("2 cases")
    page.get_by_label("Search", exact=True).fill("Okafor")
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#case-table")
    expect(table).to_contain_text("1 case.")
    assert "Okafor" not in page.url, "a searched name must never reach the address bar"
    expect(table.get_by_role("link", name="C-200")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "cases.png"), full_page=True)

    table.get_by_role("link", name="C-100").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Case C-100")
    expect(page.get_by_role("heading", name="Amina Okafor")).to_be_visible()
    expect(page.locator("main")).to_contain_text("France (FR)")

    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/cases", page.url, "/imports"):
        page.goto(path if path.startswith("http") else base_url + path)
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        ), f"{path} scrolls sideways on a phone"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto(base_url + "/cases")
    page.wait_for_url("**/login?next=*")
    expect(page.locator("main")).not_to_contain_text("C-100")


def test_bad_row_is_reported(page: Any, base_url: str, store: Store, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _sign_in(page, base_url, store, "/imports")
    page.locator("input#file").set_input_files(_csv(tmp_path, "bad.csv", BAD))
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/imports/*")
    expect(page.locator(".notice")).to_contain_text("Nothing was imported")
    row = page.locator("table.errors tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("2")
    expect(row.locator("td").nth(1)).to_have_text("prs_Birthdate")
    expect(row.locator("td").nth(3)).to_contain_text("not a valid date")
    expect(page.get_by_role("link", name="Download rejected rows (CSV) to fix and re-submit")
           ).to_have_attribute("href", f"/api/v1/imports/{page.url.rsplit('/', 1)[1]}"
                                       "/quarantine.csv")


@pytest.mark.skipif(not HTMX_JS.is_file(), reason=f"htmx not installed at {HTMX_JS}")
def test_filter_refreshes_only_the_table_with_htmx(
    page: Any, base_url: str, store: Store, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from maillon.collect import api as collect

    collect.import_file(store.engine, _csv(tmp_path, "cases.csv", GOOD), collect.ImportOptions())
    _sign_in(page, base_url, store, "/cases")
    assert page.evaluate("typeof window.htmx") == "object"
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search", exact=True).fill("Okafor")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#case-table")).to_contain_text("1 case.")
    assert page.evaluate("window.notReloaded === true"), "the whole page was reloaded"
    assert "Okafor" not in page.url
    expect(page.locator("form.filters")).to_have_count(1)
    page.get_by_label("Search", exact=True).fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#case-table")).to_contain_text("2 cases.")
