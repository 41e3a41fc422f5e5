"""Core conventions users and partners rely on: settings, the error shape, ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from maillon.core.errors import FieldError, InvalidInput, NotFound, error_body
from maillon.core.ids import id_block, new_id
from maillon.core.settings import load_settings, settings_markdown

REPO = Path(__file__).resolve().parent.parent


def test_settings_doc_matches_declaration() -> None:
    assert settings_markdown() in (REPO / "docs" / "settings.md").read_text(encoding="utf-8")


def test_environment_then_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILLON_PORT", "9001")
    monkeypatch.setenv("MAILLON_DATA_DIR", str(tmp_path / "ws"))
    settings = load_settings(data_dir=None)
    assert settings.port == 9001 and settings.data_dir == tmp_path / "ws"
    assert load_settings(port=9100).port == 9100
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/ws/maillon.sqlite"


def test_error_shape_is_pinned() -> None:
    err = InvalidInput("bad", [FieldError("not a valid date", "prs_Birthdate", 3, "2001-02-30")])
    assert err.status == 422
    assert err.body() == {"error": {"code": "validation_failed", "message": "bad", "details": [
        {"reason": "not a valid date", "field": "prs_Birthdate", "row": 3,
         "value": "2001-02-30"}]}}
    assert NotFound("x").body() == error_body("not_found", "x")
    assert str(err.details[0]) == (
        "row 3, column prs_Birthdate: not a valid date (value '2001-02-30')")


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(1000)] + id_block(1000)
    assert len(set(ids)) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids[0][:12] <= ids[-1][:12]
