"""Screening: list loaders, list versions, the matcher and the batch command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maillon.core.errors import InvalidFile
from maillon.screen import service, sources
from maillon.screen.entity import BirthDate, Entity, Name
from maillon.screen.matcher import Matcher, Query, part_similarity
from maillon.screen.normalise import fold, loose_skeleton, skeleton, split_compounds, tokens
from maillon.screen.partsim import PairBatch, PartTable
from maillon.store.api import Store

UN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-01-02T00:00:00Z">
 <INDIVIDUALS>
  <INDIVIDUAL><DATAID>1</DATAID><FIRST_NAME>IZZAT</FIRST_NAME><SECOND_NAME>IBRAHIM</SECOND_NAME>
   <THIRD_NAME>AL-DURI</THIRD_NAME><REFERENCE_NUMBER>IQi.006</REFERENCE_NUMBER>
   <UN_LIST_TYPE>Iraq</UN_LIST_TYPE><NAME_ORIGINAL_SCRIPT>عزت ابراهيم الدوري</NAME_ORIGINAL_SCRIPT>
   <NATIONALITY><VALUE>Iraq</VALUE></NATIONALITY>
   <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY>
    <ALIAS_NAME>Abu Brays; Abu Ahmad</ALIAS_NAME></INDIVIDUAL_ALIAS>
   <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Abu Ali</ALIAS_NAME></INDIVIDUAL_ALIAS>
   <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE>
    <DATE>1942-07-01</DATE></INDIVIDUAL_DATE_OF_BIRTH>
   <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE>
    <FROM_YEAR>1940</FROM_YEAR><TO_YEAR>1943</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
   <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT>
    <NUMBER>A123456</NUMBER></INDIVIDUAL_DOCUMENT>
  </INDIVIDUAL>
 </INDIVIDUALS>
 <ENTITIES>
  <ENTITY><DATAID>2</DATAID><FIRST_NAME>ACME TRADING COMPANY LIMITED</FIRST_NAME>
   <REFERENCE_NUMBER>QDe.900</REFERENCE_NUMBER>
   <ENTITY_ALIAS><QUALITY>f.k.a.</QUALITY><ALIAS_NAME>Acme Old Name</ALIAS_NAME></ENTITY_ALIAS>
  </ENTITY>
 </ENTITIES>
</CONSOLIDATED_LIST>
"""

FTM = [
    {"id": "NK-1", "schema": "Person", "properties": {
        "name": ["Viktor Ivanovich Petrov"], "alias": ["Виктор Иванович Петров"],
        "birthDate": ["1970-03-04"], "nationality": ["ru"]}},
    {"id": "NK-2", "schema": "Company", "properties": {"name": ["Blue Ocean Shipping LLC"],
                                                       "registrationNumber": ["77001234"]}},
    {"id": "S-1", "schema": "Sanction", "properties": {"entity": ["NK-1"]}},
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def ftm_file(tmp_path: Path) -> Path:
    path = tmp_path / "adhoc.ftm.json"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in FTM) + "\n",
                    encoding="utf-8")
    return path


# -- normalisation -------------------------------------------------------------------------


def test_fold_and_skeleton_meet_across_scripts() -> None:
    assert fold("Müller") == "muller"
    assert tokens("AL-ZAWAHIRI, Dr. Ayman") == ("al", "zawahiri", "dr", "ayman")
    arabic = [skeleton(t) for t in tokens("عزت ابراهيم الدوري")]
    latin = [skeleton(t) for t in tokens("IZZAT IBRAHIM AL-DURI")]
    assert arabic == latin
    assert tokens("Ахмед Чатаев") == ("akhmed", "chataev")


