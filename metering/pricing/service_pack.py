"""The `service_pack` tariff family (pricing.md S1–S6): a prepaid unit balance per
subscriber, carried across months and recomputed from the first purchase every run.

DuckDB gives each action its units (`sql/marts/service_pack_ledger_actions.sql`); the
ledger (balance, auto-renewals) is `metering.ledgers.service_pack_movements`, running sums
in Polars over every subscriber at once; listings and hours checks are columnar too."""
from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

import polars as pl

from metering import sqlfiles
from metering.catalog import ServicePackTariff
from metering.charges import Registry, registry
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row
from metering.ledgers import (
    PACK_ACTION_SCHEMA,
    PACK_PURCHASE_SCHEMA,
    PackMovement,
    PackPurchase,
    service_pack_movements,
)
from metering.lines import Anomaly, Balance, ContractError, FamilyResult, LedgerMovement, Line, ListedPackAction
from metering.money import CENT, fmt_qty

FAMILY = "service_pack"
PACK_LABEL = {"1h": "1 h", "3h": "3 h", "10h": "10 h"}


def _display_price(p: Decimal) -> Decimal:
    return p.quantize(CENT) if p == p.quantize(CENT) else p.normalize()


def flag_param(row: Row, name: str, default: bool) -> tuple[bool, str | None]:
    """A boolean parameter of a row: (value, problem). A value that is present but not
    a JSON boolean is a contract problem (G10), never silently the default."""
    if name not in row.params:
        return default, None
    value = row.params[name]
    if isinstance(value, bool):
        return value, None
    return default, (f"{row.product} from {row.valid_from}: params.{name} must be true or false, "
                     f"got {value!r}")


def _row_order(r: Row) -> tuple:
    """Tie-break among purchase rows of one day: the row that arrived last (files in
    name order, then line) is the most recent."""
    return (r.file, r.line, r.product)


def purchases(inp: BillingInput, t: ServicePackTariff, sid: str, end: date
              ) -> tuple[list[PackPurchase], dict[str, dict[str, str]]]:
    """The subscriber's pack purchase rows dated before `end`, with the problems of each
    row by attribute ("price", "auto_renew")."""
    out, problems = [], {}
    for r in inp.family_rows(sid, FAMILY):
        if r.group != "servicepack" or r.item not in t.packs or r.valid_from >= end:
            continue
        pack = t.packs[r.item]
        issues: dict[str, str] = {}
        try:
            override = r.unit_price()
        except ContractProblem as exc:
            override, issues["price"] = None, str(exc)
        price = override if override is not None else pack.price.at(r.valid_from)
        auto, problem = flag_param(r, "auto_renew", t.auto_renew_default)
        if problem:
            issues["auto_renew"] = problem
        if issues:
            problems[r.ref] = issues
        out.append(PackPurchase(r.ref, r.valid_from, r.item, pack.units, price, auto, _row_order(r)))
    return out, problems


def _purchase_frame(bought: dict[str, list[PackPurchase]]) -> pl.DataFrame:
    """Every subscriber's purchase rows, `ord` = rank of (day, row order, key) (few rows)."""
    cols: dict[str, list] = {c: [] for c in PACK_PURCHASE_SCHEMA}
    for sid, rows_ in bought.items():
        for i, p in enumerate(sorted(rows_, key=lambda p: (p.day, p.order, p.key))):
            for c, v in (("subscriber_id", sid), ("day", p.day), ("ord", i), ("key", p.key), ("pack", p.pack),
                         ("units", p.units), ("auto_renew", p.auto_renew)):
                cols[c].append(v)
    return pl.DataFrame(cols, schema=PACK_PURCHASE_SCHEMA)


