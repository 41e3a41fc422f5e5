"""The HTML pages, through FastAPI's TestClient: import a file, read its report, browse cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from maillon.collect import api as collect
from maillon.core.settings import Settings
from maillon.store import models as m
from maillon.store.api import Store
from tests.auth_helpers import organisation_id, sign_in

HTML = {"Accept": "text/html"}
ORG = "Police Unit 7"
"""The organisation of the signed-in supervisor (the ``client`` fixture)."""

HEADER = (
    "record_id,case_id,org_Name,prs_Role,prs_FirstName,prs_SecondName,prs_Birthdate,prs_Gender,"
    "prs_Citizenship,vic_MethodsOfControl,vic_TypeOfExploitation,hte_ExploitationCountry,"
    "cas_Status,cas_RegistrationDate"
)
GOOD_ROWS = [
    f"P-1,C-100,{ORG},Victim,Amina,Okafor,1994-03-02,Female,NG,"
    "PhysicalThreats;Debt bondage,ForcedLabour,FR,Active,2023-05-04",
    f"P-2,C-100,{ORG},Perpetrator,Jean,Dubois,1970,Male,FR,,,,Active,2023-05-04",
    f"P-3,C-200,{ORG},Victim,Li,Wei,2001-11,Female,CN,,SexualExploitation,BE,"
    "Closed,2022-01-15",
]
OTHER_ROWS = [
    "H-1,C-900,Harbour Police,Victim,Olga,Kowalska,1990-01-01,Female,PL,,ForcedLabour,BE,"
    "Active,2023-02-02",
]
"""Another organisation's case, which the supervisor of Police Unit 7 must never see."""