def test_arabic_romanisation_variants() -> None:
    # a word-initial ain is written as its vowel; the joined article and Allah split
    assert tokens("عمر عبد العزيز") == ("amr", "abd", "al", "azyz")
    assert tokens("عبدالولی") == ("abd", "al", "wly")
    assert tokens("خيرالله") == ("khyr", "allah")
    assert tokens("گیدڑ المھاجرین") == ("gydr", "al", "mhajryn")  # Urdu letters
    # Latin compounds split only on request (comparisons across scripts)
    assert tokens("Shamsuddin Hidayatullah") == ("shamsuddin", "hidayatullah")
    assert split_compounds(("shamsuddin", "hidayatullah", "camilla", "aladdin")) == (
        "shams", "din", "hidayat", "allah", "camilla", "aladdin")
    # qaf written q, k or g; dad written d or z; a soft c
    assert loose_skeleton("qasmy") == loose_skeleton("gasmi")
    assert loose_skeleton("fdl") == loose_skeleton("fazal")
    assert loose_skeleton("lwnysy") == loose_skeleton("lounici")


def test_batch_part_similarities_equal_pairwise() -> None:
    table = PartTable()
    words = ["raqib", "raqeeb", "ahmad", "ahmed", "x", "xavier", "muhammad", "mohammed",
             "abdelrahman", "abdulrahman", "zz", "al"]
    ids = [table.add(w, skeleton(w)) for w in words]
    table.freeze()
    batch = PairBatch()
    query = ("raqib", "ahmet", "x", "mohamad", "abdelrahmen")
    skels = tuple(skeleton(p) for p in query)
    offset = batch.add_query(query, skels, ids)
    sims = batch.similarities(table, 1.5, 0.5)
    for k, word in enumerate(words):
        for i, part in enumerate(query):
            expected = part_similarity(part, word, skels[i], skeleton(word), False)
            got = sims[offset + k * len(query) + i]
            assert got == pytest.approx(expected ** 1.5 if expected >= 0.5 else -1.0)


# -- loaders --------------------------------------------------------------------------------


def test_un_loader_keeps_alias_quality_dates_and_original_script(tmp_path: Path) -> None:
    data = sources.un.load([write(tmp_path / "un.xml", UN_XML)])
    assert data.list_id == "un_sc_sanctions" and data.version == "2026-01-02"
    person, company = data.entities
    kinds = {n.value: n.kind for n in person.names}
    assert kinds == {"IZZAT IBRAHIM AL-DURI": "primary", "عزت ابراهيم الدوري": "original",
                     "Abu Brays": "alias", "Abu Ahmad": "alias", "Abu Ali": "weak"}
    assert person.birth_dates[0] == BirthDate(1942, 7, 1)
    assert person.birth_dates[1].precision == "range"
    assert person.nationalities == ["iq"] and person.identifiers[0].value == "A123456"
    assert company.schema == "Organization"
    assert [n.kind for n in company.names] == ["primary", "previous"]


