"""Rates one month with everything loaded now: routes usage, runs every tariff family's
pricing and combines each subscriber's lines into its own part of the month (or a
contract error). `bill_month` numbers those parts as if the month were issued alone;
issuing (metering.issuing) adds adjustments for earlier months before numbering.
Plain functions, no Dagster."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from metering import sqlfiles
from metering.catalog import Catalog
from metering.context import BillingInput
from metering.contracts import Row, Subscriber, load_contracts, load_subscribers
from metering.families import FAMILIES, minimums, term_days
from metering.ingest import create_tables
from metering.lines import Anomaly, ContractError, FamilyResult, LedgerMovement, Line, Listings, RatedRecord
from metering.periods import Month
from metering.routed_usage import ensure_usage
from metering.specification import build, spec_number

UNRATED_MESSAGES = {
    "unknown_subscriber": "subscriber is not known (yet); the record is kept and billed once it arrives",
    "no_subscription": "no subscription rates this record on its local date",
    "no_phone_plan": "transfer/outbound leg without a phone plan in force at its start",
}


@dataclass
class Prepared:
    """What rating any month needs, built once per run: subscribers, contracts and the
    routed `usage` table of all history."""
    con: duckdb.DuckDBPyConnection
    catalog: Catalog
    subscribers: dict[str, Subscriber]
    contracts: dict[str, list[Row]]


@dataclass
class OwnPart:
    """One subscriber's own lines of a month (pricing.md X: "own lines") and what its
    specification shows beside them."""
    subscriber_id: str
    currency: str
    payment_days: int
    lines: list[Line]
    balances: list[dict]
    aht: dict | None
    warnings: list[str]
    tasks: list[dict]
    actions: list[dict]
    appendix: list[dict] | None


LedgerEntry = tuple[str, str, int, LedgerMovement]  # subscriber, family, seq, movement
TraceEntry = tuple[str, str, RatedRecord]  # subscriber, family, record


@dataclass
class RatedMonth:
    month: Month
    parts: dict[str, OwnPart] = field(default_factory=dict)  # subscribers with a specification
    errors: list[ContractError] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    # prepaid ledgers through the month: (subscriber, family, seq, movement), made into rows
    # only when written (a row dict per movement cost ~10 x the tuple: millions at 100 M legs)
    ledger: list[LedgerEntry] = field(default_factory=list)
    rated_records: list[TraceEntry] = field(default_factory=list)  # per-record trace the families keep in Python
    aht_rows: list[dict] = field(default_factory=list)  # M3 evaluations of completed quarters
    aht_quarters: list[str] = field(default_factory=list)

    @property
    def error_ids(self) -> set[str]:
        return {e.subscriber_id for e in self.errors}


@dataclass
class MonthBill:
    month: Month
    specs: list[dict] = field(default_factory=list)
    errors: list[ContractError] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    lines: dict[str, list[Line]] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    rated_records: list[TraceEntry] = field(default_factory=list)
    aht_rows: list[dict] = field(default_factory=list)
    aht_quarters: list[str] = field(default_factory=list)
    draft: bool = False

    def totals_by_currency(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for s in self.specs:
            out[s["currency"]] += Decimal(s["total"])
        return dict(sorted(out.items()))


def rate_all(inp: BillingInput) -> dict[str, dict[str, FamilyResult]]:
    return {name: family.rate(inp) for name, family in FAMILIES.items()}


def prepare(con, catalog: Catalog) -> Prepared:
    create_tables(con)
    subscribers = load_subscribers(con)
    contracts = load_contracts(con)
    ensure_usage(con, subscribers, contracts)
    return Prepared(con, catalog, subscribers, contracts)


def rate_month(prep: Prepared, month: Month) -> RatedMonth:
    """Month `month` rated now: every subscriber's own lines, contract errors, anomalies."""
    con, catalog = prep.con, prep.catalog
    inp = BillingInput(con, month, catalog, prep.subscribers, prep.contracts)
    per_family = rate_all(inp)
    rated = RatedMonth(month)
    _aht_history(inp, rated)

    for sid, feed, rid, reason, kind in sqlfiles.rows(con, "marts/unrated_usage", {"m": str(month)}):
        rated.anomalies.append(Anomaly(reason, "G9", sid, f"{feed}/{rid}", f"{kind}: {UNRATED_MESSAGES[reason]}"))
    for family in FAMILIES:  # the prepaid ledgers (families without one have none)
        for sid, res in sorted(per_family[family].items()):
            for seq, m in enumerate(res.ledger, start=1):
                rated.ledger.append((sid, family, seq, m))
    for family in FAMILIES:  # the per-record traces kept in Python (answering's is its SQL relation)
        for sid, res in sorted(per_family[family].items()):
            rated.rated_records.extend((sid, family, r) for r in res.rated)

    candidates = sorted({sid for res in per_family.values() for sid in res}, key=lambda s: s.encode())
    for sid in candidates:
        parts = [per_family[f][sid] for f in FAMILIES if sid in per_family[f]]
        errors = [e for p in parts for e in p.errors]
        for p in parts:
            rated.anomalies.extend(p.anomalies)
        present = [p for p in parts if p.present or p.lines or p.ledger_movement]
        currencies = sorted({catalog.currency(p.family) for p in present})
        if len(currencies) > 1:
            errors.append(ContractError(sid, "+".join(p.family for p in present), "G7",
                                        f"items in more than one currency this month ({', '.join(currencies)}): "
                                        "one specification must have one currency"))
        lines = [ln for p in parts for ln in p.lines]
        movement = any(p.ledger_movement for p in parts)
        if errors:
            rated.errors.extend(errors)
            for e in errors:
                rated.anomalies.append(Anomaly("contract_error", e.rule, sid, "", f"{e.family}: {e.message}"))
            continue
        if not lines and not movement:
            continue
        lines.extend(minimums(catalog, month, [p.family for p in present], lines))
        currency = currencies[0] if currencies else catalog.currency(parts[0].family)
        days = term_days(catalog, [p.family for p in present], [p.family for p in parts])
        rated.parts[sid] = OwnPart(
            sid, currency, days, lines,
            **_shown([p.listings for p in parts]))
    return rated


