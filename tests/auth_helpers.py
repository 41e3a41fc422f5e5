"""Signing test clients in: real accounts, real TOTP codes, real sessions."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from maillon.auth import api as auth
from maillon.store.api import Store
from maillon.store.keys import FileKeyProvider
from maillon.store.models import Organisation

PASSWORD = "a long enough test passphrase 7"


def organisation_id(store: Store, name: str) -> str:
    """The id of organisation ``name``, created when missing (code: slug of the name)."""
    from maillon.auth.orgs import create_organisation
    from maillon.core.ids import slug

    with store.sessions() as session, session.begin():
        found = session.execute(
            select(Organisation.id).where(Organisation.name == name)
        ).scalar_one_or_none()
        if found is not None:
            return found
        return create_organisation(session, name=name, code=slug(name)).id


def test_keys() -> FileKeyProvider:
    """The key file every test's app and CLI use (``MAILLON_KEY_FILE``, set per test)."""
    return FileKeyProvider.open_or_create(Path(os.environ["MAILLON_KEY_FILE"]))


def make_user(store: Store, *, username: str, role: str, organisation: str,
              team: str | None = None) -> str:
    """Create a user; returns its TOTP secret."""
    org_id = organisation_id(store, organisation)
    with store.sessions() as session, session.begin():
        _, secret = auth.create_user(session, organisation_id=org_id, username=username,
                                     password=PASSWORD, role=role, team=team,
                                     keys=test_keys())
    assert secret is not None
    return secret


def sign_in(client: TestClient, store: Store, *, username: str = "sam.supervisor",
            role: str = "supervisor", organisation: str = "Police Unit 7") -> str:
    """Create the account and give ``client`` its bearer token; returns the token."""
    secret = make_user(store, username=username, role=role, organisation=organisation)
    response = client.post("/api/v1/auth/login", json={
        "username": username, "password": PASSWORD, "totp": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.text
    token = str(response.json()["token"])
    client.headers["Authorization"] = f"Bearer {token}"
    return token
