"""The statistics dashboard in a real browser: open it, filter, download a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maillon.store.api import Store
from tests.stats_helpers import load_cases
from tests.test_browser import _sign_in, base_url, browser, page  # noqa: F401

pytestmark = pytest.mark.browser


def test_dashboard_filter_and_download(page: Any, base_url: str, store: Store,  # noqa: F811
                                       tmp_path: Path) -> None:
    from playwright.sync_api import expect

    load_cases(store, tmp_path, 300)
    _sign_in(page, base_url, store, "/stats")
    expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
    expect(page.locator("figure.stat-chart svg").first).to_be_visible()
    expect(page.locator("#stat-table")).to_contain_text("Total")

    page.get_by_label("Country", exact=True).select_option("FR")
    page.get_by_label("Year", exact=True).select_option("2021")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/stats?*country=FR*")
    assert "year=2021" in page.url
    expect(page.get_by_label("Country", exact=True)).to_have_value("FR")
    expect(page.locator("#stat-table tbody tr").first).to_contain_text("2021")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "victims_sex_age_year.csv"
    saved = tmp_path / "download.csv"
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "# protection: suppression" in text
    assert '# filters: {"country": "FR", "year": 2021}' in text
    data = [line for line in text.splitlines() if not line.startswith("#")]
    assert data[0] == "year,sex,age_group,value,flag"
    assert all(line.startswith(("2021,", "_T,")) for line in data[1:])

    page.screenshot(path=str(tmp_path / "stats.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
        "/stats scrolls sideways on a phone"
