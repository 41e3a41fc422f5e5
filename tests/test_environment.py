"""Under CI=true the whole environment must be there; elsewhere these checks skip."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import IN_CI, PG_URL, shared_path

pytestmark = pytest.mark.skipif(not IN_CI, reason="only CI must have every tool installed")


def test_ci_has_the_shared_reference_data() -> None:
    assert (shared_path() / "reference").is_dir(), f"missing {shared_path()}/reference"


def test_ci_has_chromium_java_and_postgresql() -> None:
    assert shutil.which("chromium"), "Debian's chromium is required for the browser tests"
    assert shutil.which("java"), "Java 17 is required for the Spark-marked tests"
    assert PG_URL, "MAILLON_TEST_DATABASE_URL must point at a running PostgreSQL"
