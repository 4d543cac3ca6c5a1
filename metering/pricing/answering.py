"""The `answering` tariff family (pricing.md A1–A8, M1–M3, R1–R3, T1, D1, B1)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa

from metering import sqlfiles
from metering.aht import Evaluation, evaluate_chain, in_force
from metering.catalog import AnsweringTariff, price_change_days
from metering.charges import Charge, Registry, materialise_charge_codes, registry
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row, merged_spans, overlapping_days
from metering.db import materialise
from metering.lines import Anomaly, AppendixItem, ContractError, FamilyResult, Line, fee_line
from metering.periods import Month, Quarter, prorated_allowance

FAMILY = "answering"

OPTION_NAMES = {
    "voice_response": "Voice response", "reports_mail_unlimited": "Call reports by e-mail, unlimited",
    "sms_bundle_75": "SMS report bundle 75", "sms_bundle_200": "SMS report bundle 200",
    "sms_bundle_500": "SMS report bundle 500", "monthly_specification": "Monthly specification",
}


def _spans_table(data: list[tuple[str, str, date, date]]) -> pa.Table:
    return pa.table({
        "subscriber_id": pa.array([d[0] for d in data], pa.string()),
        "kind": pa.array([d[1] for d in data], pa.string()),
        "seg_from": pa.array([d[2] for d in data], pa.date32()),
        "seg_to": pa.array([d[3] for d in data], pa.date32())})


def _register(con, name: str, table: pa.Table) -> None:
    materialise(con, name, table, temp=True)


def _unit_prices_table(charges: Registry, month: Month, epochs: list[date]) -> pa.Table:
    """The unit price of every usage line code in each price epoch of the month (epoch 0
    from the first day, epoch i from epochs[i - 1]; no price changes inside one): the
    price a record of that epoch was billed at, which names its line when a code is on
    two lines of a document (G2: one line per code and unit price). Prices as text,
    exactly as the lines print them."""
    usage = [c for c in charges.of_family(FAMILY) if c.usage]
    starts = [month.first, *epochs]
    table = [(epoch, c.code, str(c.unit_price(day))) for epoch, day in enumerate(starts) for c in usage]
    return pa.table({
        "epoch": pa.array([r[0] for r in table], pa.int64()),
        "code": pa.array([r[1] for r in table], pa.string()),
        "unit_price": pa.array([r[2] for r in table], pa.string())})


def _bands_table(charges: Registry, t: AnsweringTariff) -> pa.Table:
    """The graduated rank bands (A3, M1) as rows: kind, line code, tier, first and last
    rank (null: open-ended)."""
    graduated = {"call": t.phone.graduated, "interaction": t.messaging.graduated}
    bands = [(c.kind, c.code, c.tier, graduated[c.kind][c.tier - 1].from_, graduated[c.kind][c.tier - 1].to)
             for c in charges.of_family(FAMILY) if c.tier is not None and c.kind is not None]
    return pa.table({
        "kind": pa.array([b[0] for b in bands], pa.string()),
        "code": pa.array([b[1] for b in bands], pa.string()),
        "tier": pa.array([b[2] for b in bands], pa.int64()),
        "lo": pa.array([b[3] for b in bands], pa.int64()),
        "hi": pa.array([b[4] for b in bands], pa.int64())})


def rated_month(con) -> str | None:
    """The month `rate` rated last on this connection ('YYYY-MM'), whose rating relation
    (the macro `answering_charges` over its temp tables) publishing keeps as the per-record
    trace; None when it did not run."""
    if not sqlfiles.value(con, "catalog/temp_table_exists", {"table": "answering_quantities"}):
        return None
    return sqlfiles.value(con, "marts/answering_rated_month")


def aht_chains(inp: BillingInput, through: Quarter) -> dict[str, list[Evaluation]]:
    """M3 chain per subscriber with a first messaging row, through `through`."""
    t = inp.catalog.answering
    stats: dict[str, dict[Quarter, tuple[int, int]]] = defaultdict(dict)
    for sid, year, q, n, total in sqlfiles.rows(inp.con, "marts/aht_quarter_stats"):
        stats[sid][Quarter(int(year), int(q))] = (int(n), int(total))
    out = {}
    for sid in inp.contracts:
        first = _first_messaging_row(inp, sid)
        if first is None or not _valid_aht(first):
            continue
        start = Quarter.of(first.valid_from)
        out[sid] = evaluate_chain(int(first.params["aht_s"]), start, through, stats.get(sid, {}),
                                  t.messaging.aht_deviation)
    return out


def _first_messaging_row(inp: BillingInput, sid: str) -> Row | None:
    msg = [r for r in inp.contracts.get(sid, []) if r.group == "messaging"]
    return min(msg, key=lambda r: (r.valid_from, r.product)) if msg else None


def _valid_aht(row: Row) -> bool:
    v = row.params.get("aht_s")
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0 or (
        isinstance(v, str) and v.isdigit())


def rate(inp: BillingInput) -> dict[str, FamilyResult]:
    t = inp.catalog.answering
    month = inp.month
    con = inp.con
    vat = t.vat.rate
    chains = aht_chains(inp, month.quarter)

    # Contract facts for the month's SQL: option spans, pools, AHT in force, countries.
    span_rows: list[tuple[str, str, date, date]] = []
    pool_rows: dict[tuple[str, str], int] = defaultdict(int)
    aht_rows: list[tuple[str, int]] = []
    subs_with_rows = [sid for sid in inp.contracts if inp.month_rows(sid, FAMILY)]
    for sid in subs_with_rows:
        month_rows = inp.month_rows(sid, FAMILY)
        for kind, products in (("mail_unlimited", {"option:reports_mail_unlimited"}),
                               ("sms_bundle", {f"option:{k}" for k in t.options if k.startswith("sms_bundle")}),
                               ("direct_package", {f"direct:{k}" for k in t.direct.packages})):
            for lo, hi in merged_spans([r for r in month_rows if r.product in products]):
                span_rows.append((sid, kind, lo, hi))
        for r in month_rows:
            days = len(r.days_in(month))
            if r.group in ("phone", "messaging") and t.plans[r.item].allowance:
                svc = t.phone if r.group == "phone" else t.messaging
                pool_rows[(sid, r.group)] += prorated_allowance(svc.allowance.value, days, month)
            elif r.group == "option" and r.item.startswith("sms_bundle"):
                pool_rows[(sid, "sms")] += prorated_allowance(t.options[r.item].sms or 0, days, month)
            elif r.group == "direct":
                pool_rows[(sid, "direct_minutes")] += prorated_allowance(
                    t.direct.packages[r.item].hours * 60, days, month)
        if sid in chains:
            pre = in_force(chains[sid], month.quarter)
            if pre is not None:
                aht_rows.append((sid, max(pre - t.messaging.aht_threshold_s, 0)))
    _register(con, "answering_spans", _spans_table(span_rows))
    _register(con, "answering_pools", pa.table({
        "subscriber_id": pa.array([k[0] for k in pool_rows], pa.string()),
        "pool_kind": pa.array([k[1] for k in pool_rows], pa.string()),
        "pool": pa.array(list(pool_rows.values()), pa.int64())}))
    _register(con, "aht_in_force", pa.table({
        "subscriber_id": pa.array([a[0] for a in aht_rows], pa.string()),
        "excess_s": pa.array([a[1] for a in aht_rows], pa.int64())}))
    _register(con, "subscriber_countries", pa.table({
        "subscriber_id": pa.array(list(inp.subscribers), pa.string()),
        "country": pa.array([s.country for s in inp.subscribers.values()], pa.string())}))
    epochs = price_change_days(t, month.first, month.end)
    sqlfiles.run(con, "macros/in_band")
    sqlfiles.run(con, "marts/answering_parameters", {
        "month": str(month), "price_epochs": [str(d) for d in epochs], "talk_over_s": t.phone.talk_over_s,
        "foreign_legs": list(t.phone.foreign_legs.value),
        "allowance_plans": sorted(name for name, plan in t.plans.items() if plan.allowance)})
    charges = registry(inp.catalog)
    materialise_charge_codes(con, inp.catalog)
    _register(con, "answering_unit_prices", _unit_prices_table(charges, month, epochs))
    _register(con, "answering_bands", _bands_table(charges, t))
    # the rating relation (every record with its code and quantity), then the lines as its sums
    sqlfiles.run(con, "marts/answering_days")
    sqlfiles.run(con, "marts/answering_charges")
    sqlfiles.run(con, "marts/answering_quantities")

    epoch_starts = [month.first, *epochs]
    grouped = sqlfiles.rows(con, "marts/answering_quantities_ordered")
    usage_subs = {r[0] for r in sqlfiles.rows(con, "marts/answering_usage_subscribers", {"m": str(month)})}
    results: dict[str, FamilyResult] = {}
    by_sub: dict[str, list] = defaultdict(list)
    for sid, code, epoch, qty in grouped:
        by_sub[sid].append((code, epoch_starts[epoch], int(qty)))

    for sid in sorted(set(subs_with_rows) | usage_subs):
        if sid not in inp.subscribers:
            continue
        res = FamilyResult(FAMILY, present=True)
        results[sid] = res
        month_rows = inp.month_rows(sid, FAMILY)
        _contract_errors(inp, sid, month_rows, res)
        try:
            res.lines.extend(_fee_lines(charges, t, month, month_rows))
        except ContractProblem as exc:
            res.errors.append(ContractError(sid, FAMILY, "G5", str(exc)))
        res.lines.extend(_usage_lines(charges, by_sub.get(sid, []), vat))
        discount = _bundle_discount(charges, t, month, month_rows, res.lines)
        if discount:
            res.lines.append(discount)
        if sid in chains and month == month.quarter.last_month:
            for e in chains[sid]:
                if e.quarter == month.quarter:
                    res.listings.aht = e
    _hours_anomalies(inp, t, results)
    _appendix(inp, results)
    return results


def mask_number(number: str | None) -> str:
    """Hide the last 3 digits of a phone number on every output."""
    if not number:
        return ""
    return number[:-3] + "***" if len(number) > 3 else "***"


def _appendix(inp: BillingInput, results: dict[str, FamilyResult]) -> None:
    """R3: subscribers with the monthly specification option get every call and
    interaction of the month itemised, numbers masked."""
    with_option = sorted(sid for sid in results if any(
        r.product == "option:monthly_specification" for r in inp.month_rows(sid, FAMILY)))
    if not with_option:
        return
    items = sqlfiles.rows(inp.con, "marts/answering_appendix", {"m": str(inp.month), "subs": with_option})
    appendix: dict[str, list[AppendixItem]] = {sid: [] for sid in with_option}
    for sid, local, kind, rid, number, dur, codes in items:
        appendix[sid].append(AppendixItem(started_at=local, kind=kind, id=rid, number=mask_number(number),
                                          duration_s=int(dur or 0), code=codes or ""))
    for sid, listed in appendix.items():
        results[sid].listings.appendix = listed


def _contract_errors(inp: BillingInput, sid: str, month_rows: list[Row], res: FamilyResult) -> None:
    """G10 for one month. A first messaging row without `aht_s` rejects the months in which a
    messaging row is active (M2 needs AHT_pre there), whether or not calls were made: a
    phone-only month is billed (answering rates interactions only on days with a messaging
    row, so usage needs no check of its own)."""
    for service in ("phone", "messaging"):
        days = overlapping_days([r for r in month_rows if r.group == service], inp.month)
        if days:
            res.errors.append(ContractError(
                sid, FAMILY, "G10", f"two {service} plan rows are active on the same day ({days[0]}"
                f"{'' if len(days) == 1 else f' and {len(days) - 1} more days'})"))
    msg_this_month = any(r.group == "messaging" for r in month_rows)
    first = _first_messaging_row(inp, sid)
    if first is not None and msg_this_month and not _valid_aht(first):
        res.errors.append(ContractError(
            sid, FAMILY, "M3", f"the first messaging row ({first.product} from {first.valid_from}) "
            "lacks params.aht_s (a whole number of seconds), required to price the AHT surcharge"))


def _fee_lines(charges: Registry, t: AnsweringTariff, month: Month, month_rows: list[Row]) -> list[Line]:
    vat = t.vat.rate
    out = []
    order = {"phone": "phone.plan", "messaging": "messaging.plan", "direct": "direct.package"}

    def charge_of(r: Row) -> Charge | None:
        code = f"option.{r.item}" if r.group == "option" else order.get(r.group)
        return charges[code] if code is not None else None

    fees = [(c, r) for r in month_rows if (c := charge_of(r)) is not None]
    for charge, r in sorted(fees, key=lambda cr: (cr[0].order, cr[1].valid_from, cr[1].product)):
        days = r.days_in(month)
        override = r.unit_price()
        if r.group in ("phone", "messaging"):
            price_on = t.plans[r.item].fee.at
            text = charge.describe(item=r.item, span=_span(days))
        elif r.group == "option":
            price_on = t.options[r.item].fee.at
            text = charge.describe(name=OPTION_NAMES[r.item], span=_span(days))
        else:
            pkg = t.direct.packages[r.item]
            price_on = pkg.fee.at
            text = charge.describe(hours=pkg.hours, span=_span(days))
        line = fee_line(charge, text, days, month, price_on, vat, override)
        if line:
            out.append(line)
    return out


def _span(days: list[date]) -> str:
    return f"{days[0]:%d %b}–{days[-1]:%d %b}" if len(days) > 1 else f"{days[0]:%d %b}"


def _usage_lines(charges: Registry, groups: list[tuple[str, date, int]], vat: Decimal) -> list[Line]:
    """One line per code and unit price (G2); exact = quantity × price / divisor; in the
    registry's display order, then by price."""
    merged: dict[tuple[str, Decimal], int] = defaultdict(int)
    for code, day, qty in groups:
        merged[(code, charges[code].unit_price(day))] += qty
    out = []
    for (code, price), qty in sorted(merged.items(), key=lambda kv: (charges[kv[0][0]].order, kv[0][1])):
        charge = charges[code]
        out.append(charge.line(quantity=qty, unit_price=price, exact=Fraction(qty) * Fraction(price) / charge.divisor,
                               vat_rate=vat))
    return out


