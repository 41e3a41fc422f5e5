"""Follow the money: import validation, rules, graph features, scan output, STR drafts."""

from __future__ import annotations

import csv
import json
import tarfile
from pathlib import Path

import pytest
from defusedxml import ElementTree
from sqlalchemy import select
from typer.testing import CliRunner

from maillon.core.errors import InvalidInput
from maillon.money.api import demo_scan, scan_dataset
from maillon.money.goaml import goaml_xml, network_svg, pdf_summary
from maillon.money.graph import compute_features
from maillon.money.importers import import_dataset, read_labels
from maillon.money.model import Dataset, is_presorted
from maillon.money.rules import Hit, load_rules, run_rule, run_rule_spark, run_rules
from maillon.money.scoring import backtest, metrics
from maillon.money.synth import TYPOLOGIES, generate, read_synth_labels

HEADER = ["txn_id", "ts", "src_account", "dst_account", "amount", "currency", "channel", "mcc",
          "merchant", "city", "country", "counterparty", "counterparty_country"]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("money") / "synth"
    generate(folder, accounts=800, days=45, seed=3, instances=3)
    return folder


def test_import_reports_every_bad_row_and_writes_nothing(tmp_path: Path) -> None:
    good = ["T1", "2025-01-02 10:00:00", "A1", "A2", "120.50", "EUR", "wire", "", "", "", "FR",
            "", ""]
    rows = [good,
            ["T2", "2025-13-45", "A1", "A2", "10", "EUR", "wire", "", "", "", "", "", ""],
            ["T3", "2025-01-02", "A1", "A2", "-5", "EUR", "wire", "", "", "", "", "", ""],
            ["T4", "2025-01-02", "A1", "A2", "5", "EUX", "wire", "", "", "", "", "", ""],
            ["T5", "2025-01-02", "", "", "5", "EUR", "teleport", "12a", "", "", "ZZ", "", ""]]
    target = tmp_path / "ds"
    path = _csv(tmp_path / "t.csv", HEADER + ["surprise"], [r + ["x"] for r in rows])
    with pytest.raises(InvalidInput) as caught:
        import_dataset(target, transactions=path)
    reasons = {(e.row, e.reason) for e in caught.value.details}
    assert (None, "unknown column (not in the profile)") in reasons
    assert not target.exists()
    path = _csv(tmp_path / "t2.csv", HEADER, rows)
    with pytest.raises(InvalidInput) as caught:
        import_dataset(target, transactions=path)
    got = {(e.row, e.field, e.reason) for e in caught.value.details}
    assert (2, "ts", "not a valid date and time") in got
    assert (3, "amount", "negative amount") in got
    assert (4, "currency", "not an ISO 4217 currency code") in got
    assert (5, "channel", "unknown channel (cash, atm, card, wire, online, crypto)") in got
    assert (5, "mcc", "not a 4-digit merchant category code") in got
    assert (5, "country", "not an ISO 3166-1 country code") in got
    assert (5, "src_account", "neither a source nor a destination account") in got
    assert not any(e.row == 1 for e in caught.value.details)
    assert not target.exists()
    report = import_dataset(target, transactions=_csv(tmp_path / "ok.csv", HEADER, [good]))
    assert report.rows == {"transactions": 1, "accounts": 2}
    assert report.accounts_added == 2
    # a failed re-import leaves the previous dataset untouched
    with pytest.raises(InvalidInput):
        import_dataset(target, transactions=path)
    con = Dataset(target).connect()
    assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(1,)]


