"""The JSON API (``/api/v1``) as a client sees it: status codes, bodies and the one error shape."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maillon.collect import api as collect
from maillon.core.settings import Settings
from maillon.store.api import Store
from tests.auth_helpers import organisation_id, sign_in
from tests.factories import GOOD_ROWS, HEADER, row, write_csv

API = "/api/v1"
ORG = "Police Unit 7"
"""The organisation of the signed-in supervisor (the ``client`` fixture)."""


def csv_bytes(rows: list[list[str]], header: list[str] | None = None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def upload(client: TestClient, data: bytes, filename: str = "cases.csv",
           **form: str) -> Any:
    return client.post(f"{API}/imports", files={"file": (filename, data, "text/csv")},
                       data=form)


def assert_error_shape(body: dict[str, Any], code: str) -> list[dict[str, Any]]:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    details: list[dict[str, Any]] = body["error"]["details"]
    assert isinstance(details, list)
    return details


def total_cases(client: TestClient) -> int:
    response = client.get(f"{API}/cases")
    assert response.status_code == 200
    total: int = response.json()["total"]
    return total


def import_other_organisation(store: Store, tmp_path: Path) -> str:
    """Case H-1 of "Harbour Police", imported beside the API; returns the batch id."""
    rows = [row(record_id="HP-1", case_id="H-1", org_Name="Harbour Police",
                prs_FirstName="Olga", prs_SecondName="Kowalska")]
    owner = organisation_id(store, "Harbour Police")
    report = collect.import_file(store.engine, write_csv(tmp_path / "harbour.csv", rows),
                                 collect.ImportOptions(owner_organisation_id=owner))
    assert report.status == "committed", report
    return report.batch_id


@pytest.fixture
def imported(client: TestClient) -> dict[str, Any]:
    """The three good rows imported through the API: cases C-1 (2 persons) and C-2."""
    response = upload(client, csv_bytes(GOOD_ROWS))
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()
    return report


# -- meta ------------------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "sqlite"}


def test_openapi_lists_the_paths(client: TestClient) -> None:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Maillon"
    paths = spec["paths"]
    for path in ("/api/v1/health", "/api/v1/cases", "/api/v1/cases/{case_id}",
                 "/api/v1/imports", "/api/v1/imports/{batch_id}",
                 "/api/v1/imports/{batch_id}/quarantine.csv", "/api/v1/vocabularies",
                 "/api/v1/vocabularies/{name}", "/api/v1/cases/search"):
        assert path in paths, path
    assert "post" in paths["/api/v1/imports"] and "get" in paths["/api/v1/imports"]
    names = {p["name"] for p in paths["/api/v1/cases"]["get"]["parameters"]}
    assert {"exploitation", "country", "year", "organisation", "status", "limit",
            "offset"} <= names and "q" not in names  # a name never goes in a URL
    body = paths["/api/v1/imports"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "file" in form["properties"]
    assert "organisation" not in form["properties"], "imports are as the caller's organisation"


def test_anonymous_caller_gets_401(anonymous_client: TestClient) -> None:
    for method, path in (("get", "/cases"), ("get", "/cases/x"), ("get", "/imports"),
                         ("get", "/imports/x"), ("get", "/imports/x/quarantine.csv"),
                         ("post", "/imports"), ("get", "/vocabularies"),
                         ("post", "/auth/logout")):
        response = anonymous_client.request(method, f"{API}{path}",
                                            headers={"accept": "text/html"})
        assert response.status_code == 401, path
        assert_error_shape(response.json(), "unauthenticated")
    assert anonymous_client.get(f"{API}/health").status_code == 200
    bad = anonymous_client.get(f"{API}/cases", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401


def test_bearer_login_and_logout(anonymous_client: TestClient, store: Store) -> None:
    token = sign_in(anonymous_client, store, username="dora.officer", role="data_officer")
    assert token and anonymous_client.get(f"{API}/cases").status_code == 200
    assert anonymous_client.post(f"{API}/auth/logout").status_code == 204
    assert anonymous_client.get(f"{API}/cases").status_code == 401


def test_vocabularies(client: TestClient) -> None:
    response = client.get(f"{API}/vocabularies")
    assert response.status_code == 200
    listed = {v["name"]: v for v in response.json()}
    assert {"gender", "exploitation_type", "person_role"} <= set(listed)
    assert set(listed["gender"]) == {"name", "title", "source", "version", "codes"}
    assert listed["gender"]["codes"] == 6

    gender = client.get(f"{API}/vocabularies/gender")
    assert gender.status_code == 200
    body = gender.json()
    assert body["name"] == "gender" and body["multi"] is False
    codes = {c["code"] for c in body["codes"]}
    assert {"Feminine", "Masculine"} <= codes
    assert all(set(c) == {"code", "label", "parent"} for c in body["codes"])


def test_unknown_vocabulary_is_404(client: TestClient) -> None:
    response = client.get(f"{API}/vocabularies/nope")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "no vocabulary 'nope'",
                                         "details": []}}


# -- imports ---------------------------------------------------------------------------------


@pytest.mark.database
def test_good_csv_is_imported(client: TestClient, imported: dict[str, Any]) -> None:
    report = imported
    assert report["status"] == "committed"
    assert (report["rows_read"], report["inserted"], report["updated"], report["rejected"]) == (
        3, 3, 0, 0)
    assert report["filename"] == "cases.csv" and report["profile"] == "htcds"
    assert report["errors"] == [] and report["errors_truncated"] is False
    assert set(report) == {"batch_id", "status", "filename", "profile", "rows_read", "inserted",
                           "updated", "rejected", "message", "unmapped_columns", "errors",
                           "errors_truncated"}
    assert total_cases(client) == 2

    batch = client.get(f"{API}/imports/{report['batch_id']}")
    assert batch.status_code == 200
    assert batch.json()["status"] == "committed" and batch.json()["rows_inserted"] == 3
    listed = client.get(f"{API}/imports").json()
    assert [b["id"] for b in listed] == [report["batch_id"]]


@pytest.mark.database
def test_reimport_through_the_api_updates(client: TestClient, imported: dict[str, Any]) -> None:
    again = upload(client, csv_bytes(GOOD_ROWS))
    assert again.status_code == 201
    assert (again.json()["inserted"], again.json()["updated"]) == (0, 3)
    assert total_cases(client) == 2


@pytest.mark.database
def test_bad_csv_is_rejected_with_row_field_and_reason(client: TestClient) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot", prs_Birthdate="2001-02-30")
    response = upload(client, csv_bytes([*GOOD_ROWS, bad]))
    assert response.status_code == 422
    report = response.json()
    assert report["status"] == "rejected"
    assert report["inserted"] == 0 and report["rejected"] == 1 and report["rows_read"] == 4
    assert "nothing was imported" in report["message"]
    errors = {(e["row"], e["field"]): e for e in report["errors"]}
    assert set(errors) == {(4, "prs_Gender"), (4, "prs_Birthdate")}
    assert "unknown code" in errors[(4, "prs_Gender")]["reason"]
    assert errors[(4, "prs_Gender")]["value"] == "Robot"
    assert "not a valid date" in errors[(4, "prs_Birthdate")]["reason"]
    assert total_cases(client) == 0, "nothing may be committed"
    batch = client.get(f"{API}/imports/{report['batch_id']}").json()
    assert batch["status"] == "rejected" and batch["quarantined"] == 1


@pytest.mark.database
def test_unreadable_file_is_rejected(client: TestClient) -> None:
    response = upload(client, b"\xff\xfe\x00garbage\n\x00\x01", filename="junk.csv")
    assert response.status_code == 422
    report = response.json()
    assert report["status"] == "rejected" and report["errors"]
    assert "not valid utf-8" in report["message"]
    assert total_cases(client) == 0


def test_empty_upload_is_refused(client: TestClient) -> None:
    response = upload(client, b"", filename="empty.csv")
    assert response.status_code == 422
    details = assert_error_shape(response.json(), "validation_failed")
    assert details == [{"field": "file", "reason": "empty file"}]


def test_missing_file_field_is_a_validation_error(client: TestClient) -> None:
    response = client.post(f"{API}/imports", data={"profile": "htcds"})
    assert response.status_code == 422
    details = assert_error_shape(response.json(), "validation_failed")
    assert any(d["field"] == "body.file" for d in details)


@pytest.mark.database
def test_crafted_filename_stays_in_the_uploads_folder(
    client: TestClient, settings: Settings
) -> None:
    response = upload(client, csv_bytes(GOOD_ROWS), filename="../../../escape.csv")
    assert response.status_code == 201
    assert response.json()["filename"] == "escape.csv"
    for folder in (settings.data_dir, *list(settings.data_dir.parents)[:3]):
        assert not (folder / "escape.csv").exists()
    assert list((settings.data_dir / "uploads").iterdir()) == [], "deleted once imported"


@pytest.mark.database
def test_skip_bad_rows_commits_the_good_and_quarantines_the_bad(client: TestClient) -> None:
    bad = row(record_id="POL-9", prs_Gender="Robot")
    response = upload(client, csv_bytes([*GOOD_ROWS, bad]), skip_bad_rows="true")
    assert response.status_code == 201
    report = response.json()
    assert report["status"] == "partial"
    assert (report["inserted"], report["rejected"]) == (3, 1)
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(4, "prs_Gender")]
    assert total_cases(client) == 2

    quarantine = client.get(f"{API}/imports/{report['batch_id']}/quarantine.csv")
    assert quarantine.status_code == 200
    assert quarantine.headers["content-type"].startswith("text/csv")
    assert report["batch_id"] in quarantine.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(quarantine.text)))
    assert len(rows) == 1
    assert list(rows[0])[-2:] == ["_row", "_errors"]
    assert rows[0]["record_id"] == "POL-9" and rows[0]["prs_Gender"] == "Robot"
    assert rows[0]["_row"] == "4"
    assert "prs_Gender: unknown code" in rows[0]["_errors"]


@pytest.mark.database
def test_quarantine_csv_of_a_rejected_import(client: TestClient) -> None:
    response = upload(client, csv_bytes([row(prs_Birthdate="1999-13-01")]))
    assert response.status_code == 422
    quarantine = client.get(f"{API}/imports/{response.json()['batch_id']}/quarantine.csv")
    rows = list(csv.DictReader(io.StringIO(quarantine.text)))
    assert [(r["_row"], r["prs_Birthdate"]) for r in rows] == [("1", "1999-13-01")]
    assert "prs_Birthdate: not a valid date" in rows[0]["_errors"]


def test_unknown_batch_is_404(client: TestClient) -> None:
    for path in (f"{API}/imports/nope", f"{API}/imports/nope/quarantine.csv"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_error_shape(response.json(), "not_found")


@pytest.mark.parametrize("profile", ["nope", "/etc/passwd.yaml", "../profiles/htcds",
                                     "htcds.yaml", "HTCDS"])
def test_unknown_profile_is_refused(client: TestClient, profile: str) -> None:
    response = upload(client, csv_bytes(GOOD_ROWS), profile=profile)
    assert response.status_code == 422
    details = assert_error_shape(response.json(), "validation_failed")
    assert details == [{"field": "profile", "value": profile, "reason": "unknown profile"}]
    assert "built-in profiles: ctdc, htcds" in response.json()["error"]["message"]
    assert client.get(f"{API}/imports").json() == [], "no batch is recorded"


def test_empty_profile_field_means_the_default(client: TestClient) -> None:
    response = upload(client, csv_bytes(GOOD_ROWS), profile="")
    assert response.status_code == 201 and response.json()["profile"] == "htcds"


def test_profile_path_is_never_read(client: TestClient, tmp_path: Path) -> None:
    """A profile YAML that exists on the server must not be usable through the API."""
    profile = tmp_path / "evil.yaml"
    profile.write_text("name: evil\nrecord_id: record_id\ncolumns: {}\n", encoding="utf-8")
    response = upload(client, csv_bytes(GOOD_ROWS), profile=str(profile))
    assert response.status_code == 422
    assert_error_shape(response.json(), "validation_failed")


@pytest.mark.database
def test_ctdc_profile_and_default_organisation(client: TestClient) -> None:
    """Rows without an organisation column belong to the caller's organisation; a form field
    naming another one is ignored."""
    header = ["yearOfRegistration", "gender", "citizenship", "CountryOfExploitation"]
    data = csv_bytes([["2019", "Woman", "UKR", "POL"]], header=header)
    response = upload(client, data, profile="ctdc", organisation="CTDC")
    assert response.status_code == 201, response.text
    assert response.json()["profile"] == "ctdc"
    [item] = client.get(f"{API}/cases").json()["items"]
    assert item["organisation"] == ORG and item["countries"] == ["PL"]
    assert client.get(f"{API}/cases", params={"organisation": "CTDC"}).json()["total"] == 0


@pytest.mark.database
def test_rows_of_another_organisation_are_rejected(client: TestClient) -> None:
    other = row(record_id="NS-1", case_id="C-9", org_Name="North Shelter")
    response = upload(client, csv_bytes([*GOOD_ROWS, other]))
    assert response.status_code == 422
    report = response.json()
    assert report["status"] == "rejected" and report["inserted"] == 0
    [error] = report["errors"]
    assert (error["row"], error["field"], error["value"]) == (4, "org_Name", "North Shelter")
    assert "may only import records of" in error["reason"] and ORG in error["reason"]
    assert total_cases(client) == 0
    partial = upload(client, csv_bytes([*GOOD_ROWS, other]), skip_bad_rows="true")
    assert partial.status_code == 201 and partial.json()["status"] == "partial"
    assert case_ids(client) == ["C-1", "C-2"]
    by_code = upload(client, csv_bytes([row(org_Name="police-unit-7")]))
    assert by_code.status_code == 201, "the organisation's code names it too"


@pytest.mark.database
def test_another_organisations_records_are_not_found(
    client: TestClient, imported: dict[str, Any], store: Store, tmp_path: Path
) -> None:
    batch_id = import_other_organisation(store, tmp_path)
    assert case_ids(client) == ["C-1", "C-2"]
    assert case_ids(client, q="Kowalska") == [] and case_ids(client, q="H-1") == []
    assert case_ids(client, organisation="Harbour Police") == []
    with store.sessions() as session:
        hidden = collect.list_cases(session, collect.CaseFilter(q="H-1"), limit=1)[0].id
    response = client.get(f"{API}/cases/{hidden}")
    assert response.status_code == 404, "another organisation's case must look non-existent"
    assert_error_shape(response.json(), "not_found")
    assert "Kowalska" not in response.text
    for path in (f"{API}/imports/{batch_id}", f"{API}/imports/{batch_id}/quarantine.csv"):
        assert client.get(path).status_code == 404, path
    assert [b["id"] for b in client.get(f"{API}/imports").json()] == [imported["batch_id"]]


@pytest.mark.database
def test_analyst_sees_pseudonyms(client: TestClient, imported: dict[str, Any],
                                 store: Store) -> None:
    sign_in(client, store, username="ana.analyst", role="analyst")
    assert case_ids(client) == ["C-1", "C-2"]
    assert case_ids(client, q="Popescu") == [], "names are not searchable when hidden"
    assert case_ids(client, q="C-1") == ["C-1"]
    [item] = client.post(f"{API}/cases/search", json={"q": "C-1"}).json()["items"]
    persons = {p["source_record_id"]: p for p in client.get(
        f"{API}/cases/{item['id']}").json()["persons"]}
    ana = persons["POL-1"]
    assert ana["given_name"].startswith("P-") and len(ana["given_name"]) == 12
    assert ana["family_name"] is None and ana["middle_name"] is None
    assert ana["birth_date"] == "1998"
    assert "Popescu" not in client.get(f"{API}/cases/{item['id']}").text


def test_year_zero_upload_is_a_422(client: TestClient) -> None:
    response = upload(client, csv_bytes([row(prs_Birthdate="0000")]))
    assert response.status_code == 422


# -- cases -----------------------------------------------------------------------------------


def case_ids(client: TestClient, **params: Any) -> list[str]:
    """Source ids of the listed cases; a search (``q``) is POSTed, as the API requires."""
    if "q" in params:
        response = client.post(f"{API}/cases/search", json=params)
    else:
        response = client.get(f"{API}/cases", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    return [item["source_record_id"] for item in body["items"]]


@pytest.mark.database
def test_case_list(client: TestClient, imported: dict[str, Any]) -> None:
    body = client.get(f"{API}/cases").json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    first, second = body["items"]
    assert first == {
        "id": first["id"], "source_record_id": "C-1", "organisation": "Police Unit 7",
        "status": "Active", "registration_date": "2022-01-10", "victims": 1, "perpetrators": 1,
        "exploitation": ["SexualExploitation"], "countries": ["DE"],
    }
    assert second["source_record_id"] == "C-2", "newest registration first"
    assert (second["victims"], second["perpetrators"]) == (1, 0)


@pytest.mark.database
@pytest.mark.parametrize(("params", "expected"), [
    ({"q": "C-2"}, ["C-2"]),
    ({"q": "ana"}, ["C-1"]),
    ({"q": "NGUYEN"}, ["C-2"]),
    ({"q": "NGUY"}, []),
    ({"q": "POL-2"}, ["C-1"]),
    ({"q": "zzz"}, []),
    ({"exploitation": "ForcedLabour"}, ["C-2"]),
    ({"exploitation": "SexualExploitation"}, ["C-1"]),
    ({"exploitation": "Nope"}, []),
    ({"country": "de"}, ["C-1"]),
    ({"country": "GB"}, ["C-2"]),
    ({"country": "RO"}, []),
    ({"year": 2021}, ["C-2"]),
    ({"year": 2022}, ["C-1"]),
    ({"year": 2020}, []),
    ({"status": "Closed"}, ["C-2"]),
    ({"status": "Active"}, ["C-1"]),
    ({"organisation": "Police Unit 7"}, ["C-1", "C-2"]),
    ({"organisation": "police-unit-7"}, ["C-1", "C-2"]),
    ({"organisation": "Someone Else"}, []),
    ({"status": "Active", "year": 2021}, []),
    ({"q": "", "status": ""}, ["C-1", "C-2"]),
])
def test_case_filters(client: TestClient, imported: dict[str, Any],
                      params: dict[str, Any], expected: list[str]) -> None:
    if "q" in params:
        response = client.post(f"{API}/cases/search", json=params)
    else:
        response = client.get(f"{API}/cases", params=params)
    assert response.status_code == 200
    body = response.json()
    assert [i["source_record_id"] for i in body["items"]] == expected
    assert body["total"] == len(expected)


@pytest.mark.database
def test_case_pagination(client: TestClient, imported: dict[str, Any]) -> None:
    page1 = client.get(f"{API}/cases", params={"limit": 1}).json()
    page2 = client.get(f"{API}/cases", params={"limit": 1, "offset": 1}).json()
    page3 = client.get(f"{API}/cases", params={"limit": 1, "offset": 2}).json()
    assert (page1["total"], page2["total"], page3["total"]) == (2, 2, 2)
    assert [i["source_record_id"] for i in page1["items"] + page2["items"]] == ["C-1", "C-2"]
    assert page3["items"] == []
    assert (page2["limit"], page2["offset"]) == (1, 1)


@pytest.mark.database
def test_case_detail(client: TestClient, imported: dict[str, Any]) -> None:
    [item] = client.post(f"{API}/cases/search", json={"q": "C-1"}).json()["items"]
    response = client.get(f"{API}/cases/{item['id']}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["summary"] == item
    assert set(detail) >= {"summary", "persons", "events", "referrals", "support_plans",
                           "consents", "provenance"}
    persons = {p["source_record_id"]: p for p in detail["persons"]}
    assert set(persons) == {"POL-1", "POL-2"}
    ana = persons["POL-1"]
    assert (ana["role"], ana["given_name"], ana["family_name"], ana["gender"]) == (
        "Victim", "Ana", "Popescu", "Feminine")
    assert ana["birth_date"] == "1998-03-04"
    assert ana["codes"]["methods_of_control"] == ["DebtBondage", "WithholdsDocuments"]
    assert ana["victim"]["age_when_trafficked"] == 22
    ion = persons["POL-2"]
    assert ion["victim"] is None and ion["perpetrator"] is not None
    assert sorted(ion["codes"]["citizenship"]) == ["MD", "RO"]
    exploitation = [e for e in detail["events"] if e["event_type"] == "Exploitation"]
    assert [(e["country"], e["date_from"]) for e in exploitation] == [("DE", "2021-05-01")]
    assert len(detail["referrals"]) == 1


def test_unknown_case_is_404_with_the_error_shape(client: TestClient) -> None:
    response = client.get(f"{API}/cases/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "no case 'does-not-exist'", "details": []}
    }


def test_api_errors_are_json_even_for_browsers(client: TestClient) -> None:
    response = client.get(f"{API}/cases/nope", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("params", "field"), [
    ({"year": "abc"}, "query.year"),
    ({"year": "1800"}, "query.year"),
    ({"limit": "0"}, "query.limit"),
    ({"limit": "501"}, "query.limit"),
    ({"offset": "-1"}, "query.offset"),
])
def test_invalid_query_is_a_validation_error(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.get(f"{API}/cases", params=params)
    assert response.status_code == 422
    details = assert_error_shape(response.json(), "validation_failed")
    assert response.json()["error"]["message"] == "the request is not valid"
    assert [d["field"] for d in details] == [field]
    assert all(d["reason"] for d in details)


def test_write_csv_fixture_matches_api_bytes(tmp_path: Path) -> None:
    """The API tests build their uploads like tests.factories.write_csv does on disk."""
    path = write_csv(tmp_path / "a.csv", GOOD_ROWS)
    assert path.read_bytes() == csv_bytes(GOOD_ROWS)


def test_search_text_is_refused_in_the_url(client: TestClient, imported: dict[str, Any]) -> None:
    response = client.get(f"{API}/cases", params={"q": "Popescu"})
    assert response.status_code == 422
    assert_error_shape(response.json(), "validation_failed")
    assert "POST it to /api/v1/cases/search" in response.json()["error"]["message"]
    assert client.post(f"{API}/cases/search", json={"q": "Popescu", "bogus": 1}).status_code == 422
