"""``maillon synth transactions``: retail banking activity with planted, labelled typologies.

Normal activity: monthly salaries, card purchases over a realistic merchant-category mix, ATM
withdrawals, bills, person-to-person transfers, some cash deposits, online payments, a little
crypto and ordinary remittances abroad (including to the "source" countries, so that the
corridor indicator meets honest migrants' remittances too). Planted typologies follow
REFERENCE.md "Financial red flags" §1.2; each instance labels its subject account(s) with the
typology name in ``labels.csv`` (``account_id,label,typology``). Everything is drawn from one
seeded generator: same seed, same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from maillon.money.model import SORTED_BY, sorted_metadata

HOME_COUNTRY = "FR"
CITIES = ("Paris", "Lyon", "Marseille", "Lille", "Toulouse", "Nice", "Nantes", "Bordeaux",
          "Strasbourg", "Rennes")
CITY_WEIGHTS = np.array([30, 10, 10, 8, 8, 7, 7, 7, 7, 6], dtype=float)
SOURCE_COUNTRIES = ("NG", "RO", "VN", "CN", "AL", "BG", "UA")
"""Countries the synthetic networks send money to; the ``risk_countries`` default parameter."""
OTHER_COUNTRIES = ("ES", "PT", "MA", "DZ", "TN", "IT", "DE", "SN", "PL")

# (mcc, merchant, weight, log-mean amount, log-sd)
MERCHANTS: tuple[tuple[str, str, float, float, float], ...] = (
    ("5411", "Supermarket", 30, 3.4, 0.7),
    ("5812", "Restaurant", 10, 3.3, 0.5),
    ("5814", "Fast food", 8, 2.4, 0.4),
    ("5541", "Fuel station", 8, 3.9, 0.3),
    ("5912", "Pharmacy", 5, 2.9, 0.6),
    ("5651", "Clothing store", 5, 3.8, 0.6),
    ("4121", "Taxi / ride share", 3, 2.8, 0.4),
    ("4111", "Local transport", 5, 2.2, 0.5),
    ("5311", "Department store", 5, 3.7, 0.7),
    ("5732", "Electronics", 2, 4.8, 0.8),
    ("7011", "Hotel", 1.5, 4.6, 0.5),
    ("4511", "Airline", 1, 5.3, 0.6),
    ("4112", "Rail", 2, 3.8, 0.5),
    ("5977", "Cosmetics", 2, 3.2, 0.5),
    ("7230", "Beauty salon", 2, 3.5, 0.4),
    ("4814", "Telecom top-up", 2, 2.8, 0.4),
    ("5815", "Digital media", 3, 2.3, 0.5),
    ("7311", "Advertising", 0.3, 3.5, 0.8),
)
TYPOLOGIES = (
    "adult_ads", "lodging_multi_city", "late_night_cash", "atm_multi_city", "structuring",
    "funnel", "collector", "source_country_wires", "shared_identifier", "rideshare",
    "cash_no_salary", "cycle",
)
"""Planted typologies (see docs/money.md for what each one looks like)."""

START = datetime(2025, 1, 1)


@dataclass
class SynthSummary:
    path: Path
    accounts: int
    transactions: int
    planted: dict[str, int]

    def __str__(self) -> str:
        planted = ", ".join(f"{k} {v}" for k, v in self.planted.items())
        return (f"{self.transactions:,} transactions, {self.accounts:,} accounts in {self.path}; "
                f"planted: {planted}")


class _Rows:
    """Column buffers of transactions."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {c: [] for c in (
            "ts", "src_account", "dst_account", "amount", "currency", "channel", "mcc",
            "merchant", "city", "country", "counterparty", "counterparty_country")}

    def add(self, ts: datetime, src: str | None, dst: str | None, amount: float, channel: str,
            *, mcc: str | None = None, merchant: str | None = None, city: str | None = None,
            counterparty: str | None = None, cp_country: str | None = None) -> None:
        c = self.cols
        c["ts"].append(ts)
        c["src_account"].append(src)
        c["dst_account"].append(dst)
        c["amount"].append(round(float(amount), 2))
        c["currency"].append("EUR")
        c["channel"].append(channel)
        c["mcc"].append(mcc)
        c["merchant"].append(merchant)
        c["city"].append(city)
        c["country"].append(HOME_COUNTRY if city else None)
        c["counterparty"].append(counterparty)
        c["counterparty_country"].append(cp_country)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.cols)