def test_amlsim_scan_never_reads_labels(tmp_path: Path) -> None:
    nodes = [["0", "1", "10.0", "3"], ["1", "0", "5.0", "-1"], ["2", "0", "1", "-1"]]
    txns = [["0", "1", "50.5", "1"], ["1", "2", "45", "2"], ["2", "0", "44", "3"]]
    _csv(tmp_path / "nodes.csv", ["nodeid", "isFraud", "init_balance", "fraudStep"], nodes)
    _csv(tmp_path / "transactions.csv", ["sourceNodeId", "targetNodeId", "value", "time"], txns)
    runner = CliRunner()
    from maillon.cli import app

    args = ["money", "scan", "--transactions", str(tmp_path / "transactions.csv"), "--accounts",
            str(tmp_path / "nodes.csv"), "--profile", "amlsim", "--output",
            str(tmp_path / "a.jsonl")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first = (tmp_path / "a.jsonl").read_text()
    # garbage in the label columns changes nothing: they are never read
    _csv(tmp_path / "nodes.csv", ["nodeid", "isFraud", "init_balance", "fraudStep"],
         [[n[0], "not-a-label", "??", "x"] for n in nodes])
    assert runner.invoke(app, args).exit_code == 0
    assert (tmp_path / "a.jsonl").read_text() == first
    assert read_labels(tmp_path / "nodes.csv") == {"0": 0, "1": 0, "2": 0}
    ds = tmp_path / "ds"
    import_dataset(ds, transactions=tmp_path / "transactions.csv",
                   accounts=tmp_path / "nodes.csv", profile="amlsim")
    con = Dataset(ds).connect()
    assert con.execute("SELECT min(ts)::VARCHAR, max(currency) FROM transactions").fetchall() \
        == [("2020-01-02 12:00:00", "USD")]
    cycles = run_rule(con, load_rules(only=["circulation_cycle"])[0])
    assert sorted(h.account_id for h in cycles) == ["0", "1", "2"]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-02-01T08:00:00Z</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
<Ntry><NtryRef>E1</NtryRef><Amt Ccy="EUR">450.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><DtTm>2025-01-10T23:30:00+01:00</DtTm></BookgDt>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>CNTR</Cd><SubFmlyCd>CDPT</SubFmlyCd></Fmly></Domn></BkTxCd>
</Ntry>
<Ntry><NtryRef>E2</NtryRef><Amt Ccy="EUR">900.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<BookgDt><Dt>2025-01-11</Dt></BookgDt>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><RltdPties><Cdtr><Nm>Beneficiary</Nm></Cdtr>
<CdtrAcct><Id><IBAN>RO49AAAA1B31007593840000</IBAN></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls>
</Ntry>
<Ntry><NtryRef>E3</NtryRef><Amt Ccy="EURO">-1</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<BookgDt><Dt>2025-01-12</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def test_camt053(tmp_path: Path) -> None:
    path = tmp_path / "stmt.xml"
    path.write_text(CAMT)
    with pytest.raises(InvalidInput) as caught:
        import_dataset(tmp_path / "ds", transactions=path)
    got = {(e.row, e.field, e.reason) for e in caught.value.details}
    assert (3, "amount", "negative amount") in got
    assert (3, "currency", "not an ISO 4217 currency code") in got
    path.write_text(CAMT.replace('Ccy="EURO">-1', 'Ccy="EUR">12'))
    import_dataset(tmp_path / "ds", transactions=path)
    con = Dataset(tmp_path / "ds").connect()
    rows = con.execute("SELECT txn_id, ts::VARCHAR, src_account, dst_account, channel, "
                       "counterparty_country FROM transactions ORDER BY txn_id").fetchall()
    own = "FR7630006000011234567890189"
    assert rows[0] == ("E1", "2025-01-10 22:30:00", None, own, "cash", None)
    assert rows[1] == ("E2", "2025-01-11 00:00:00", own, "RO49AAAA1B31007593840000", "wire",
                       "RO")


def test_rules_are_documented_data() -> None:
    rules = load_rules()
    assert len(rules) >= 20
    for r in rules:
        assert r.source and r.description and 0 < r.weight <= 1
        for name, spec in r.parameters.items():
            assert "default" in spec and spec["source"], (r.id, name)
            assert f"${{{name}}}" in r.sql + "".join(s for _, s in r.steps), (r.id, name)


def test_synth_scan_finds_planted_typologies(synth_dir: Path, tmp_path: Path) -> None:
    result = scan_dataset(Dataset(synth_dir))
    labels, typology = read_synth_labels(synth_dir)
    assert set(typology.values()) == set(TYPOLOGIES)
    flagged = {a.account_id for a in result.alerts}
    m = metrics(flagged, labels)
    assert m.recall >= 0.55 and m.precision >= 0.5, m
    alert = result.alerts[0]
    line = json.loads(json.dumps(alert.as_dict()))
    assert set(line) == {"alert_id", "account_id", "accounts", "score", "indicators"}
    assert {"id", "weight", "evidence"} <= set(line["indicators"][0])
    assert alert.account_id == alert.accounts[0]
    shared = [a for a in result.alerts
              if any(i["id"] == "shared_identifier_case" for i in a.indicators)]
    assert {a.account_id for a in shared} == {a for a, t in typology.items()
                                              if t == "shared_identifier"}
    report = backtest(result.hits, result.weights, labels)
    assert report["rules"]["structuring"]["precision"] == 1.0
    xml = goaml_xml(alert.as_dict(), dataset=Dataset(synth_dir))
    root = ElementTree.fromstring(xml)
    assert root.tag == "report" and root.findtext("report_code") == "STR"
    assert root.find("report_indicators/indicator") is not None
    assert pdf_summary(alert.as_dict(), tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert network_svg(alert.as_dict()).startswith("<svg")


def test_graph_features_and_known_paths(synth_dir: Path) -> None:
    con = Dataset(synth_dir).connect()
    _, typology = read_synth_labels(synth_dir)
    plain = compute_features(con, cycles=False)
    collector = max((a for a, t in typology.items() if t == "collector"),
                    key=lambda a: plain.columns["fan_in"][plain.accounts.index(a)])
    features = compute_features(con, known={collector: "trafficker"})
    i = features.accounts.index(collector)
    assert features.columns["fan_in"][i] >= 10
    assert features.columns["known_distance"][i] == 0
    near = [a for a, p in features.paths.items() if p[-1] == collector]
    assert near and all(len(features.paths[a]) >= 2 for a in near)
    cycle = next(a for a, t in typology.items() if t == "cycle")
    assert features.columns["cycles"][features.accounts.index(cycle)] >= 1


def test_demo_scan(tmp_path: Path) -> None:
    summary = demo_scan(tmp_path, accounts=600, days=30)
    assert summary["alerts"] > 0 and Path(summary["alerts_file"]).is_file()


def _hits(hits: list[Hit]) -> list[tuple[object, ...]]:
    return sorted((h.rule_id, h.account_id, h.strength, tuple(h.txn_ids), tuple(h.related),
                   json.dumps(h.evidence, sort_keys=True, default=str)) for h in hits)


def test_shared_steps_and_sorted_files_change_no_hit(synth_dir: Path, tmp_path: Path) -> None:
    """A scan reads the same hits whether the transactions file is in the generator's sorted
    order or not, and whether the rules share their common tables (one scan) or not (each rule
    alone); no temporary table is left behind."""
    import duckdb

    rules = load_rules()
    assert any(r.uses for r in rules)
    assert is_presorted(synth_dir / "transactions.parquet")
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("accounts", "parties", "case_identifiers"):
        (shuffled / f"{name}.parquet").write_bytes((synth_dir / f"{name}.parquet").read_bytes())
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{synth_dir / 'transactions.parquet'}') "
               f"ORDER BY hash(txn_id)) TO '{shuffled / 'transactions.parquet'}' (FORMAT parquet)")
    assert not is_presorted(shuffled / "transactions.parquet")
    con = Dataset(synth_dir).connect(materialise=True)
    together = run_rules(con, rules)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
    con.close()
    assert together
    con = Dataset(shuffled).connect(materialise=True)
    assert _hits(run_rules(con, rules)) == _hits(together)
    con.close()
    con = Dataset(shuffled).connect()
    alone = [h for rule in rules for h in run_rule(con, rule)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
    con.close()
    assert _hits(alone) == _hits(together)


@pytest.mark.spark
def test_rules_on_spark_equal_duckdb(spark: object, synth_dir: Path, tmp_path: Path) -> None:
    small = tmp_path / "small"
    generate(small, accounts=200, days=30, seed=5, instances=1)
    ds = Dataset(small)
    con = ds.connect()
    for name in ("transactions", "accounts", "parties", "case_identifiers"):
        spark.read.parquet(str(ds.table(name))).createOrReplaceTempView(name)  # type: ignore
    for rule in load_rules():
        duck = sorted((h.account_id, h.strength) for h in run_rule(con, rule))
        assert run_rule_spark(spark, rule) == duck, rule.id


@pytest.mark.shared
def test_amlsim_20k_sample(shared: Path, tmp_path: Path) -> None:
    with tarfile.open(shared / "reference" / "amlsim" / "20K_fanin200cycle200.tgz") as tar:
        tar.extractall(tmp_path, filter="data")
    src = tmp_path / "20K_fanin200cycle200"
    report = import_dataset(tmp_path / "ds", transactions=src / "transactions.csv",
                            accounts=src / "nodes.csv", profile="amlsim")
    assert report.rows == {"transactions": 120558, "accounts": 20000}
    result = scan_dataset(Dataset(tmp_path / "ds"), graph=False)
    labels = read_labels(src / "nodes.csv")
    m = metrics({a.account_id for a in result.alerts}, labels)
    # split transfers (counts only, no amounts) find AMLSim's fan-in and cycle typologies
    assert m.positives == 1804 and m.precision > 0.8 and m.f1 > 0.65, m


def test_split_transfers_timed_cycles_and_families(tmp_path: Path) -> None:
    from maillon.money.graph import _timed
    from maillon.money.rules import Hit
    from maillon.money.scoring import score_of

    rows = [[f"T{i}", f"2025-01-02 1{i}:00:00", "A1", "A2", str(50 + i), "EUR", "wire", "", "",
             "", "FR", "", ""] for i in range(3)]
    rows.append(["T9", "2025-01-03 10:00:00", "A1", "A3", "70", "EUR", "wire", "", "", "",
                 "FR", "", ""])
    target = tmp_path / "ds"
    import_dataset(target, transactions=_csv(tmp_path / "t.csv", HEADER, rows), accounts=None)
    con = Dataset(target).connect()
    hits = {h.account_id: h for h in run_rule(con, load_rules(only=["split_transfers"])[0])}
    con.close()
    assert set(hits) == {"A1", "A2"}  # both sides of the relationship; A3 got one transfer
    assert hits["A1"].strength == 1.0 and hits["A1"].related == ["A2"]
    assert sorted(hits["A2"].txn_ids) == ["T0", "T1", "T2"]
    # a cycle counts only when its transfers follow each other within the gap
    assert _timed([[5], [7], [9]], 10) and _timed([[9], [1], [3]], 10)  # rotation 1-3-9
    assert not _timed([[1], [30], [60]], 10)
    assert not _timed([[5], [3], [1]], 1)
    # one concept, one vote: a SQL rule and its graph twin do not add up
    w = {"many_senders_one_beneficiary": 0.4, "graph_fan_in": 0.3, "structuring": 0.5}
    both = [Hit("many_senders_one_beneficiary", "A", 1.0), Hit("graph_fan_in", "A", 1.0),
            Hit("structuring", "A", 0.5)]
    assert score_of(both, w) == 0.65


@pytest.mark.database
def test_alert_queue_tables(store: object) -> None:
    from maillon.money.models import MoneyAlert, MoneyAlertNote
    from tests.auth_helpers import organisation_id

    org = organisation_id(store, "FIU")  # type: ignore[arg-type]
    with store.sessions() as session, session.begin():  # type: ignore[attr-defined]
        alert = MoneyAlert(organisation_id=org, alert_ref="MA-1", account_id="A1",
                           accounts=["A1", "A2"], score=0.9, dataset="d",
                           indicators=[{"id": "structuring", "weight": 0.5, "evidence": {}}])
        session.add(alert)
        session.flush()
        session.add(MoneyAlertNote(alert_id=alert.id, author="ana", body="checked"))
    with store.sessions() as session:  # type: ignore[attr-defined]
        got = session.execute(select(MoneyAlert)).scalar_one()
        assert got.accounts == ["A1", "A2"] and got.status == "new"