def _outside_hours(t: ServicePackTariff) -> pl.Expr:
    """S6 as an expression on `local_at` (half-open spans; Python's weekday numbering)."""
    hours = t.service_hours
    at = pl.col("local_at")
    second = at.dt.hour().cast(pl.Int64) * 3600 + at.dt.minute().cast(pl.Int64) * 60 + at.dt.second().cast(pl.Int64)
    inside = pl.any_horizontal([(second >= lo) & (second < hi) for lo, hi in (s.seconds() for s in hours.spans)])
    return ~((at.dt.weekday() - 1).is_in(list(hours.weekdays)) & inside)


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    """The ledgers of every subscriber in one vectorised pass (`service_pack_movements`);
    Python only for what is per subscriber and small: lines, errors, anomaly texts."""
    t = inp.catalog.service_pack
    charges = registry(inp.catalog)
    month = inp.month
    vat = t.vat.rate
    actions = inp.con.sql(sqlfiles.sql("marts/service_pack_ledger_actions"),
                          params={"end": month.end, "unit_s": t.unit_minutes * 60}).pl()
    # the SQL orders each subscriber's actions by (start, feed, id): S3's order
    actions = actions.with_columns(record=pl.col("feed") + "/" + pl.col("record_id"),
                                   ord=pl.int_range(pl.len(), dtype=pl.Int64), day=pl.col("local_date"),
                                   units=pl.col("units").cast(pl.Int64))
    candidates = set(actions.get_column("subscriber_id").unique().to_list()) | {
        sid for sid, rs in inp.contracts.items() if any(r.family == FAMILY and r.valid_from < month.end for r in rs)}
    # records of an unknown subscriber are anomalies (billing.py), not ledger
    known = sorted((sid for sid in candidates if sid in inp.subscribers), key=lambda s: s.encode())
    bought: dict[str, list[PackPurchase]] = {}
    problems: dict[str, dict[str, dict[str, str]]] = {}
    for sid in known:
        bought[sid], problems[sid] = purchases(inp, t, sid, month.end)
    actions = actions.filter(pl.col("subscriber_id").is_in(known))
    moves = service_pack_movements(
        _purchase_frame(bought), actions.select(*PACK_ACTION_SCHEMA).cast(PACK_ACTION_SCHEMA))
    in_month = (pl.col("day") >= month.first) & (pl.col("day") < month.end)
    moves = moves.with_columns(in_month=in_month)
    with_month = set(moves.filter("in_month").get_column("subscriber_id").unique().to_list())
    results: dict[str, FamilyResult] = {
        sid: FamilyResult(FAMILY, present=True, ledger_movement=True) for sid in known if sid in with_month}
    moves = moves.filter(pl.col("subscriber_id").is_in(list(results)))
    # One pass per output over all subscribers (a frame operation per subscriber costs
    # more than the ledger itself); rows go to their subscriber's result in ledger order.
    for sid, day, kind, pack, record, units, balance, rule in moves.select(
            "subscriber_id", "day", "kind", "pack", "record", "units", "balance",
            pl.col("kind").replace_strict({"purchase": "S2", "renewal": "S4"}, default="S1").alias("rule")).iter_rows():
        # the few distinct kinds, packs and rules shared, not a string per row (~10 % of the
        # rating heap at 100 M legs, where the ledgers hold millions of movements)
        results[sid].ledger.append(LedgerMovement(day=day, kind=sys.intern(kind), holding=_shared(pack), record=record,
                                                  units=units, balance=balance, rule=sys.intern(rule)))
    bought_moves = pl.col("kind").is_in(["purchase", "renewal"])
    month_moves = moves.filter("in_month").join(
        actions.filter(in_month).select("subscriber_id", "record", "local_at", "duration_s", "activity", "km"),
        on=["subscriber_id", "record"], how="left", maintain_order="left",
    ).with_columns(*(pl.when(bought_moves).then(None).otherwise(pl.col(c)).alias(c)
                     for c in ("local_at", "duration_s", "activity", "km")))
    for sid, date_, record, kind, units, balance, pack, started_at, duration_s in month_moves.select(
            "subscriber_id", pl.col("day").dt.strftime("%Y-%m-%d"), "record", "kind", pl.col("units").cast(pl.String),
            pl.col("balance").cast(pl.String), "pack", pl.col("local_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col("duration_s").cast(pl.Int64).cast(pl.String)).iter_rows():
        results[sid].listings.actions.append(ListedPackAction(
            date=sys.intern(date_), record=record, kind=sys.intern(kind), units=units, balance=balance,
            pack=_shared(pack), started_at=started_at, duration_s=duration_s))
    spans = ", ".join(f"{s.from_}–{s.to}" for s in t.service_hours.spans)
    for sid, record, message in month_moves.filter(_outside_hours(t).fill_null(False)).select(
            "subscriber_id", "record", pl.concat_str(
                "kind", pl.lit(" started "), pl.col("local_at").dt.strftime("%Y-%m-%d %H:%M:%S local (%a)"),
                pl.lit(f", outside service hours Mon–Fri {spans}; rated normally"))).iter_rows():
        results[sid].anomalies.append(Anomaly("outside_hours", "S6", sid, record, message))  # S6
    # purchases and renewals (lines), and every movement of a subscriber with a malformed row (G10)
    by_sub = {key[0]: _movements(frame, bought[str(key[0])]) for key, frame in month_moves.filter(
        bought_moves | pl.col("subscriber_id").is_in([s for s in results if problems[s]])).partition_by(
        "subscriber_id", as_dict=True).items()}
    onsite: dict[str, list[tuple[date, Decimal | None]]] = defaultdict(list)
    for sid, day, km in month_moves.filter(pl.col("activity") == "onsite").select(
            "subscriber_id", "day", "km").iter_rows():
        onsite[sid].append((day, km))
    summaries = moves.group_by("subscriber_id").agg(
        opening=pl.col("balance").filter(pl.col("day") < month.first).last().fill_null(0),
        credited=pl.col("units").filter(pl.col("in_month") & (pl.col("units") > 0)).sum(),
        consumed=-pl.col("units").filter(pl.col("in_month") & (pl.col("units") < 0)).sum())
    for sid, opening, credited, consumed in summaries.iter_rows():
        res = results[sid]
        if problems[sid]:
            _errors(sid, bought[sid], problems[sid], by_sub.get(sid, []), res)
        bought_now = [m for m in by_sub.get(sid, []) if m.kind in ("purchase", "renewal")]
        res.lines.extend(_purchase_lines(charges, t, bought_now, vat))
        res.lines.extend(_travel_lines(charges, t, onsite.get(sid, []), vat))
        res.listings.balances.append(Balance(kind="service_pack", unit="units", opening=opening, credited=credited,
                                             consumed=consumed, forfeited=0, closing=opening + credited - consumed))
    return dict(sorted(results.items(), key=lambda kv: kv[0].encode()))


def _shared(text: str | None) -> str | None:
    """One object for each distinct value of a low-cardinality text (sys.intern)."""
    return sys.intern(text) if text is not None else None


def _movements(frame: pl.DataFrame, bought: list[PackPurchase]) -> list[PackMovement]:
    """Movements as objects, for the few places that look at them one by one."""
    price = {p.key: p.price for p in bought}
    return [PackMovement(day, kind, record, units, balance, pack, price.get(row) if row else None, row)
            for day, kind, record, units, balance, row, pack in frame.select(
                "day", "kind", "record", "units", "balance", "row", "pack").iter_rows()]


def _errors(sid: str, bought: list[PackPurchase], problems: dict[str, dict[str, str]],
            moves: list[PackMovement], res: FamilyResult) -> None:
    """A row's malformed price or auto_renew rejects the months whose invoice or
    renewal decision depends on it (G10)."""
    if not problems:
        return
    used: dict[str, set[str]] = defaultdict(set)
    for m in moves:
        if m.kind in ("purchase", "renewal"):
            assert m.row is not None  # the ledger names the row of every purchase and renewal
            used[m.row].add("price")
            if m.kind == "renewal":
                used[m.row].add("auto_renew")
        elif m.balance <= 0:
            gov = _governing(bought, m.day)
            if gov is not None:
                used[gov.key].add("auto_renew")
    for key in sorted(used):
        for attr in sorted(used[key]):
            if attr in problems.get(key, {}):
                res.errors.append(ContractError(sid, FAMILY, "G10", problems[key][attr]))


def _governing(bought: list[PackPurchase], day: date) -> PackPurchase | None:
    eligible = [p for p in bought if p.day <= day]
    return max(eligible, key=lambda p: (p.day, p.order, p.key)) if eligible else None


def _purchase_lines(charges: Registry, t: ServicePackTariff, moves: list[PackMovement], vat: Decimal) -> list[Line]:
    """S2/S4: the month's purchases and renewals, one line per pack and unit price."""
    groups: dict[tuple[str, Decimal], list[int]] = {}
    for m in moves:
        if m.kind in ("purchase", "renewal"):
            assert m.pack is not None and m.price is not None  # set on every purchase and renewal
            g = groups.setdefault((m.pack, m.price), [0, 0])
            g[0 if m.kind == "purchase" else 1] += 1
    out = []
    order = {p: i for i, p in enumerate(PACK_LABEL)}
    for (pack, price), (bought, renewed) in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1])):
        qty = bought + renewed
        parts = []
        if bought:
            parts.append(f"{bought} purchase{'s' if bought != 1 else ''}")
        if renewed:
            parts.append(f"{renewed} auto-renewal{'s' if renewed != 1 else ''}")
        units = t.packs[pack].units if pack in t.packs else None  # the tariff's units, not the sheet's
        desc = f"Service Pack {PACK_LABEL.get(pack, pack)}" + (f" ({units} units)" if units else "")
        out.append(charges["servicepack.purchase"].line(
            pack=desc, parts=", ".join(parts), quantity=qty, unit_price=_display_price(price),
            exact=Fraction(price) * qty, vat_rate=vat))
    return out