def _bundle_discount(charges: Registry, t: AnsweringTariff, month: Month, month_rows: list[Row],
                     lines: list[Line]) -> Line | None:
    """B1: 12.5 % × (services − 1) × the month's rounded phone and messaging plan fee lines."""
    services = {r.group for r in month_rows if r.group in ("phone", "messaging")}
    if len(services) < 2:
        return None
    base = sum((ln.amount for ln in lines if ln.code in ("phone.plan", "messaging.plan")), Decimal("0"))
    n_extra = len(services) - 1
    exact = -Fraction(t.bundle_discount) * n_extra * Fraction(base)
    return charges["discount.bundle"].line(percent=t.bundle_discount * 100, extra=n_extra, quantity=base,
                                           unit_price=-(t.bundle_discount * n_extra), exact=exact, vat_rate=t.vat.rate)


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _hours_anomalies(inp: BillingInput, t: AnsweringTariff, results: dict[str, FamilyResult]) -> None:
    """A1: usage starting outside its plan's reachable hours (on the tariff's
    `hours_weekdays`, every day by default) is rated and listed."""
    limited = {f"{svc}:{name}": plan.hours.seconds() for name, plan in t.plans.items() if plan.hours
               for svc in ("phone", "messaging")}
    if not limited:
        return
    weekdays = sorted(t.hours_weekdays.value)
    on_days = "" if len(weekdays) == 7 else " on " + ", ".join(WEEKDAY_NAMES[d] for d in weekdays)
    con = inp.con
    _register(con, "plan_hours", pa.table({
        "plan_product": pa.array(sorted(limited), pa.string()),
        "lo_s": pa.array([limited[k][0] for k in sorted(limited)], pa.int64()),
        "hi_s": pa.array([limited[k][1] for k in sorted(limited)], pa.int64())}))
    found = sqlfiles.rows(con, "marts/answering_outside_hours", {"m": str(inp.month), "weekdays": weekdays})
    for sid, feed, rid, plan, local in found:
        if sid in results:
            lo, hi = limited[plan]
            results[sid].anomalies.append(Anomaly(
                "outside_hours", "A1", sid, f"{feed}/{rid}",
                f"started {local} local, outside {plan} hours {lo // 3600:02d}:{lo % 3600 // 60:02d}–"
                f"{hi // 3600:02d}:{hi % 3600 // 60:02d}{on_days}; rated normally"))
