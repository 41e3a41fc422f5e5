"""Tests of accounts and authorisation (maillon.auth): roles, passwords, TOTP, sign-in, sessions,
CSRF and query-level record scopes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import maillon.store.models  # noqa: F401  (registers the case tables on Base.metadata)
from maillon.auth import passwords, service, sessions, totp
from maillon.auth.api import (
    ACTIONS,
    RESOURCES,
    AuthenticationFailed,
    Principal,
    User,
    UserSession,
    allowed,
    authenticate,
    change_password,
    check_csrf,
    create_user,
    field_visibility,
    logout,
    require,
    reset_totp,
    revoke_user_sessions,
    role_names,
    roles,
    scope_filter,
    session_user,
)
from maillon.auth.roles import parse_roles, roles_markdown
from maillon.core.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    MaillonError,
    PermissionDenied,
)
from maillon.store.base import Base
from maillon.store.db import make_engine
from maillon.store.keys import EnvKeyProvider
from maillon.store.models import Case, Organisation

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 1, 6, 9, 0, 0, tzinfo=UTC)
GOOD_PASSWORD = "violet tram hums at dawn"


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILLON_ARGON2_PROFILE", "test")


KEYS = EnvKeyProvider({"MAILLON_MASTER_KEY": "bWFpbGxvbi10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXM="})
"""A fixed test master key (32 bytes): TOTP seeds are encrypted with it."""


@pytest.fixture
def db() -> Iterator[Session]:
    engine = make_engine("sqlite:///:memory:")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _org(db: Session, code: str) -> Organisation:
    org = Organisation(code=code, name=f"Organisation {code}")
    db.add(org)
    db.flush()
    return org


@pytest.fixture
def org(db: Session) -> Organisation:
    return _org(db, "A")


def _user(db: Session, org: Organisation, name: str, role: str = "case_worker",
          team: str | None = None) -> tuple[User, str | None]:
    return create_user(db, organisation_id=org.id, username=name, password=GOOD_PASSWORD,
                       role=role, team=team, keys=KEYS)


def _login(db: Session, name: str, secret: str | None, at: datetime,
           password: str = GOOD_PASSWORD) -> tuple[User, str]:
    code = totp.code_at(secret, at) if secret else None
    return authenticate(db, username=name, password=password, totp_code=code,
                        source="203.0.113.7", now=at, keys=KEYS)


# --- roles as data --------------------------------------------------------------------------

EXPECTED: dict[str, dict[tuple[str, str], str]] = {
    "administrator": {
        ("user", "read"): "organisation", ("user", "create"): "organisation",
        ("user", "update"): "organisation", ("user", "delete"): "organisation",
        ("organisation", "read"): "organisation", ("organisation", "update"): "organisation",
        ("stats", "read"): "organisation",
        ("supplier", "read"): "organisation", ("supplier", "create"): "organisation",
        ("supplier", "review"): "organisation",
    },
    "case_worker": {
        **{(r, a): "own" for r in ("case", "person", "referral")
           for a in ("read", "create", "update")},
        ("link_review", "read"): "own", ("link_review", "review"): "own",
    },
    "supervisor": {
        ("case", "read"): "organisation", ("case", "update"): "team",
        ("person", "read"): "organisation", ("person", "update"): "team",
        ("referral", "read"): "organisation", ("referral", "create"): "team",
        ("referral", "update"): "team", ("referral", "review"): "team",
        ("link_review", "read"): "organisation", ("link_review", "review"): "organisation",
        ("import", "read"): "organisation", ("import", "create"): "organisation",
        ("stats", "read"): "organisation", ("stats", "export"): "organisation",
        ("alert", "read"): "organisation", ("alert", "update"): "organisation",
        ("alert", "export"): "organisation",
        ("supplier", "read"): "organisation", ("supplier", "create"): "organisation",
        ("supplier", "review"): "organisation",
    },
    "analyst": {
        ("case", "read"): "organisation", ("person", "read"): "organisation",
        ("stats", "read"): "organisation", ("stats", "export"): "organisation",
        ("alert", "read"): "organisation", ("alert", "update"): "own",
        ("link_review", "read"): "organisation",
    },
    "data_officer": {
        ("import", "read"): "organisation", ("import", "create"): "organisation",
        ("case", "read"): "organisation", ("person", "read"): "organisation",
        ("stats", "read"): "organisation", ("stats", "export"): "organisation",
        ("stats", "publish"): "organisation",
    },
    "auditor": {("audit", "read"): "all"},
}  # fmt: skip

VISIBLE: dict[str, dict[str, str]] = {
    "administrator": {"supplier": "full"},
    "case_worker": {"case": "full", "person": "full", "referral": "full", "link_review": "full"},
    "supervisor": {"case": "full", "person": "full", "referral": "full", "link_review": "full",
                   "import": "full", "supplier": "full"},
    "analyst": {"case": "pseudonymised", "person": "pseudonymised",
                "link_review": "pseudonymised"},
    "data_officer": {"case": "pseudonymised", "person": "pseudonymised", "import": "full"},
    "auditor": {},
}


def _principal(role: str, team: str | None = "t1", org_id: str = "org-a",
               username: str = "someone") -> Principal:
    return Principal(user_id="u", username=username, organisation_id=org_id, team=team, role=role)


def test_builtin_roles_load_and_are_valid() -> None:
    assert set(role_names()) == set(EXPECTED)
    for role in roles().values():
        assert role.description
        if role.sees_personal_data:
            assert role.requires_totp
        assert role.requires_totp  # ASVS L3: MFA for every built-in role


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_matrix(role: str) -> None:
    p = _principal(role)
    grid = {(r, a): allowed(p, r, a) for r in RESOURCES for a in ACTIONS}
    assert {k: v for k, v in grid.items() if v is not None} == EXPECTED[role]
    for resource in RESOURCES:
        assert field_visibility(p, resource) == VISIBLE[role].get(resource, "none")


@pytest.mark.parametrize(
    ("role", "resource", "action"),
    [
        ("case_worker", "case", "delete"),
        ("case_worker", "nuclear_codes", "read"),
        ("case_worker", "case", "launch"),
        ("no_such_role", "case", "read"),
        ("administrator", "case", "read"),
        ("auditor", "person", "read"),
    ],
)
def test_deny_by_default(role: str, resource: str, action: str) -> None:
    p = _principal(role)
    assert allowed(p, resource, action) is None
    with pytest.raises(PermissionDenied):
        require(p, resource, action)
    if role == "no_such_role" or resource == "nuclear_codes":
        assert field_visibility(p, resource) == "none"
    expr = scope_filter(p, resource, action, owner_column=Case.created_by,
                        organisation_column=Case.organisation_id)
    assert str(expr.compile(compile_kwargs={"literal_binds": True})) in ("false", "0")


def test_require_returns_scope() -> None:
    assert require(_principal("supervisor"), "case", "update") == "team"


def _doc(**role: Any) -> dict[str, Any]:
    body = {"requires_totp": True, "resources": {"case": {"fields": "full",
                                                           "actions": {"read": "own"}}}}
    body.update(role)
    return {"roles": {"r": body}}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_doc(resources={"cases": {"fields": "full", "actions": {"read": "own"}}}),
         "unknown resource"),
        (_doc(resources={"case": {"fields": "full", "actions": {"destroy": "own"}}}),
         "unknown action"),
        (_doc(resources={"case": {"fields": "full", "actions": {"read": "world"}}}),
         "unknown scope"),
        (_doc(resources={"case": {"fields": "some", "actions": {"read": "own"}}}),
         "unknown field visibility"),
        (_doc(resources={"case": {"fields": "full", "actions": {}}}), "grants no action"),
        (_doc(requires_totp=False), "requires_totp must be true"),
        (_doc(requires_totp="yes"), "true or false"),
        (_doc(colour="blue"), "unknown key"),
        ({"roles": {"Bad-Name": {}}}, "lower_snake_case"),
        ({"roles": {}}, "no role"),
        ([], "must be a mapping"),
    ],
)
def test_role_loader_rejects(document: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_roles(document)


def test_role_without_personal_data_may_skip_totp() -> None:
    parsed = parse_roles({"roles": {"viewer": {"requires_totp": False, "resources": {
        "stats": {"fields": "none", "actions": {"read": "organisation"}}}}}})
    assert not parsed["viewer"].requires_totp


def test_doc_lists_every_role() -> None:
    doc = (REPO / "docs" / "security-auth.md").read_text(encoding="utf-8")
    assert roles_markdown() in doc, "regenerate the roles table from roles_markdown()"
    for name in role_names():
        assert f"`{name}`" in doc


# --- passwords ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("password", "username", "reason"),
    [
        ("short", None, "at least 12"),
        ("password1234", None, "too common"),
        ("Password2024!", None, "too common"),
        ("QWERTYUIOP", None, "at least 12"),
        ("123456789012", None, "too common"),
        ("aaaaaaaaaaaaaaaa", None, "too common"),
        ("x" * 120 + "yz" * 5, None, "at most 128"),
        ("my name is alice, hi!", "Alice", "must not contain the username"),
    ],
)
def test_password_policy_refuses(password: str, username: str | None, reason: str) -> None:
    assert any(reason in r for r in passwords.password_problems(password, username=username))


@pytest.mark.parametrize(
    "password", [GOOD_PASSWORD, "Zürich-Tännli-42", "x7$Lq!9pVz#2", (GOOD_PASSWORD * 6)[:128]]
)
def test_password_policy_accepts(password: str) -> None:
    assert passwords.password_problems(password, username="alice") == []


def test_hash_and_verify_with_cheap_profile() -> None:
    hashed = passwords.hash_password(GOOD_PASSWORD)
    assert hashed.startswith("$argon2id$") and "m=1024,t=1,p=1" in hashed
    assert passwords.verify_password(hashed, GOOD_PASSWORD) == (True, False)
    assert passwords.verify_password(hashed, GOOD_PASSWORD + "x") == (False, False)
    assert passwords.verify_password("not a hash", GOOD_PASSWORD).ok is False
    # NFKC: the ligature "ﬁ" and "fi" are the same password
    assert passwords.verify_password(passwords.hash_password("ﬁne tram hums"), "fine tram hums").ok


def test_rehash_needed_when_parameters_change() -> None:
    old = passwords.hash_password(GOOD_PASSWORD, params=passwords.Argon2Params(1, 2048, 1))
    assert passwords.verify_password(old, GOOD_PASSWORD) == (True, True)


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILLON_ARGON2_PROFILE")
    prod = passwords.current_params()
    assert (prod.time_cost, prod.memory_cost, prod.parallelism) == (3, 65536, 4)
    monkeypatch.setenv("MAILLON_ARGON2_PROFILE", "fast")
    with pytest.raises(ConfigurationError):
        passwords.current_params()


# --- TOTP -----------------------------------------------------------------------------------

def test_totp_window_and_replay() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    step = totp.step_of(T0)
    assert totp.verify(secret, totp.code_at(secret, T0), at=T0) == step
    assert totp.verify(secret, totp.code_at(secret, T0 - timedelta(seconds=30)), at=T0) == step - 1
    assert totp.verify(secret, totp.code_at(secret, T0 + timedelta(seconds=30)), at=T0) == step + 1
    assert totp.verify(secret, totp.code_at(secret, T0 - timedelta(seconds=60)), at=T0) is None
    assert totp.verify(secret, totp.code_at(secret, T0 + timedelta(seconds=60)), at=T0) is None
    code = totp.code_at(secret, T0)
    assert totp.verify(secret, code, at=T0, last_step=step) is None  # replay
    assert totp.verify(secret, code, at=T0, last_step=step - 1) == step
    assert totp.verify(secret, "12345a", at=T0) is None
    assert totp.verify(secret, "", at=T0) is None


def test_provisioning_uri() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice")
    assert uri.startswith("otpauth://totp/Maillon:alice?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri and "issuer=Maillon" in uri


# --- accounts and sign-in -------------------------------------------------------------------

def test_create_user(db: Session, org: Organisation) -> None:
    user, secret = _user(db, org, "  Alice ")
    assert user.username == "alice" and secret is not None
    assert user.totp_secret is not None and secret not in user.totp_secret  # sealed at rest
    assert user.password_hash.startswith("$argon2id$") and GOOD_PASSWORD not in user.password_hash
    with pytest.raises(Conflict):
        _user(db, org, "ALICE")


def test_create_user_validates(db: Session, org: Organisation) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_user(db, organisation_id="nope", username="a b", password="bobbob",
                    role="emperor", keys=KEYS)
    fields = {d.field for d in caught.value.details}
    assert fields == {"username", "role", "password", "organisation_id"}
    assert all(d.value != "bobbob" for d in caught.value.details)  # never echo a password


def test_authenticate_success_stores_only_token_hash(db: Session, org: Organisation) -> None:
    _, secret = _user(db, org, "alice")
    user, token = _login(db, "alice", secret, T0)
    db.commit()
    assert user.last_login_at is not None and user.failed_logins == 0
    stored = db.scalars(select(UserSession)).one()
    assert stored.id == sessions.hash_token(token) and len(stored.id) == 64
    row = db.execute(select(UserSession.__table__)).one()
    assert token not in [str(v) for v in row]
    assert stored.source_ip == "203.0.113.7" and not stored.revoked
    _, token2 = _login(db, "alice", secret, T0 + timedelta(seconds=30))
    assert token2 != token  # every sign-in gets a fresh token


def _fails(db: Session, name: str, password: str, code: str | None, at: datetime) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate(db, username=name, password=password, totp_code=code, source=None, now=at,
                     keys=KEYS)
    assert caught.value.status == 401
    return caught.value.message


def test_failures_are_generic(db: Session, org: Organisation) -> None:
    _, secret = _user(db, org, "alice")
    assert secret
    good_code = totp.code_at(secret, T0)
    messages = {
        _fails(db, "alice", "wrong password here", good_code, T0),
        _fails(db, "alice", GOOD_PASSWORD, "000000" if good_code != "000000" else "111111", T0),
        _fails(db, "alice", GOOD_PASSWORD, None, T0),
        _fails(db, "mallory", GOOD_PASSWORD, good_code, T0),
    }
    _login(db, "alice", secret, T0)
    messages.add(_fails(db, "alice", GOOD_PASSWORD, good_code, T0))  # replayed code
    bob, bob_secret = _user(db, org, "bob")
    bob.active = False
    assert bob_secret
    messages.add(_fails(db, "bob", GOOD_PASSWORD, totp.code_at(bob_secret, T0), T0))
    assert messages == {"invalid credentials"}


def test_unknown_user_costs_one_verification(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(service, "burn_verification", calls.append)
    _fails(db, "nobody", "whatever password", "123456", T0)
    assert calls == ["whatever password"]


def test_lockout_and_unlock(db: Session, org: Organisation) -> None:
    user, secret = _user(db, org, "alice")
    assert secret
    for i in range(5):
        _fails(db, "alice", "wrong password here", None, T0 + timedelta(seconds=i))
    db.commit()  # the caller commits on failure so that the counter sticks
    assert user.failed_logins == 5
    assert user.locked_until is not None
    assert sessions.as_utc(user.locked_until) == T0 + timedelta(seconds=4, minutes=15)
    # locked: even the right credentials get the same generic answer
    during = T0 + timedelta(minutes=10)
    assert _fails(db, "alice", GOOD_PASSWORD, totp.code_at(secret, during), during) == (
        "invalid credentials"
    )
    # one more failure after the lock ends: 30 minutes this time
    later = T0 + timedelta(minutes=20)
    _fails(db, "alice", "wrong password here", None, later)
    db.commit()
    assert user.failed_logins == 6
    assert user.locked_until is not None
    assert sessions.as_utc(user.locked_until) == later + timedelta(minutes=30)
    after = later + timedelta(minutes=31)
    _login(db, "alice", secret, after)
    assert user.failed_logins == 0 and user.locked_until is None


# --- sessions and CSRF ----------------------------------------------------------------------

def test_session_idle_timeout_and_sliding(db: Session, org: Organisation) -> None:
    _, secret = _user(db, org, "alice")
    _, token = _login(db, "alice", secret, T0)
    db.commit()
    at = T0
    for _ in range(3):  # activity every 20 minutes keeps it alive past 30 minutes
        at += timedelta(minutes=20)
        user, _ = session_user(db, token=token, now=at)
        db.commit()
        assert user.username == "alice"
    stored = db.scalars(select(UserSession)).one()
    session_user(db, token=token, now=at + timedelta(seconds=30))
    assert sessions.as_utc(stored.last_seen_at) == at, "no write within a minute of the last"
    with pytest.raises(AuthenticationFailed, match="session expired"):
        session_user(db, token=token, now=at + timedelta(minutes=30))
    db.commit()
    assert db.scalars(select(UserSession)).one().revoked


def test_session_absolute_timeout(db: Session, org: Organisation) -> None:
    _, secret = _user(db, org, "alice")
    _, token = _login(db, "alice", secret, T0)
    at = T0
    while at + timedelta(minutes=25) < T0 + timedelta(hours=12):
        at += timedelta(minutes=25)
        session_user(db, token=token, now=at)
    db.commit()
    with pytest.raises(AuthenticationFailed, match="session expired"):
        session_user(db, token=token, now=T0 + timedelta(hours=12))


def test_bad_tokens_logout_and_revocation(db: Session, org: Organisation) -> None:
    user, secret = _user(db, org, "alice")
    for bad in ("", "x" * 500, "not-a-token"):
        with pytest.raises(AuthenticationFailed):
            session_user(db, token=bad, now=T0)
    _, token = _login(db, "alice", secret, T0)
    stored = db.get(UserSession, sessions.hash_token(token))
    assert stored is not None
    with pytest.raises(AuthenticationFailed):
        session_user(db, token=stored.id, now=T0)  # the stored hash is not a token
    logout(db, token=token)
    logout(db, token=token)  # idempotent
    with pytest.raises(AuthenticationFailed):
        session_user(db, token=token, now=T0)
    _, t1 = _login(db, "alice", secret, T0 + timedelta(seconds=30))
    _, t2 = _login(db, "alice", secret, T0 + timedelta(seconds=60))
    assert revoke_user_sessions(db, user_id=user.id) == 2
    for t in (t1, t2):
        with pytest.raises(AuthenticationFailed):
            session_user(db, token=t, now=T0 + timedelta(minutes=2))


def test_inactive_user_loses_session(db: Session, org: Organisation) -> None:
    user, secret = _user(db, org, "alice")
    _, token = _login(db, "alice", secret, T0)
    user.active = False
    with pytest.raises(AuthenticationFailed):
        session_user(db, token=token, now=T0)


def test_csrf(db: Session, org: Organisation) -> None:
    _, secret = _user(db, org, "alice")
    _, token = _login(db, "alice", secret, T0)
    _, user_session = session_user(db, token=token, now=T0)
    check_csrf(user_session, user_session.csrf_token)
    for bad in (None, "", user_session.csrf_token[:-1], token):
        with pytest.raises(PermissionDenied):
            check_csrf(user_session, bad)


def test_change_password(db: Session, org: Organisation) -> None:
    user, secret = _user(db, org, "alice")
    _, keep = _login(db, "alice", secret, T0)
    _, other = _login(db, "alice", secret, T0 + timedelta(seconds=30))
    with pytest.raises(AuthenticationFailed):
        change_password(db, user=user, current_password="not the password",
                        new_password="brand new long phrase")
    assert user.failed_logins == 1
    with pytest.raises(InvalidInput):
        change_password(db, user=user, current_password=GOOD_PASSWORD, new_password="password123!")
    ended = change_password(db, user=user, current_password=GOOD_PASSWORD,
                            new_password="brand new long phrase",
                            keep_session_id=sessions.hash_token(keep))
    assert ended == 1
    session_user(db, token=keep, now=T0 + timedelta(minutes=1))
    with pytest.raises(AuthenticationFailed):
        session_user(db, token=other, now=T0 + timedelta(minutes=1))
    _login(db, "alice", secret, T0 + timedelta(minutes=2), password="brand new long phrase")


# --- record scopes in the query -------------------------------------------------------------

@pytest.fixture
def dataset(db: Session) -> dict[str, Any]:
    a, b = _org(db, "A"), _org(db, "B")
    people = {
        "cw1": _user(db, a, "cw1", "case_worker", "t1")[0],
        "cw2": _user(db, a, "cw2", "case_worker", "t1")[0],
        "cw3": _user(db, a, "cw3", "case_worker", "t2")[0],
        "sup": _user(db, a, "sup", "supervisor", "t1")[0],
        "lone": _user(db, a, "lone", "supervisor", None)[0],
        "ana": _user(db, a, "ana", "analyst")[0],
        "aud": _user(db, a, "aud", "auditor")[0],
        "adm": _user(db, a, "adm", "administrator")[0],
        "cwb": _user(db, b, "cwb", "case_worker", "t1")[0],
    }
    for org, owner in [(a, "cw1"), (a, "cw2"), (a, "cw3"), (a, "lone"), (a, "system"),
                       (b, "cwb"), (b, "cw1")]:
        db.add(Case(organisation_id=org.id, source_record_id=f"{org.code}-{owner}",
                    created_by=owner))
    db.flush()
    return people


def _visible(db: Session, user: User, action: str, resource: str = "case") -> set[str]:
    cond = scope_filter(Principal.from_user(user), resource, action,
                        owner_column=Case.created_by, organisation_column=Case.organisation_id)
    return set(db.scalars(select(Case.source_record_id).where(cond)))


@pytest.mark.parametrize(
    ("who", "action", "expected"),
    [
        ("cw1", "read", {"A-cw1"}),  # not B-cw1: own is within the principal's organisation
        ("cw1", "update", {"A-cw1"}),
        ("cw1", "delete", set()),
        ("cw3", "read", {"A-cw3"}),
        ("sup", "read", {"A-cw1", "A-cw2", "A-cw3", "A-lone", "A-system"}),
        ("sup", "update", {"A-cw1", "A-cw2"}),  # team t1 of organisation A
        ("lone", "update", {"A-lone"}),  # no team: a team of one
        ("ana", "read", {"A-cw1", "A-cw2", "A-cw3", "A-lone", "A-system"}),
        ("ana", "update", set()),
        ("adm", "read", set()),
        ("aud", "read", set()),
        ("cwb", "read", {"B-cwb"}),
    ],
)
def test_scope_filter_rows(db: Session, dataset: dict[str, Any], who: str, action: str,
                           expected: set[str]) -> None:
    assert _visible(db, dataset[who], action) == expected


def test_scope_all_and_team_column(db: Session, dataset: dict[str, Any]) -> None:
    everything = {"A-cw1", "A-cw2", "A-cw3", "A-lone", "A-system", "B-cwb", "B-cw1"}
    assert _visible(db, dataset["aud"], "read", resource="audit") == everything
    sup = Principal.from_user(dataset["sup"])
    assert sup.team == "t1" and sup.username == "sup"
    cond = scope_filter(sup, "person", "update", owner_column=User.username,
                        organisation_column=User.organisation_id, team_column=User.team)
    assert set(db.scalars(select(User.username).where(cond))) == {"cw1", "cw2", "sup"}


def test_errors_are_maillon_errors() -> None:
    assert issubclass(AuthenticationFailed, MaillonError)
    assert AuthenticationFailed().body()["error"]["code"] == "unauthenticated"


def test_code_race_has_one_winner(tmp_path: Path) -> None:
    """Two requests with one code: the second sees a stale user but still cannot reuse it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'race.sqlite'}")
    Base.metadata.create_all(engine)
    with Session(engine) as setup:
        _, secret = _user(setup, _org(setup, "A"), "alice")
        setup.commit()
    assert secret
    code = totp.code_at(secret, T0)
    with Session(engine, expire_on_commit=False) as first, Session(
        engine, expire_on_commit=False
    ) as second:
        stale = second.scalars(select(User)).one()
        second.commit()  # ends the read; the object keeps totp_last_step = None
        authenticate(first, username="alice", password=GOOD_PASSWORD, totp_code=code,
                     source=None, now=T0, keys=KEYS)
        first.commit()
        assert stale.totp_last_step is None
        with pytest.raises(AuthenticationFailed):
            authenticate(second, username="alice", password=GOOD_PASSWORD, totp_code=code,
                         source=None, now=T0, keys=KEYS)
        second.commit()
        assert stale.failed_logins == 1
    engine.dispose()


def test_reset_totp(db: Session, org: Organisation) -> None:
    user, old = _user(db, org, "alice")
    _, token = _login(db, "alice", old, T0)
    new = reset_totp(db, user=user, keys=KEYS)
    assert new != old and user.totp_last_step is None
    with pytest.raises(AuthenticationFailed):
        session_user(db, token=token, now=T0)
    later = T0 + timedelta(minutes=1)
    assert old
    _fails(db, "alice", GOOD_PASSWORD, totp.code_at(old, later), later)
    _login(db, "alice", new, later)