def _normal(rng: np.random.Generator, ids: np.ndarray, home: np.ndarray, personal: np.ndarray,
            days: int, per_day: float) -> pd.DataFrame:
    """Vectorised ordinary activity."""
    n_acc = len(ids)
    activity = rng.lognormal(0, 0.5, n_acc)
    activity /= activity.mean()
    n = int(rng.poisson(n_acc * days * per_day))
    acc = rng.choice(n_acc, n, p=activity / activity.sum())
    day = rng.integers(0, days, n)
    hour = np.where(rng.random(n) < 0.93, rng.normal(14, 3.2, n).clip(7, 21.9),
                    rng.uniform(0, 24, n))
    ts = (np.datetime64(START) + day.astype("timedelta64[D]")
          + (hour * 3600).astype("int64").astype("timedelta64[s]"))
    kind = rng.choice(7, n, p=[0.66, 0.08, 0.08, 0.07, 0.07, 0.025, 0.015])
    src = ids[acc].astype(object)
    dst = np.full(n, None, dtype=object)
    channel = np.full(n, "card", dtype=object)
    mcc = np.full(n, None, dtype=object)
    merchant = np.full(n, None, dtype=object)
    cp = np.full(n, None, dtype=object)
    cp_country = np.full(n, None, dtype=object)
    city = home[acc].astype(object)
    away = rng.random(n) < 0.08
    city[away] = rng.choice(CITIES, int(away.sum()))
    amount = np.zeros(n)
    # card purchases
    card = kind == 0
    w = np.array([m[2] for m in MERCHANTS])
    m_idx = rng.choice(len(MERCHANTS), int(card.sum()), p=w / w.sum())
    mcc[card] = [MERCHANTS[i][0] for i in m_idx]
    merchant[card] = [MERCHANTS[i][1] for i in m_idx]
    amount[card] = rng.lognormal([MERCHANTS[i][3] for i in m_idx],
                                 [MERCHANTS[i][4] for i in m_idx])
    # ATM withdrawals
    atm = kind == 1
    channel[atm] = "atm"
    amount[atm] = rng.choice([20, 40, 50, 60, 80, 100, 150, 200, 300], int(atm.sum()))
    mcc[atm] = "6011"
    # person-to-person transfers
    p2p = kind == 2
    channel[p2p] = "wire"
    dst[p2p] = ids[rng.choice(np.flatnonzero(personal), int(p2p.sum()))]
    amount[p2p] = rng.lognormal(3.8, 0.9, int(p2p.sum()))
    city[p2p] = None
    # bills
    bill = kind == 3
    channel[bill] = "wire"
    cp[bill] = rng.choice(["Energy Co", "Water Co", "Landlord SCI", "Insurance SA", "Telecom SA"],
                          int(bill.sum()))
    cp_country[bill] = HOME_COUNTRY
    amount[bill] = rng.lognormal(4.5, 0.7, int(bill.sum()))
    city[bill] = None
    # online payments
    online = kind == 4
    channel[online] = "online"
    merchant[online] = rng.choice(["Online marketplace", "Payment wallet", "Streaming"],
                                  int(online.sum()))
    amount[online] = rng.lognormal(3.2, 0.9, int(online.sum()))
    city[online] = None
    # cash deposits at the branch
    dep = kind == 5
    channel[dep] = "cash"
    dst[dep] = src[dep]
    src[dep] = None
    amount[dep] = rng.choice([50, 100, 150, 200, 300, 500, 800], int(dep.sum()))
    # remittances abroad (ordinary, incl. to source countries) and a little crypto
    rem = kind == 6
    crypto = rem & (rng.random(n) < 0.15)
    rem = rem & ~crypto
    channel[rem] = "wire"
    cp_country[rem] = rng.choice(OTHER_COUNTRIES + SOURCE_COUNTRIES, int(rem.sum()))
    cp[rem] = "family abroad"
    amount[rem] = rng.lognormal(5.0, 0.6, int(rem.sum()))
    city[rem] = None
    channel[crypto] = "crypto"
    merchant[crypto] = "Crypto exchange"
    amount[crypto] = rng.lognormal(4.0, 0.8, int(crypto.sum()))
    city[crypto] = None
    frame = pd.DataFrame({"ts": ts, "src_account": src, "dst_account": dst,
                          "amount": amount.round(2).clip(0.5), "currency": "EUR",
                          "channel": channel, "mcc": mcc, "merchant": merchant, "city": city,
                          "country": [None if c is None else HOME_COUNTRY for c in city],
                          "counterparty": cp, "counterparty_country": cp_country})
    # monthly salaries from employers (business accounts) into most personal accounts
    employers = ids[~personal]
    earners = np.flatnonzero(personal & (rng.random(n_acc) < 0.85))
    months = max(1, days // 30)
    sal_acc = np.repeat(earners, months)
    sal_month = np.tile(np.arange(months), len(earners))
    sal = pd.DataFrame({
        "ts": np.datetime64(START) + (sal_month * 30 + 27).astype("timedelta64[D]")
        + np.timedelta64(9, "h"),
        "src_account": rng.choice(employers, len(sal_acc)) if len(employers) else None,
        "dst_account": ids[sal_acc],
        "amount": np.repeat(rng.lognormal(7.7, 0.3, len(earners)), months).round(2),
        "currency": "EUR", "channel": "wire", "mcc": None, "merchant": None, "city": None,
        "country": None, "counterparty": "salary", "counterparty_country": HOME_COUNTRY})
    return pd.concat([frame, sal], ignore_index=True)


def _plant(rng: np.random.Generator, typology: str, subject: str, helpers: list[str],
           rows: _Rows, days: int) -> list[str]:
    """Plant one instance; returns the accounts it labels."""

    def when(day: int | None = None, hour: float | None = None) -> datetime:
        d = int(rng.integers(0, days)) if day is None else day
        h = float(rng.uniform(9, 20)) if hour is None else hour
        return START + timedelta(days=d, hours=h)

    def city() -> str:
        return str(rng.choice(CITIES))

    if typology == "adult_ads":
        for _ in range(int(rng.integers(10, 25)) * max(1, days // 30)):
            rows.add(when(), subject, None, float(rng.choice([3, 6, 12, 24, 48])), "online",
                     mcc="7311", merchant="Classified ads site", counterparty="ads site",
                     cp_country=str(rng.choice(["NL", "US", "CY"])))
    elif typology == "lodging_multi_city":
        for m in range(max(1, days // 30)):
            for _ in range(int(rng.integers(6, 12))):
                rows.add(when(m * 30 + int(rng.integers(0, 30))), subject, None,
                         float(rng.uniform(120, 400)), "card", mcc="7011", merchant="Hotel",
                         city=city())
    elif typology == "late_night_cash":
        for _ in range(int(rng.integers(8, 16)) * max(1, days // 30)):
            hour = float(rng.choice([22.5, 23.2, 0.5, 1.5, 2.5, 3.5, 4.5]))
            rows.add(when(hour=hour), None, subject, float(rng.choice([200, 300, 400, 500])),
                     str(rng.choice(["atm", "cash"])), city=city())
    elif typology == "atm_multi_city":
        for _ in range(int(rng.integers(8, 15)) * max(1, days // 30)):
            rows.add(when(), None, subject, float(rng.uniform(200, 800)), "atm", mcc="6011",
                     city=city())
    elif typology == "structuring":
        for _ in range(int(rng.integers(4, 8))):
            if rng.random() < 0.5:
                rows.add(when(), None, subject, float(rng.uniform(9000, 9950)), "cash",
                         city=city())
            else:
                rows.add(when(), subject, None, float(rng.uniform(2700, 2990)), "wire",
                         counterparty="beneficiary", cp_country=str(rng.choice(OTHER_COUNTRIES)))
    elif typology == "funnel":
        for _ in range(int(rng.integers(5, 10)) * max(1, days // 30)):
            d = int(rng.integers(0, days))
            c1, c2 = rng.choice(CITIES, 2, replace=False)
            amt = float(rng.uniform(1000, 4000))
            rows.add(when(d, 10), None, subject, amt, "cash", city=str(c1))
            rows.add(when(d, 16), subject, None, amt * float(rng.uniform(0.9, 1.0)), "atm",
                     mcc="6011", city=str(c2))
    elif typology == "collector":
        senders, workers = helpers[:25], helpers[25:28]
        for _ in range(int(rng.integers(25, 45)) * max(1, days // 30)):
            d = int(rng.integers(0, days))
            rows.add(when(d), str(rng.choice(senders)), subject,
                     float(np.clip(rng.normal(250, 120), 100, 800)), "wire")
        for d in range(3, days, 7):
            for w in workers:
                rows.add(when(d), subject, w, float(rng.uniform(300, 900)), "wire")
        return [subject, *workers]
    elif typology == "source_country_wires":
        for _ in range(int(rng.integers(6, 12)) * max(1, days // 30)):
            rows.add(when(), subject, None, float(rng.uniform(400, 2500)), "wire",
                     counterparty="beneficiary", cp_country=str(rng.choice(SOURCE_COUNTRIES[:3])))
    elif typology == "rideshare":
        for _ in range(int(rng.integers(20, 40)) * max(1, days // 30)):
            rows.add(when(hour=float(rng.uniform(18, 27)) % 24), subject, None,
                     float(rng.uniform(8, 40)), "card", mcc="4121", merchant="Ride share",
                     city=city())
    elif typology == "cash_no_salary":
        for _ in range(int(rng.integers(8, 14)) * max(1, days // 30)):
            rows.add(when(), None, subject, float(rng.uniform(300, 1500)), "cash", city=city())
    elif typology == "cycle":
        members = [subject, *helpers[:3]]
        for rep in range(max(1, days // 30)):
            amt = float(rng.uniform(2000, 6000))
            d = int(rng.integers(0, max(1, days - 5)))
            for i, a in enumerate(members):
                amt *= float(rng.uniform(0.95, 0.99))
                rows.add(when(d + i, 11 + rep % 3), a, members[(i + 1) % len(members)], amt,
                         "wire")
        return members
    return [subject]


def generate(out_dir: Path, *, accounts: int = 2000, days: int = 60, seed: int = 42,
             per_day: float = 0.8, instances: int | None = None) -> SynthSummary:
    """Write a labelled synthetic dataset to ``out_dir``.

    Files: ``transactions.parquet``, ``accounts.parquet``, ``parties.parquet``,
    ``case_identifiers.parquet`` (the shared-identifier typology's ad phone numbers, as case data
    would hold them) and ``labels.csv``. ``instances``: planted instances per typology (default:
    about one account in 400, at least 3).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"A{i:07d}" for i in range(accounts)])
    personal = rng.random(accounts) < 0.95
    personal[: max(1, accounts // 50)] = False  # a few businesses (employers) at least
    home = rng.choice(CITIES, accounts, p=CITY_WEIGHTS / CITY_WEIGHTS.sum())
    normal = _normal(rng, ids, home, personal, days, per_day)
    k = instances if instances is not None else max(3, accounts // 400)
    rows = _Rows()
    labels: dict[str, str] = {}
    pool = [str(a) for a in rng.permutation(ids[personal])]
    planted: dict[str, int] = {}
    phones = {str(a): f"+33 6 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d} 00"
              for i, a in enumerate(ids)}
    case_ids: list[dict[str, str]] = []
    for typology in TYPOLOGIES:
        planted[typology] = 0
        for _ in range(k):
            if len(pool) < 40:
                break
            subject = pool.pop()
            helpers = [pool.pop() for _ in range(3)] if typology == "cycle" else []
            if typology == "collector":
                helpers = [str(a) for a in rng.choice(ids[personal], 25, replace=False)]
                helpers += [pool.pop() for _ in range(3)]
            if typology == "shared_identifier":
                case_ids.append({"kind": "phone", "value": phones[subject],
                                 "person_id": f"synth-person-{subject}", "role": "trafficker"})
                _plant(rng, "adult_ads", subject, [], rows, min(days, 20))
                labelled = [subject]
            else:
                labelled = _plant(rng, typology, subject, helpers, rows, days)
            for a in labelled:
                labels.setdefault(a, typology)
            planted[typology] += 1
    no_salary = [a for a, t in labels.items() if t == "cash_no_salary"]
    normal = normal[~(normal["dst_account"].isin(no_salary) & (normal["counterparty"] == "salary"))]
    frame = pd.concat([normal, rows.frame()], ignore_index=True)
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame.insert(0, "txn_id", [f"T{i:09d}" for i in range(len(frame))])
    frame["ts"] = pd.to_datetime(frame["ts"]).astype("datetime64[us]")
    out_dir.mkdir(parents=True, exist_ok=True)
    # written in the order a scan holds them in memory (see model.SORTED_BY), and marked so
    frame = frame.sort_values(list(SORTED_BY), kind="stable").reset_index(drop=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           **{k.encode(): v.encode()
                                              for k, v in sorted_metadata().items()}})
    pq.write_table(table, out_dir / "transactions.parquet", compression="zstd")
    acc = pd.DataFrame({"account_id": ids, "party_id": [f"P{a[1:]}" for a in ids],
                        "account_type": np.where(personal, "personal", "business"),
                        "city": home, "country": HOME_COUNTRY,
                        "opened": pd.Timestamp("2020-01-01").date()})
    pq.write_table(pa.Table.from_pandas(acc, preserve_index=False), out_dir / "accounts.parquet")
    parties = pd.DataFrame({"party_id": acc["party_id"],
                            "kind": np.where(personal, "person", "organisation"),
                            "name": None, "phone": [phones[a] for a in ids], "email": None,
                            "address": None, "country": HOME_COUNTRY, "person_id": None})
    pq.write_table(pa.Table.from_pandas(parties.astype({"name": "string", "email": "string",
                                                        "address": "string",
                                                        "person_id": "string"}),
                                        preserve_index=False), out_dir / "parties.parquet")
    cid = pd.DataFrame(case_ids, columns=["kind", "value", "person_id", "role"]).astype("string")
    pq.write_table(pa.Table.from_pandas(cid, preserve_index=False),
                   out_dir / "case_identifiers.parquet")
    lab = pd.DataFrame({"account_id": ids, "label": [1 if a in labels else 0 for a in ids],
                        "typology": [labels.get(a, "") for a in ids]})
    lab.to_csv(out_dir / "labels.csv", index=False)
    return SynthSummary(path=out_dir, accounts=accounts, transactions=len(frame), planted=planted)


def read_synth_labels(folder: Path) -> tuple[dict[str, int], dict[str, str]]:
    """(account -> label, account -> typology) of a generated dataset."""
    lab = pd.read_csv(folder / "labels.csv", dtype={"account_id": str, "typology": str},
                      keep_default_na=False)
    return (dict(zip(lab["account_id"], lab["label"].astype(int), strict=True)),
            {a: t for a, t in zip(lab["account_id"], lab["typology"], strict=True) if t})