def _travel_lines(charges: Registry, t: ServicePackTariff, onsite: Iterable[tuple[date, Decimal | None]],
                  vat: Decimal) -> list[Line]:
    """S5: each on-site work log (day, km) of the month max(km × rate, minimum) (a
    missing km is 0). Trips charged by distance go on a line in km at the km rate, trips
    at the minimum on a line in trips at the minimum (one line per code and unit price, G2)."""
    travel = charges["servicepack.travel"]
    per_km: dict[Decimal, list] = {}
    minimum: dict[Decimal, int] = {}
    for day, km_ in onsite:
        km = Decimal(km_) if km_ is not None else Decimal(0)
        rate_, floor = t.travel.per_km.at(day), t.travel.minimum_per_trip.at(day)
        if km * rate_ >= floor:
            g = per_km.setdefault(rate_, [0, Decimal(0)])
            g[0] += 1
            g[1] += km
        else:
            minimum[floor] = minimum.get(floor, 0) + 1
    out = []
    for rate_, (trips, km) in sorted(per_km.items()):
        out.append(travel.line(trips=trips, s="s" if trips != 1 else "", km=fmt_qty(km), quantity=km,
                               unit_price=rate_, exact=Fraction(km) * Fraction(rate_), vat_rate=vat))
    for floor, trips in sorted(minimum.items()):
        # S5's second form of the code: trips at the minimum, counted and priced in trips
        out.append(travel.line(form="minimum", trips=trips, s="s" if trips != 1 else "", quantity=trips,
                               unit_price=floor, exact=Fraction(floor) * trips, vat_rate=vat))
    return out
