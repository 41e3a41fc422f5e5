# ruff: noqa: S608  (SQL is built from profile column names quoted by _q and literals by _lit)
"""Importers: CSV/Parquet with YAML mapping profiles, AMLSim output, ISO 20022 camt.053.

Every importer validates the whole input before writing anything (DuckDB does the checks in
bulk) and reports each bad value as a :class:`~maillon.core.errors.FieldError` with its 1-based
row, its source column and the reason. One bad value rejects the import: nothing is
half-imported (the dataset folder is replaced only after every table is written).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml
from defusedxml import ElementTree

from maillon.core.errors import FieldError, InvalidFile, InvalidInput, NotFound
from maillon.money.model import (
    CHANNEL_SYNONYMS,
    SORTED_BY,
    TABLES,
    country_codes,
    currency_codes,
    sorted_metadata,
    staged_dataset,
)

MAX_ERRORS = 1000
"""Errors listed in a report (the count covers them all)."""

_KINDS: dict[str, dict[str, str]] = {
    "transactions": {
        "txn_id": "id", "ts": "ts", "src_account": "text", "dst_account": "text",
        "amount": "amount", "currency": "currency", "channel": "channel", "mcc": "mcc",
        "merchant": "text", "city": "text", "country": "country", "counterparty": "text",
        "counterparty_country": "country",
    },
    "accounts": {
        "account_id": "required", "party_id": "text", "account_type": "account_type",
        "city": "text", "country": "country", "opened": "date",
    },
    "parties": {
        "party_id": "required", "kind": "party_kind", "name": "text", "phone": "text",
        "email": "text", "address": "text", "country": "country", "person_id": "text",
    },
    "case_identifiers": {
        "kind": "required", "value": "required", "person_id": "text", "role": "text",
    },
}
_REQUIRED = {"transactions": ("ts", "amount"), "accounts": ("account_id",),
             "parties": ("party_id",), "case_identifiers": ("kind", "value")}


@dataclass(frozen=True)
class TableSpec:
    """How one canonical table is read from a source file."""

    columns: dict[str, str]
    """canonical column -> source column"""
    ignore: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    timestamp: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    tables: dict[str, TableSpec]
    labels: dict[str, dict[str, str]]


@dataclass
class ImportReport:
    dataset: str
    profile: str
    rows: dict[str, int]
    accounts_added: int = 0
    """Accounts seen in transactions but absent from the accounts file (added, no attributes)."""

    def as_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "profile": self.profile, "rows": self.rows,
                "accounts_added": self.accounts_added}


def load_profile(name_or_path: str | Path) -> Profile:
    """A built-in profile (``maillon``, ``amlsim``) or a YAML file of the same shape."""
    path = Path(name_or_path)
    if not path.suffix:
        builtin = resources.files("maillon.money") / "profiles" / f"{name_or_path}.yaml"
        if not builtin.is_file():
            raise NotFound(f"no money import profile {name_or_path!r}")
        text = builtin.read_text(encoding="utf-8")
    elif path.is_file():
        text = path.read_text(encoding="utf-8")
    else:
        raise NotFound(f"no such profile file: {path}")
    data = yaml.safe_load(text) or {}
    tables: dict[str, TableSpec] = {}
    errors: list[FieldError] = []
    for table, raw in data.items():
        if table not in TABLES:
            continue
        cols = dict(raw.get("columns") or {})
        for canon in cols:
            if canon not in TABLES[table]:
                errors.append(FieldError(f"not a column of {table}", field=canon))
        tables[table] = TableSpec(columns={k: str(v) for k, v in cols.items()},
                                  ignore=tuple(raw.get("ignore") or ()),
                                  defaults={k: str(v) for k, v in (raw.get("defaults") or {}
                                                                   ).items()},
                                  timestamp=dict(raw.get("timestamp") or {}))
    if errors:
        raise InvalidInput(f"profile {name_or_path} is not valid", errors)
    return Profile(name=str(data.get("name") or path.stem), description=str(
        data.get("description") or ""), tables=tables, labels=dict(data.get("labels") or {}))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _header(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file, without reading its rows."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh))
    except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
        raise InvalidFile(f"{path.name}: cannot read a CSV header ({exc})") from exc


def _reader(path: Path) -> str:
    p = _lit(str(path))
    if path.suffix.lower() == ".parquet":
        return f"read_parquet({p})"
    return f"read_csv({p}, header=true, all_varchar=true, auto_detect=true)"


def _checks(kind: str, raw: str, spec: TableSpec, canon: str) -> tuple[str, list[tuple[str, str]]]:
    """(typed SQL expression, [(error condition, reason)]) of one canonical column."""
    val = f"nullif(trim({raw}), '')"
    if kind == "id":
        return f"coalesce({val}, 'R' || _row::VARCHAR)", []
    if kind in ("text", "required"):
        errs = [(f"{val} IS NULL", "required value missing")] if kind == "required" else []
        return val, errs
    if kind == "ts":
        unit = spec.timestamp.get("unit")
        if unit == "day":
            origin = spec.timestamp.get("origin", "2020-01-01 00:00:00")
            typed = (f"TIMESTAMP {_lit(origin)} + to_days(try_cast({val} AS INTEGER))")
        elif spec.timestamp.get("format"):
            typed = f"try_strptime({val}, {_lit(spec.timestamp['format'])})"
        else:
            typed = f"try_cast({val} AS TIMESTAMP)"
        return typed, [(f"{val} IS NULL", "required value missing"),
                       (f"{typed} IS NULL", "not a valid date and time")]
    if kind == "date":
        typed = f"try_cast({val} AS DATE)"
        return typed, [(f"{val} IS NOT NULL AND {typed} IS NULL", "not a valid date")]
    if kind == "amount":
        typed = f"try_cast({val} AS DOUBLE)"
        return typed, [(f"{val} IS NULL", "required value missing"),
                       (f"{typed} IS NULL", "not a number"),
                       (f"{typed} < 0", "negative amount"),
                       (f"{typed} = 0", "zero amount"),
                       (f"NOT isfinite({typed})", "not a finite number")]
    if kind == "currency":
        typed = f"upper({val})"
        return typed, [(f"{val} IS NULL", "required value missing"),
                       (f"{typed} NOT IN (SELECT code FROM _currency)",
                        "not an ISO 4217 currency code")]
    if kind == "channel":
        typed = f"(SELECT c.channel FROM _channel c WHERE c.word = lower({val}))"
        return typed, [(f"{val} IS NULL", "required value missing"),
                       (f"{typed} IS NULL", "unknown channel (cash, atm, card, wire, online, "
                                             "crypto)")]
    if kind == "mcc":
        return val, [(f"NOT regexp_full_match({val}, '[0-9]{{4}}')",
                      "not a 4-digit merchant category code")]
    if kind == "country":
        typed = f"(SELECT c.alpha2 FROM _country c WHERE c.code = upper({val}))"
        return typed, [(f"{val} IS NOT NULL AND {typed} IS NULL", "not an ISO 3166-1 country code")]
    if kind == "account_type":
        typed = f"lower({val})"
        return typed, [(f"{typed} NOT IN ('personal', 'business')",
                        "account_type must be personal or business")]
    if kind == "party_kind":
        typed = f"lower({val})"
        return typed, [(f"{typed} NOT IN ('person', 'organisation')",
                        "kind must be person or organisation")]
    raise AssertionError(kind)


def _lookup_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE _currency AS SELECT unnest(?) AS code",
                [sorted(currency_codes())])
    codes = country_codes()
    con.execute("CREATE TEMP TABLE _country AS SELECT unnest(?) AS code, unnest(?) AS alpha2",
                [list(codes), list(codes.values())])
    con.execute("CREATE TEMP TABLE _channel AS SELECT unnest(?) AS word, unnest(?) AS channel",
                [list(CHANNEL_SYNONYMS), list(CHANNEL_SYNONYMS.values())])


def _load_table(con: duckdb.DuckDBPyConnection, table: str, source: str, header: list[str],
                spec: TableSpec, file_label: str, errors: list[FieldError]) -> int:
    """Validate ``source`` (a DuckDB relation expression) into the temp table ``clean_<table>``.

    Only the mapped columns are selected: ignored columns (labels) are never read.
    """
    columns = TABLES[table]
    kinds = _KINDS[table]
    mapped = {c: s for c, s in spec.columns.items() if c in columns}
    known = set(mapped.values()) | set(spec.ignore)
    for col in header:
        if col not in known:
            errors.append(FieldError("unknown column (not in the profile)", field=col,
                                     value=file_label))
    for canon in _REQUIRED[table]:
        if canon not in spec.defaults and (canon not in mapped or mapped[canon] not in header):
            if canon == "txn_id":
                continue
            errors.append(FieldError(f"required column missing for {canon}",
                                     field=mapped.get(canon, canon), value=file_label))
    if errors:
        return 0
    select = ", ".join(f"CAST({_q(s)} AS VARCHAR) AS {_q('raw_' + c)}"
                       for c, s in mapped.items() if s in header)
    con.execute(f"CREATE TEMP TABLE raw_{table} AS SELECT row_number() OVER () AS _row"
                f"{', ' + select if select else ''} FROM {source}")
    typed_cols, err_parts = [], []
    for canon, sql_type in columns.items():
        if canon in mapped and mapped[canon] in header:
            raw = _q("raw_" + canon)
            if canon in spec.defaults:
                raw = f"coalesce({raw}, {_lit(spec.defaults[canon])})"
        elif canon in spec.defaults:
            raw = _lit(spec.defaults[canon])
        elif kinds[canon] == "id":
            raw = "NULL"
        else:
            typed_cols.append(f"CAST(NULL AS {sql_type}) AS {canon}")
            continue
        typed, checks = _checks(kinds[canon], raw, spec, canon)
        typed_cols.append(f"CAST({typed} AS {sql_type}) AS {canon}")
        label = mapped.get(canon, canon)
        for cond, reason in checks:
            err_parts.append(f"SELECT _row, {_lit(label)} AS field, CAST({raw} AS VARCHAR) AS "
                             f"value, {_lit(reason)} AS reason FROM raw_{table} "
                             f"WHERE coalesce({cond}, false)")
    if table == "transactions":
        src = f"nullif(trim({_q('raw_src_account')}), '')" if "src_account" in mapped else "NULL"
        dst = f"nullif(trim({_q('raw_dst_account')}), '')" if "dst_account" in mapped else "NULL"
        err_parts.append(f"SELECT _row, 'src_account', NULL, 'neither a source nor a destination "
                         f"account' FROM raw_{table} WHERE {src} IS NULL AND {dst} IS NULL")
    if table == "accounts":
        key = mapped["account_id"]
        err_parts.append(f"SELECT _row, {_lit(key)}, {_q('raw_account_id')}, 'duplicate account' "
                         f"FROM (SELECT _row, {_q('raw_account_id')}, row_number() OVER (PARTITION "
                         f"BY {_q('raw_account_id')} ORDER BY _row) AS n FROM raw_{table}) "
                         "WHERE n > 1")
    union = " UNION ALL ".join(err_parts)
    found = con.execute(
        f"SELECT _row, field, value, reason, count(*) OVER () FROM ({union}) "
        f"ORDER BY _row, field LIMIT {MAX_ERRORS}").fetchall() if err_parts else []
    for row, fld, value, reason, _ in found:
        errors.append(FieldError(reason, field=fld, row=int(row),
                                 value=None if value is None else str(value)[:200]))
    if found:
        return 0
    con.execute(f"CREATE TEMP TABLE clean_{table} AS SELECT {', '.join(typed_cols)} "
                f"FROM raw_{table} ORDER BY _row")
    rows = con.execute(f"SELECT count(*) FROM clean_{table}").fetchall()[0][0]
    return int(rows)


def _write(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> None:
    """Write a validated table; transactions in :data:`~maillon.money.model.SORTED_BY` order,
    marked so (a scan then loads them without sorting them again)."""
    target = _lit(str(folder / f"{table}.parquet"))
    if table == "transactions":
        mark = ", ".join(f"{k}: {_lit(v)}" for k, v in sorted_metadata().items())
        con.execute(f"COPY (SELECT * FROM clean_{table} ORDER BY {', '.join(SORTED_BY)}) TO "
                    f"{target} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{mark}}})")
        return
    con.execute(f"COPY clean_{table} TO {target} (FORMAT parquet, COMPRESSION zstd)")


def import_dataset(
    target: Path,
    *,
    transactions: Path,
    accounts: Path | None = None,
    parties: Path | None = None,
    case_identifiers: Path | None = None,
    profile: str | Path = "maillon",
) -> ImportReport:
    """Validate and import files into the dataset folder ``target`` (replaced as a whole).

    ``transactions`` may be a CSV or Parquet file mapped by ``profile``, or a camt.053 XML
    statement (the profile is then not used for it). Raises :class:`InvalidInput` listing every
    bad value (row, column, reason) and writes nothing when any is found.
    """
    prof = load_profile(profile)
    files = {"transactions": transactions, "accounts": accounts, "parties": parties,
             "case_identifiers": case_identifiers}
    errors: list[FieldError] = []
    rows: dict[str, int] = {}
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # DuckDB would draw it on stdout
        _lookup_tables(con)
        for table, path in files.items():
            if path is None:
                continue
            if not path.is_file():
                raise NotFound(f"no such file: {path}")
            if table == "transactions" and path.suffix.lower() == ".xml":
                arrow, header, spec = read_camt053(path, errors)
                con.register("_camt", arrow)
                source = "_camt"
            else:
                spec = prof.tables.get(table) or TableSpec(
                    columns={c: c for c in TABLES[table]})
                header, source = _header(path), _reader(path)
            before = len(errors)
            try:
                rows[table] = _load_table(con, table, source, header, spec, path.name, errors)
            except duckdb.Error as exc:
                raise InvalidFile(f"{path.name}: cannot be read ({exc})") from exc
            for i in range(before, len(errors)):
                e = errors[i]
                if e.row is not None and sum(f is not None for f in files.values()) > 1:
                    errors[i] = FieldError(e.reason, field=f"{path.name}:{e.field}", row=e.row,
                                           value=e.value)
        if errors:
            raise InvalidInput(f"{len(errors)} problems found; nothing was imported",
                               errors[:MAX_ERRORS])
        added = 0
        if accounts is None:
            con.execute("CREATE TEMP TABLE clean_accounts AS SELECT * FROM (SELECT "
                        + ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in
                                    TABLES["accounts"].items()) + ") WHERE false")
        missing = ("SELECT DISTINCT a FROM (SELECT src_account a FROM clean_transactions UNION "
                   "ALL SELECT dst_account FROM clean_transactions) WHERE a IS NOT NULL AND a NOT "
                   "IN (SELECT account_id FROM clean_accounts)")
        added = int(con.execute(f"SELECT count(*) FROM ({missing})").fetchall()[0][0])
        if added:
            con.execute(f"INSERT INTO clean_accounts (account_id) {missing}")
        rows["accounts"] = rows.get("accounts", 0) + added
        with staged_dataset(target) as folder:
            for table in files:
                if table == "accounts" or files[table] is not None:
                    _write(con, table, folder)
    finally:
        con.close()
    return ImportReport(dataset=str(target), profile=prof.name, rows=rows, accounts_added=added)


def read_labels(accounts_file: Path, profile: str | Path = "amlsim") -> dict[str, int]:
    """Account labels (1 = fraud/trafficking) from a labelled file, for benchmarks and backtests.

    This is the only function that reads label columns; scans never call it.
    """
    prof = load_profile(profile)
    spec = prof.labels.get("accounts") or {"account_id": "account_id", "label": "label"}
    if accounts_file.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(accounts_file, columns=[spec["account_id"], spec["label"]])
        return {str(a): _label(b) for a, b in zip(table.column(0).to_pylist(),
                                                   table.column(1).to_pylist(), strict=True)}
    with accounts_file.open(newline="", encoding="utf-8-sig") as fh:
        return {str(r[spec["account_id"]]): _label(r[spec["label"]])
                for r in csv.DictReader(fh)}


def _label(value: Any) -> int:
    try:
        return 1 if int(float(value)) > 0 else 0
    except (TypeError, ValueError):
        return 0


# -- ISO 20022 camt.053 ------------------------------------------------------------------------

_CASH_FAMILIES = {"CNTR"}
_CARD_FAMILIES = {"CCRD", "DCRD", "POSD"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(node: Any, *path: str) -> Any:
    """First descendant following local names ``path`` (namespace-agnostic), or None."""
    current = [node]
    for name in path:
        nxt: list[Any] = []
        for n in current:
            nxt.extend(c for c in n if _local(c.tag) == name)
        if not nxt:
            return None
        current = nxt
    return current[0]


def _text(node: Any, *path: str) -> str | None:
    found = _find(node, *path)
    return None if found is None or found.text is None else found.text.strip() or None


def _account_id(node: Any) -> str | None:
    if node is None:
        return None
    return _text(node, "Id", "IBAN") or _text(node, "Id", "Othr", "Id")


def _channel(domain: str | None, family: str | None, sub: str | None) -> str:
    if family in _CARD_FAMILIES and sub in ("CWDL", "CDPT"):
        return "atm"
    if family in _CASH_FAMILIES or sub in ("CWDL", "CDPT"):
        return "cash"
    if family in _CARD_FAMILIES:
        return "card"
    return "wire"


def read_camt053(path: Path, errors: list[FieldError]
                 ) -> tuple[pa.Table, list[str], TableSpec]:
    """Entries of a camt.053 bank-to-customer statement as canonical raw columns.

    Written from the ISO 20022 message definition (BkToCstmrStmt / Stmt / Ntry); not yet
    checked against a real bank file. The namespace version (camt.053.001.02 to .13) is ignored.
    Row numbers in errors are entry numbers (1-based, across statements).
    """
    try:
        root = ElementTree.parse(str(path)).getroot()
    except Exception as exc:  # defusedxml raises several types
        raise InvalidFile(f"{path.name}: not well-formed XML ({exc})") from exc
    report = _find(root, "BkToCstmrStmt")
    if report is None:
        raise InvalidFile(f"{path.name}: not a camt.053 document (no BkToCstmrStmt)")
    cols: dict[str, list[str | None]] = {c: [] for c in TABLES["transactions"]}
    n = 0
    for stmt in (s for s in report if _local(s.tag) == "Stmt"):
        own = _account_id(_find(stmt, "Acct"))
        if own is None:
            errors.append(FieldError("statement without an account", field="Stmt/Acct"))
            continue
        for entry in (e for e in stmt if _local(e.tag) == "Ntry"):
            n += 1
            amt = _find(entry, "Amt")
            sign = _text(entry, "CdtDbtInd")
            if sign not in ("CRDT", "DBIT"):
                errors.append(FieldError("CdtDbtInd must be CRDT or DBIT", field="CdtDbtInd",
                                         row=n, value=sign))
            tx = _find(entry, "NtryDtls", "TxDtls")
            parties = _find(tx, "RltdPties") if tx is not None else None
            other_role = "Dbtr" if sign == "CRDT" else "Cdtr"
            other_acct = (_account_id(_find(parties, other_role + "Acct"))
                          if parties is not None else None)
            other_name = None
            if parties is not None:
                other_name = (_text(parties, other_role, "Nm")
                              or _text(parties, other_role, "Pty", "Nm"))
            domain = _find(entry, "BkTxCd", "Domn")
            family = _text(domain, "Fmly", "Cd") if domain is not None else None
            sub = _text(domain, "Fmly", "SubFmlyCd") if domain is not None else None
            when = (_text(entry, "BookgDt", "DtTm") or _text(entry, "BookgDt", "Dt")
                    or _text(entry, "ValDt", "DtTm") or _text(entry, "ValDt", "Dt"))
            channel = _channel(_text(domain, "Cd") if domain is not None else None, family, sub)
            ref = (_text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
                   or (_text(tx, "Refs", "EndToEndId") if tx is not None else None))
            counterparty_country = other_acct[:2] if other_acct and other_acct[:2].isalpha() \
                else None
            values = {
                "txn_id": ref, "ts": _iso(when), "amount": None if amt is None else amt.text,
                "currency": None if amt is None else amt.get("Ccy"), "channel": channel,
                "src_account": own if sign == "DBIT" else other_acct,
                "dst_account": own if sign == "CRDT" else other_acct,
                "counterparty": other_name, "counterparty_country": counterparty_country,
                "mcc": None, "merchant": other_name if channel == "card" else None,
                "city": None, "country": None,
            }
            for c in cols:
                cols[c].append(values[c])
    arrow = pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()})
    return arrow, list(cols), TableSpec(columns={c: c for c in cols})


def _iso(value: str | None) -> str | None:
    """camt dates (``2024-05-01``) and date-times (with offset) as naive UTC ISO text."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")