@pytest.mark.parametrize("content, reason", [
    (UN_XML[: len(UN_XML) // 2], "not well-formed"),
    ("<?xml version='1.0'?><other/>", "unexpected schema"),
    ("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><CONSOLIDATED_LIST>&a;"
     "</CONSOLIDATED_LIST>", "unsafe"),
])
def test_bad_xml_fails_clearly(tmp_path: Path, content: str, reason: str) -> None:
    with pytest.raises(InvalidFile, match=reason):
        sources.un.load([write(tmp_path / "bad.xml", content)])


def test_ofac_csv_wrong_format_and_encoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidFile, match="columns"):
        sources.ofac_csv.load([write(tmp_path / "sdn.csv", "a,b\n")])
    with pytest.raises(InvalidFile, match="cannot be decoded"):
        sources.local.load([write(tmp_path / "l.csv", "id,name\n1,caf\xe9\n", "latin-1")])


def test_ftm_local_eu_uk_worldbank_loaders(tmp_path: Path) -> None:
    ftm = sources.ftm.load([ftm_file(tmp_path)])
    assert [e.id for e in ftm.entities] == ["NK-1", "NK-2"]
    assert ftm.entities[0].names[1] == Name("Виктор Иванович Петров", "original", "Cyrl")
    local = sources.local.load([write(tmp_path / "local.csv",
                                      "id,name,schema,aliases,birth_date,country\n"
                                      "L1,Sunrise Recruitment Agency,Organization,Sunrise "
                                      "Jobs;SRA,,Nepal\n")], list_id="trafficking")
    assert local.list_id == "trafficking"
    assert [n.value for n in local.entities[0].names] == [
        "Sunrise Recruitment Agency", "Sunrise Jobs", "SRA"]
    eu = sources.eu.load([write(tmp_path / "eu.xml", """<?xml version="1.0"?>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-01-05T10:00:00">
 <sanctionEntity logicalId="13" euReferenceNumber="EU.27.28">
  <subjectType code="person"/>
  <nameAlias wholeName="Saddam Hussein Al-Tikriti" gender="M" strong="true"/>
  <nameAlias wholeName="Abu Ali" strong="false"/>
  <birthdate birthdate="1937-04-28"/>
  <citizenship countryIso2Code="IQ"/>
  <identification number="P1234" identificationTypeCode="passport" countryIso2Code="IQ"/>
 </sanctionEntity>
</export>""")])
    (saddam,) = eu.entities
    assert saddam.id == "EU.27.28" and saddam.nationalities == ["iq"]
    assert [n.kind for n in saddam.names] == ["primary", "weak"]
    uk = sources.uk.load([write(tmp_path / "ConList.csv",
                                "Last Updated,05/01/2026\n"
                                "Name 6,Name 1,Name 2,Name 3,Name 4,Name 5,Name Non-Latin Script,"
                                "DOB,Nationality,Passport Number,Group Type,Alias Type,"
                                "Alias Quality,Group ID\n"
                                "PETROV,Viktor,,,,,Виктор Петров,00/00/1970,Russia,,Individual,"
                                "Primary name,,9001\n"
                                "PETROFF,Viktor,,,,,,00/00/1970,Russia,,Individual,AKA,Low,9001\n")])
    (petrov,) = uk.entities
    assert [n.kind for n in petrov.names] == ["primary", "original", "weak"]
    assert petrov.birth_dates == [BirthDate(1970)]
    wb = sources.worldbank.load([write(tmp_path / "worldbank.json", json.dumps({
        "response": {"ZPROCSUPP": [{"SUPP_ID": 77, "SUPP_NAME": "ACME LTD. (a.k.a. ACME "
                                    "TRADING)*", "COUNTRY_NAME": "Kenya"}]}}))])
    assert [n.value for n in wb.entities[0].names] == ["ACME LTD", "ACME TRADING"]
    with pytest.raises(InvalidFile, match="unexpected schema"):
        sources.worldbank.load([write(tmp_path / "worldbank.json", "{}")])


# -- matcher --------------------------------------------------------------------------------


def small_matcher(tmp_path: Path) -> Matcher:
    un = sources.un.load([write(tmp_path / "un.xml", UN_XML)])
    ftm = sources.ftm.load([ftm_file(tmp_path)])
    return Matcher([("un_sc_sanctions", un.entities), ("adhoc", ftm.entities)])


def test_matcher_variants_and_explanation(tmp_path: Path) -> None:
    matcher = small_matcher(tmp_path)
    queries = [
        Query("typo", "Izat Ibrahim al-Dury"),
        Query("order", "Al-Duri Izzat Ibrahim"),
        Query("dob", "Izzat Ibrahim Al-Duri", "Person", BirthDate(1944)),
        Query("cyrillic", "Петров Виктор", "Person"),
        Query("company", "Blue Ocean Shipping Limited Liability Company", "Organization"),
        Query("other", "Maria Gonzalez"),
        Query("ident", "B. O. S.", identifiers=("77001234",)),
    ]
    results = matcher.screen(queries)
    best = {q.id: r[0] if r else None for q, r in zip(queries, results, strict=True)}
    assert best["typo"] is not None and best["typo"].entity_id == "IQi.006"
    assert best["order"] is not None and best["order"].score >= 0.95
    dob = best["dob"]
    assert dob is not None and dob.score >= 0.9  # a year off by one does not sink the name
    assert {"feature": "birth_date", "result": "year_close", "weight": 0.0} in [
        f.as_dict() for f in dob.explanation]
    assert best["cyrillic"] is not None and best["cyrillic"].entity_id == "NK-1"
    assert best["company"] is not None and best["company"].entity_id == "NK-2"
    assert best["other"] is None
    assert best["ident"] is not None and best["ident"].score >= 0.95


def test_index_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    """Two runs of `maillon screen names` on the same lists must give the same matches: the
    blocking index's columns (whose order decides ties at the candidate cut-off) may not follow
    Python's per-process string hashing."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from tests.test_screen import small_matcher; "
        "m = small_matcher(Path(sys.argv[1])); print(sorted(m.vocab.items(), key=lambda kv: kv[1]))"
    )
    runs = []
    for seed in ("1", "2"):
        folder = tmp_path / seed
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", script, str(folder)], capture_output=True, text=True,
            check=True, cwd=Path(__file__).resolve().parents[1],
            env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120,
        )
        runs.append(done.stdout)
    assert runs[0] == runs[1] and len(runs[0]) > 100


def test_original_script_matches_latin_names(tmp_path: Path) -> None:
    un = sources.un.load([write(tmp_path / "un.xml", UN_XML)])
    for entity in un.entities:  # remove the original-script alias: the query must not find it
        entity.names = [n for n in entity.names if n.kind != "original"]
    matcher = Matcher([("un_sc_sanctions", un.entities)])
    (found,) = matcher.screen([Query("q", "عزت ابراهيم الدوري")])
    assert found and found[0].entity_id == "IQi.006" and found[0].score >= 0.8


def test_schema_mismatch_lowers_score(tmp_path: Path) -> None:
    matcher = small_matcher(tmp_path)
    person, org = matcher.screen([Query("a", "Blue Ocean Shipping", "Person"),
                                  Query("b", "Blue Ocean Shipping", "Organization")],
                                 threshold=0.0)
    assert person[0].score < org[0].score - 0.3


# -- list versions in the store ----------------------------------------------------------------


@pytest.mark.database
def test_versions_diff_and_failed_load_keeps_active(store: Store, tmp_path: Path) -> None:
    first = service.load_list(store, "un_sc_sanctions", [write(tmp_path / "un.xml", UN_XML)])
    assert (first.status, first.entities, len(first.added)) == ("loaded", 2, 2)
    again = service.load_list(store, "un_sc_sanctions", [tmp_path / "un.xml"])
    assert again.status == "unchanged"
    changed_xml = UN_XML.replace("Acme Old Name", "Acme Older Name").replace(
        "QDe.900", "QDe.901")
    second = service.load_list(store, "un_sc_sanctions", [write(tmp_path / "un2.xml",
                                                                changed_xml)])
    assert (second.added, second.changed, second.removed) == (["QDe.901"], [], ["QDe.900"])
    with pytest.raises(InvalidFile):
        service.load_list(store, "un_sc_sanctions",
                          [write(tmp_path / "un3.xml", changed_xml[:300])])
    with store.sessions() as session:
        (row,) = service.list_versions(session)
        assert row["version"] == "2026-01-02" and row["added"] == 1
        ids = sorted(e.id for _, _, ents in service.active_lists(session) for e in ents)
    assert ids == ["IQi.006", "QDe.901"]
    matcher = service.matcher_for(store)
    assert matcher.screen([Query("q", "Izzat Ibrahim")])[0][0].entity_id == "IQi.006"


# -- batch command -----------------------------------------------------------------------------


def test_screen_names_cli_with_list_file(tmp_path: Path) -> None:
    from maillon.cli import app

    rows = ["id,name,schema,birth_date,country", "r1,Nobody Atall,,,",
            "r2,Viktor Petrov,Person,1970,RU", "r3,Blue Ocean Shipping,,,"]
    (tmp_path / "in.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, [
        "--data-dir", str(tmp_path / "d"), "screen", "names", "--input", str(tmp_path / "in.csv"),
        "--output", str(tmp_path / "out.jsonl"), "--list-file", str(ftm_file(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == ["r1", "r2", "r3"]
    assert lines[0]["matches"] == []
    match = lines[1]["matches"][0]
    assert set(match) == {"list", "entity_id", "name", "score", "explanation"}
    assert match["list"] == "adhoc.ftm.json" and match["entity_id"] == "NK-1"
    assert all(set(f) == {"feature", "result", "weight"} for f in match["explanation"])
    scores = [m["score"] for m in lines[2]["matches"]]
    assert scores == sorted(scores, reverse=True) and 0 <= min(scores) <= max(scores) <= 1


def test_screen_names_cli_bad_input(tmp_path: Path) -> None:
    from maillon.cli import app

    (tmp_path / "in.csv").write_text("id,name,schema\n1,X,Planet\n", encoding="utf-8")
    result = CliRunner().invoke(app, [
        "--data-dir", str(tmp_path / "d"), "screen", "names", "--input", str(tmp_path / "in.csv"),
        "--output", str(tmp_path / "o.jsonl"), "--list-file", str(ftm_file(tmp_path))])
    assert result.exit_code == 1


# -- real snapshots ----------------------------------------------------------------------------


@pytest.mark.shared
def test_real_lists_load_and_match(shared: Path, tmp_path: Path) -> None:
    folder = shared / "reference" / "sanctions"
    un = sources.un.load(sources.find_files("un_sc_sanctions", folder))
    assert len(un.entities) == 1003
    assert sum(e.schema == "Person" for e in un.entities) == 730
    assert sum(1 for e in un.entities for n in e.names if n.kind == "original") >= 370
    ofac = sources.ofac_csv.load(sources.find_files("us_ofac_sdn", folder))
    assert len(ofac.entities) == 8976
    cons = sources.ofac_xml.load(sources.find_files("us_ofac_cons", folder))
    assert len(cons.entities) == 375 and cons.version == "2020-03-17"
    for entity in un.entities:
        entity.names = [n for n in entity.names if n.kind != "original"]
    matcher = Matcher([("un_sc_sanctions", un.entities), ("us_ofac_sdn", ofac.entities)])
    (found,) = matcher.screen([Query("q", "صدام حسين التكريتي")])
    assert "IQi.001" in [m.entity_id for m in found]
    # compounds written in one word in Latin, in two in the original script
    (compound,) = matcher.screen([Query("c", "سراج الدين جلال الدين حقانى")])
    assert "TAi.144" in [m.entity_id for m in compound]
    # entities in Arabic script: ta marbuta read -at in a construct (Asbat al-Ansar), an
    # acronym part (AL-ITIHAAD AL-ISLAMIYA / AIAI), Urdu letters (Geedar, Muhajirin)
    for query, listed in (("عصبة الأنصار", "QDe.007"), ("الاتحاد الاسلامي", "QDe.002"),
                          ("طارق گیدڑ گروپ", "QDe.160"),
                          ("تنظیم جیش المھاجرین و الأنصار", "QDe.148")):
        (org,) = matcher.screen([Query("o", query)])
        assert listed in [m.entity_id for m in org], query
    (banco,) = matcher.screen([Query("b", "Banco Nacional de Cuba", "Organization")])
    assert banco[0].list_id == "us_ofac_sdn" and banco[0].entity_id == "306"


def test_entity_round_trip() -> None:
    entity = Entity("X1", "Person", [Name("A B")], [BirthDate(1970, year_to=1972)])
    assert Entity.from_dict(json.loads(entity.canonical_json())) == entity