def _shown(listings: list[Listings]) -> dict:
    """The families' listings of one subscriber, as the specification holds them."""
    aht = next((x.aht for x in listings if x.aht), None)
    appendix = next((x.appendix for x in listings if x.appendix is not None), None)
    return {"balances": [b.as_dict() for x in listings for b in x.balances],
            "aht": aht.as_dict() if aht else None,
            "warnings": [w for x in listings for w in x.warnings],
            "tasks": [t.as_dict() for x in listings for t in x.tasks],
            "actions": [a.as_dict() for x in listings for a in x.actions],
            "appendix": None if appendix is None else [i.as_dict() for i in appendix]}


def spec_of(prep: Prepared, month: Month, part: OwnPart, number: str | None, **extra) -> dict:
    return build(prep.subscribers[part.subscriber_id], month, number, part.currency, part.payment_days,
                 part.lines, part.balances, part.aht, part.warnings, part.tasks, part.actions, part.appendix,
                 **extra)


def bill_month(con, month: Month, catalog: Catalog) -> MonthBill:
    """The month rated now and numbered alone (no adjustments): what the tests of each
    rule and the benchmarks look at. Issuing is `metering.issuing.issue_month`."""
    prep = prepare(con, catalog)
    rated = rate_month(prep, month)
    return bill_of(prep, rated)


def bill_of(prep: Prepared, rated: RatedMonth) -> MonthBill:
    bill = MonthBill(rated.month, errors=rated.errors, anomalies=rated.anomalies, ledger=rated.ledger,
                     rated_records=rated.rated_records, aht_rows=rated.aht_rows, aht_quarters=rated.aht_quarters)
    for n, sid in enumerate(rated.parts, start=1):
        part = rated.parts[sid]
        bill.specs.append(spec_of(prep, rated.month, part, spec_number(rated.month, n)))
        bill.lines[sid] = part.lines
    return bill


def _aht_history(inp: BillingInput, rated: RatedMonth) -> None:
    """The M3 evaluations of every quarter completed by the end of the month, kept in the
    warehouse so analysts can query the chain."""
    from metering.aht import evaluation_rows
    from metering.pricing.answering import aht_chains
    month = inp.month
    last_done = month.quarter if month == month.quarter.last_month else _previous_quarter(month.quarter)
    chains = aht_chains(inp, last_done)
    quarters = {e.quarter for chain in chains.values() for e in chain}
    rated.aht_rows = evaluation_rows(chains, quarters)
    rated.aht_quarters = sorted(str(q) for q in quarters)


def _previous_quarter(q):
    from metering.periods import Quarter
    return Quarter(q.year - 1, 4) if q.q == 1 else Quarter(q.year, q.q - 1)