def write_csv(folder: Path, name: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def import_other_organisation(store: Store, tmp_path: Path) -> tuple[str, str]:
    """Import OTHER_ROWS as Harbour Police, bypassing the web; returns (case id, batch id)."""
    owner = organisation_id(store, "Harbour Police")
    report = collect.import_file(store.engine, write_csv(tmp_path, "harbour.csv", OTHER_ROWS),
                                 collect.ImportOptions(owner_organisation_id=owner))
    assert report.status == "committed", report
    with store.sessions() as session:
        case_id = session.execute(
            select(m.Case.id).where(m.Case.source_record_id == "C-900")).scalar_one()
    return case_id, report.batch_id


def upload(client: TestClient, path: Path, **fields: str) -> str:
    """POST the file to the upload form; return the report's URL (the 303 target)."""
    with path.open("rb") as fh:
        response = client.post(
            "/imports", files={"file": (path.name, fh, "text/csv")},
            data={"profile": "htcds", **fields}, headers=HTML, follow_redirects=False,
        )
    assert response.status_code == 303, response.text
    location = str(response.headers["location"])
    assert re.fullmatch(r"/imports/[^/]+", location)
    return location


@pytest.fixture
def imported(client: TestClient, tmp_path: Path) -> str:
    return upload(client, write_csv(tmp_path, "cases.csv", GOOD_ROWS))


def case_link(html: str, shown_id: str) -> str:
    found = re.search(rf'href="(/cases/[^"]+)">{re.escape(shown_id)}<', html)
    assert found, f"no link to case {shown_id}"
    return found.group(1)


def test_home_redirects_to_cases(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/cases"


def test_layout_has_navigation_and_no_external_assets(client: TestClient) -> None:
    html = client.get("/cases").text
    assert '<a class="brand" href="/cases">Maillon</a>' in html
    for href in ('href="/cases"', 'href="/imports"', 'href="/api/v1/docs"'):
        assert href in html
    assert "Maillon 0.1.0" in html
    assert "sam.supervisor" in html and ">Sign out</button>" in html
    assert 'action="/logout"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert client.get("/static/maillon.css").status_code == 200


def test_upload_shows_committed_report(client: TestClient, imported: str) -> None:
    page = client.get(imported)
    assert page.status_code == 200
    assert "committed" in page.text
    assert "Every row was imported." in page.text
    assert "cases.csv" in page.text
    assert re.search(r"<dt>Rows read</dt><dd>3</dd>", page.text)
    assert re.search(r"<dt>Inserted</dt><dd>3</dd>", page.text)
    assert "Download rejected rows" not in page.text
    listing = client.get("/imports")
    assert "cases.csv" in listing.text
    assert f'href="{imported}"' in listing.text
    assert 'class="badge status-committed"' in listing.text


def test_case_list_and_filters(client: TestClient, imported: str, store: Store,
                               tmp_path: Path) -> None:
    import_other_organisation(store, tmp_path)
    html = client.get("/cases").text
    assert "2 cases." in html
    assert "C-100" in html and "C-200" in html
    assert "C-900" not in html, "another organisation's case is listed"
    assert f'<option value="police-unit-7">{ORG}</option>' in html
    assert "Harbour Police" not in html, "the organisation filter lists an unseen organisation"
    assert "Forced labour" in html  # label, not the code ForcedLabour
    assert "France" in html
    assert 'name="q"' in html and '<label for="q">' in html
    assert '<option value="Closed">Closed</option>' in html

    def shown(**params: str) -> set[str]:
        if "q" in params:  # the search box is POSTed: names never in the URL
            text = client.post("/cases", data=params).text
        else:
            text = client.get("/cases", params=params).text
        return set(re.findall(r">(C-\d+)</a>", text))

    assert shown(q="okafor") == {"C-100"}, "whole names match, whatever the case"
    assert shown(q="okaf") == set(), "names are encrypted: no prefix search"
    assert shown(q="Wei") == {"C-200"}
    assert shown(q="C-200") == {"C-200"}
    assert shown(status="Closed") == {"C-200"}
    assert shown(exploitation="ForcedLabour") == {"C-100"}
    assert shown(country="be") == {"C-200"}
    assert shown(year="2023") == {"C-100"}
    assert shown(organisation=ORG) == {"C-100", "C-200"}
    assert shown(organisation="police-unit-7") == {"C-100", "C-200"}
    assert shown(organisation="Harbour Police") == set()
    assert shown(q="Kowalska") == set() and shown(q="C-900") == set()
    assert shown(country="pl") == set()
    # A plain HTML form sends empty fields; they mean "no filter".
    assert shown(q="", organisation="", status="", exploitation="", country="",
                 year="") == {"C-100", "C-200"}
    assert shown(q="nobody") == set()
    assert "No cases match." in client.post("/cases", data={"q": "nobody"}).text
    assert 'method="post" action="/cases"' in client.get("/cases").text


def test_bad_filter_values_are_explained(client: TestClient, imported: str) -> None:
    response = client.get("/cases", params={"year": "20x3", "country": "ZZ"})
    assert response.status_code == 200
    assert "enter a year between 1900 and 2100" in response.text
    assert "two-letter ISO country code" in response.text


def test_pagination(client: TestClient, tmp_path: Path) -> None:
    rows = [f"R-{i},K-{i:03d},{ORG},Victim,Ana,Pop{i},,,,,,,Active,2020-01-01" for i in range(55)]
    upload(client, write_csv(tmp_path, "many.csv", rows))
    first = client.get("/cases").text
    assert "55 cases, showing 1–50." in first
    assert "Page 1 of 2" in first
    assert len(re.findall(r">K-\d+</a>", first)) == 50
    assert 'href="/cases?page=2"' in first
    second = client.get("/cases", params={"page": "2"}).text
    assert len(re.findall(r">K-\d+</a>", second)) == 5
    filtered = client.get("/cases", params={"status": "Active"}).text
    assert 'href="/cases?status=Active&amp;page=2"' in filtered


def test_htmx_request_gets_only_the_table(client: TestClient, imported: str) -> None:
    full = client.post("/cases", data={"q": "okafor"})
    assert "<html" in full.text and 'hx-post="/cases"' in full.text
    assert 'hx-target="#case-table"' in full.text and full.headers["cache-control"] == "no-store"
    fragment = client.post("/cases", data={"q": "okafor"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<form" not in fragment.text
    assert "<table" in fragment.text and "C-100" in fragment.text and "C-200" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    restore = client.get("/cases", headers={"HX-Request": "true",
                                            "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_case_detail(client: TestClient, imported: str) -> None:
    link = case_link(client.get("/cases").text, "C-100")
    page = client.get(link)
    assert page.status_code == 200
    html = page.text
    assert "Case C-100" in html
    assert "Amina Okafor" in html and "Jean Dubois" in html
    assert "Victim" in html and "Perpetrator" in html
    assert "1994-03-02" in html and "1970" in html
    assert "Feminine" in html and "Masculine" in html
    assert "Nigeria (NG)" in html
    assert "Physical threats" in html  # methods of control, by label
    assert "Forced labour" in html
    assert "Exploitation" in html and "France (FR)" in html
    assert ORG in html
    assert f'href="{imported}"' in html  # provenance links to the import


def test_another_organisations_records_are_not_found(client: TestClient, imported: str,
                                                     store: Store, tmp_path: Path) -> None:
    case_id, batch_id = import_other_organisation(store, tmp_path)
    page = client.get(f"/cases/{case_id}", headers=HTML)
    assert page.status_code == 404, "another organisation's case must look non-existent"
    assert "Kowalska" not in page.text
    assert client.get(f"/imports/{batch_id}", headers=HTML).status_code == 404
    listing = client.get("/imports").text
    assert "harbour.csv" not in listing and batch_id not in listing
    assert f'href="{imported}"' in listing


def test_analyst_sees_pseudonyms_not_names(client: TestClient, imported: str,
                                           store: Store) -> None:
    link = case_link(client.get("/cases").text, "C-100")
    sign_in(client, store, username="ana.analyst", role="analyst")
    html = client.get(link).text
    assert "Case C-100" in html
    assert "Amina" not in html and "Okafor" not in html and "Dubois" not in html
    assert re.search(r"P-[0-9a-f]{10}", html)
    assert "1994" in html and "1994-03-02" not in html
    listed = client.post("/cases", data={"q": "okafor"}).text
    assert "C-100" not in listed, "a name search must not reveal names to an analyst"
    assert "C-100" in client.post("/cases", data={"q": "C-100"}).text


def test_anonymous_visitor_is_sent_to_sign_in(anonymous_client: TestClient) -> None:
    for path in ("/cases?status=Closed", "/imports", "/cases/some-id", "/"):
        response = anonymous_client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303, path
        location = response.headers["location"]
        assert location.startswith("/login?next="), path
    assert anonymous_client.get("/cases?status=Closed", follow_redirects=False
                                ).headers["location"] == "/login?next=%2Fcases%3Fstatus%3DClosed"
    login = anonymous_client.get("/login")
    assert login.status_code == 200
    for field in ("username", "password", "totp"):
        assert f'id="{field}"' in login.text
    assert anonymous_client.get("/static/maillon.css").status_code == 200


def test_unknown_case_is_a_404_page(client: TestClient) -> None:
    response = client.get("/cases/does-not-exist", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text and "does-not-exist" in response.text
    assert client.get("/imports/nope", headers=HTML).status_code == 404


def test_bad_rows_are_listed_and_nothing_is_imported(client: TestClient, tmp_path: Path) -> None:
    rows = [
        GOOD_ROWS[0],
        f"P-8,C-300,{ORG},Victim,Eva,Novak,1990-02-30,Female,SK,,,,Active,2023-01-01",
        f"P-9,C-300,{ORG},Victim,Ivo,Novak,1991-01-01,Female,Atlantis,,,,Active,2023-01-01",
    ]
    report_url = upload(client, write_csv(tmp_path, "bad.csv", rows))
    html = client.get(report_url).text
    assert "rejected" in html
    assert "Nothing was imported" in html
    assert "nothing was imported" in html.lower()
    lines = re.findall(
        r'<tr><td class="num">(\d+)</td><td><code>([^<]*)</code></td><td>([^<]*)</td>'
        r"<td>([^<]*)</td></tr>", html)
    assert ("2", "prs_Birthdate", "1990-02-30") in [line[:3] for line in lines]
    assert ("3", "prs_Citizenship", "Atlantis") in [line[:3] for line in lines]
    reasons = {line[1]: line[3] for line in lines}
    assert "not a valid date" in reasons["prs_Birthdate"]
    assert "unknown country" in reasons["prs_Citizenship"]
    batch_id = report_url.rsplit("/", 1)[1]
    assert f'href="/api/v1/imports/{batch_id}/quarantine.csv"' in html
    assert "Download rejected rows (CSV) to fix and re-submit" in html
    assert "No cases match." in client.get("/cases").text
    csv_text = client.get(f"/api/v1/imports/{batch_id}/quarantine.csv").text
    assert "Atlantis" in csv_text


def test_skip_bad_rows_imports_the_rest(client: TestClient, tmp_path: Path) -> None:
    rows = [GOOD_ROWS[2], f"P-8,C-300,{ORG},Victim,Eva,Novak,1990-02-30,,,,,,Active,2023-01-01"]
    report_url = upload(client, write_csv(tmp_path, "some.csv", rows), skip_bad_rows="true")
    html = client.get(report_url).text
    assert "partial" in html and "were not imported" in html
    assert "C-200" in client.get("/cases").text


def test_rows_of_another_organisation_are_rejected(client: TestClient, tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], "P-4,C-400,North Shelter,Victim,Eva,Novak,,,,,,,Active,2023-01-01"]
    report_url = upload(client, write_csv(tmp_path, "mixed.csv", rows))
    html = client.get(report_url).text
    assert "Nothing was imported" in html
    assert "may only import records of" in html and ORG in html
    assert "North Shelter" in html  # the offending value is shown
    assert "No cases match." in client.get("/cases").text
    partial = upload(client, write_csv(tmp_path, "mixed.csv", rows), skip_bad_rows="true")
    assert "partial" in client.get(partial).text
    listed = client.get("/cases").text
    assert "C-100" in listed and "C-400" not in listed and "North Shelter" not in listed


def test_rows_without_organisation_get_the_callers(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "no-org.csv"
    path.write_text("record_id,case_id,prs_Role,prs_FirstName,cas_Status\n"
                    "N-1,C-500,Victim,Mira,Active\n", encoding="utf-8")
    assert "committed" in client.get(upload(client, path)).text
    html = client.get("/cases", params={"organisation": "police-unit-7"}).text
    assert "C-500" in html


def test_file_level_rejection_shows_the_message(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    html = client.get(upload(client, path)).text
    assert "Nothing was imported" in html
    assert "record_id" in html


def test_empty_upload_redisplays_the_form(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with path.open("rb") as fh:
        response = client.post("/imports", files={"file": ("empty.csv", fh, "text/csv")},
                               data={"profile": "ctdc", "skip_bad_rows": "true"},
                               headers=HTML, follow_redirects=False)
    assert response.status_code == 422
    assert "The file was not imported" in response.text and "empty" in response.text
    assert '<option value="ctdc" selected>ctdc</option>' in response.text
    assert re.search(r'id="skip_bad_rows"[^>]* checked', response.text)


def test_imports_page_form(client: TestClient) -> None:
    html = client.get("/imports").text
    assert 'enctype="multipart/form-data"' in html
    assert 'accept=".csv,.xlsx,.json,.jsonl"' in html
    for field in ("file", "profile", "skip_bad_rows"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert 'name="organisation"' not in html, "imports are always as the caller's organisation"
    assert f"imported as <strong>{ORG}</strong>" in html
    assert 'name="csrf_token"' in html
    assert '<option value="htcds" selected>htcds</option>' in html
    assert "No file has been imported yet." in html


def test_data_is_escaped(client: TestClient, tmp_path: Path) -> None:
    rows = [f"X-1,<script>alert(1)</script>,{ORG},Victim,<i>Eve</i>,Doe,,,,,,,Active,"
            "2023-01-01"]
    upload(client, write_csv(tmp_path, "evil.csv", rows))
    html = client.get("/cases").text
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    detail = client.get(case_link(html, "&lt;script&gt;alert(1)&lt;/script&gt;")).text
    assert "<script>alert" not in detail
    assert "<i>Eve</i>" not in detail and "&lt;i&gt;Eve&lt;/i&gt;" in detail
    # A rejected value is echoed on the report, escaped too.
    bad = ["X-2,C-2,<b>Evil Org</b>,Victim,Eve,Doe,,,,,,,Active,2023-01-01"]
    report = client.get(upload(client, write_csv(tmp_path, "evil2.csv", bad))).text
    assert "<b>Evil Org</b>" not in report and "&lt;b&gt;Evil Org&lt;/b&gt;" in report


def test_error_page_for_invalid_request(client: TestClient) -> None:
    response = client.get("/cases", params={"page": "0"}, headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "page" in response.text


def test_htmx_script_only_when_installed(client: TestClient, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    from maillon.web import pages

    tag = '<script defer src="/static/vendor/htmx.min.js"></script>'
    monkeypatch.setitem(pages.templates.env.globals, "htmx", False)
    assert tag not in client.get("/cases").text
    monkeypatch.setitem(pages.templates.env.globals, "htmx", True)
    assert tag in client.get("/cases").text


def test_reimport_updates(client: TestClient, tmp_path: Path, imported: str) -> None:
    again = client.get(upload(client, write_csv(tmp_path, "cases.csv", GOOD_ROWS))).text
    assert re.search(r"<dt>Updated</dt><dd>3</dd>", again)
    assert "2 cases." in client.get("/cases").text


def test_profile_must_be_a_builtin_one(client: TestClient, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "cases.csv", GOOD_ROWS)
    profile = tmp_path / "mine.yaml"
    profile.write_text("name: mine\ntitle: t\nrecord_id: record_id\ncolumns: {record_id: "
                       "record_id}\n", encoding="utf-8")
    with path.open("rb") as fh:
        response = client.post("/imports", files={"file": ("cases.csv", fh, "text/csv")},
                               data={"profile": str(profile)}, follow_redirects=False)
    assert response.status_code == 422
    assert "unknown profile" in response.text


def test_case_view_shows_the_persons_linked_records(client: TestClient, imported: str,
                                                    store: Store, settings: Settings,
                                                    tmp_path: Path) -> None:
    from maillon.auth.context import Security
    from maillon.link.api import run

    owner = organisation_id(store, "Harbour Police")
    twin = ["H-2,C-901,Harbour Police,Victim,Amina,Okafor,1994-03-02,Female,NG,,ForcedLabour,"
            "FR,Active,2023-06-01"]
    assert collect.import_file(store.engine, write_csv(tmp_path, "twin.csv", twin),
                               collect.ImportOptions(owner_organisation_id=owner)
                               ).status == "committed"
    security = Security.open(settings)
    with security.audit.audit_scope(store.engine) as conn:
        run(conn, keys=security.keys, audit=security.audit, actor="ops", source="test")
    html = client.get(case_link(client.get("/cases").text, "C-100")).text
    assert "Same person, linked" in html
    assert "Harbour Police (a record you may not open)" in html
    assert "H-2" not in html and "C-901" not in html, "no detail of a case outside the scope"
