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
from metering.context import BillingInput
from metering.contracts import ContractProblem, Row, merged_spans, overlapping_days
from metering.db import materialise
from metering.lines import Anomaly, ContractError, FamilyResult, Line, fee_line
from metering.periods import Month, Quarter, prorated_allowance

FAMILY = "answering"

DESCRIPTIONS = {
    "phone.calls.tier1": "Calls, ranks {lo}–{hi}", "phone.calls.included": "Calls included in the plan",
    "phone.calls.over": "Calls beyond the included calls",
    "phone.talk_over_90s": "Talk time above {talk_over_s} s per call",
    "phone.transfer.attempts": "Transfer attempts", "phone.transfer.talk": "Transfer talk time",
    "phone.outbound.attempts": "Outbound call attempts", "phone.outbound.talk": "Outbound talk time",
    "phone.foreign": "Foreign surcharge on transfer/outbound talk time",
    "messaging.included": "Interactions included in the plan",
    "messaging.over": "Interactions beyond the included interactions",
    "messaging.aht": "AHT surcharge (AHT_pre above {aht_threshold_s} s, per interaction)",
    "reports.mail": "Call reports by e-mail", "reports.sms": "Call reports by SMS",
    "training.hours": "Training of agents", "direct.hours": "DIRECT assistant (beyond package)",
}

OPTION_NAMES = {
    "voice_response": "Voice response", "reports_mail_unlimited": "Call reports by e-mail, unlimited",
    "sms_bundle_75": "SMS report bundle 75", "sms_bundle_200": "SMS report bundle 200",
    "sms_bundle_500": "SMS report bundle 500", "monthly_specification": "Monthly specification",
}


def _tier_description(code: str, tiers) -> str:
    service, _, tier = code.rpartition(".tier")
    t = tiers[int(tier) - 1]
    noun = "Calls" if service.startswith("phone") else "Interactions"
    hi = "" if t.to is None else str(t.to)
    return f"{noun}, ranks {t.from_}–{hi}" if hi else f"{noun}, ranks {t.from_} and up"


def _unit_price(t: AnsweringTariff, code: str, day: date) -> tuple[Decimal, str, str, int]:
    """(unit price, unit, price unit, divisor): amount = quantity × price / divisor."""
    p, m = t.phone, t.messaging
    if code.startswith("phone.calls.tier"):
        return p.graduated[int(code[-1]) - 1].price.at(day), "call", "call", 1
    if code.startswith("messaging.tier"):
        return m.graduated[int(code[-1]) - 1].price.at(day), "interaction", "interaction", 1
    price, unit, price_unit, divisor = _USAGE_PRICES[code]
    return (price(t).at(day) if price else Decimal("0.00")), unit, price_unit, divisor


_USAGE_PRICES = {
    "phone.calls.included": (None, "call", "call", 1),
    "phone.calls.over": (lambda t: t.phone.over_allowance, "call", "call", 1),
    "messaging.included": (None, "interaction", "interaction", 1),
    "messaging.over": (lambda t: t.messaging.over_allowance, "interaction", "interaction", 1),
    "phone.talk_over_90s": (lambda t: t.phone.talk_over_per_minute, "second", "minute", 60),
    "phone.transfer.attempts": (lambda t: t.phone.transfer_attempt, "attempt", "attempt", 1),
    "phone.transfer.talk": (lambda t: t.phone.transfer_talk_per_minute, "second", "minute", 60),
    "phone.outbound.attempts": (lambda t: t.phone.outbound_attempt, "attempt", "attempt", 1),
    "phone.outbound.talk": (lambda t: t.phone.outbound_talk_per_minute, "second", "minute", 60),
    "phone.foreign": (lambda t: t.phone.foreign_per_minute, "second", "minute", 60),
    "messaging.aht": (lambda t: t.messaging.aht_per_minute, "second", "minute", 60),
    "reports.mail": (lambda t: t.reports.mail_each, "report", "report", 1),
    "reports.sms": (lambda t: t.reports.sms_each, "SMS", "SMS", 1),
    "training.hours": (lambda t: t.training_per_hour, "minute", "hour", 60),
    "direct.hours": (lambda t: t.direct.per_hour, "minute", "hour", 60),
}


def _spans_table(data: list[tuple[str, str, date, date]]) -> pa.Table:
    return pa.table({
        "subscriber_id": pa.array([d[0] for d in data], pa.string()),
        "kind": pa.array([d[1] for d in data], pa.string()),
        "seg_from": pa.array([d[2] for d in data], pa.date32()),
        "seg_to": pa.array([d[3] for d in data], pa.date32())})


def _register(con, name: str, table: pa.Table) -> None:
    materialise(con, name, table, temp=True)


def _unit_prices_table(t: AnsweringTariff, month: Month, epochs: list[date]) -> pa.Table:
    """The unit price of every usage line code in each price epoch of the month (epoch 0
    from the first day, epoch i from epochs[i - 1]; no price changes inside one): the
    price a record of that epoch was billed at, which names its line when a code is on
    two lines of a document (G2: one line per code and unit price). Prices as text,
    exactly as the lines print them."""
    codes = ([f"phone.calls.tier{i}" for i in range(1, len(t.phone.graduated) + 1)]
             + [f"messaging.tier{i}" for i in range(1, len(t.messaging.graduated) + 1)] + list(_USAGE_PRICES))
    starts = [month.first, *epochs]
    table = [(epoch, code, str(_unit_price(t, code, day)[0])) for epoch, day in enumerate(starts) for code in codes]
    return pa.table({
        "epoch": pa.array([r[0] for r in table], pa.int64()),
        "code": pa.array([r[1] for r in table], pa.string()),
        "unit_price": pa.array([r[2] for r in table], pa.string())})


def _bands_table(t: AnsweringTariff) -> pa.Table:
    """The graduated rank bands (A3, M1) as rows: kind, line code, first and last rank
    (null: open-ended)."""
    bands = [(kind, f"{prefix}{i}", tier.from_, tier.to)
             for kind, prefix, tiers in (("call", "phone.calls.tier", t.phone.graduated),
                                         ("interaction", "messaging.tier", t.messaging.graduated))
             for i, tier in enumerate(tiers, start=1)]
    return pa.table({
        "kind": pa.array([b[0] for b in bands], pa.string()),
        "code": pa.array([b[1] for b in bands], pa.string()),
        "lo": pa.array([b[2] for b in bands], pa.int64()),
        "hi": pa.array([b[3] for b in bands], pa.int64())})


def trace(con, month: Month, subscribers: list[str] | None = None) -> None:
    """Builds the temp table `answering_charges`: every rated record of the month with
    its line code and quantity (the trace behind rated_records and the R3 appendix), for
    all subscribers or only the given ones. Needs the temp tables `rate` registered on
    this connection."""
    con.execute("set variable month = $v", {"v": str(month)})
    con.execute("set variable trace_subscribers = $v::varchar[]", {"v": subscribers})
    sqlfiles.run(con, "marts/answering_charges")


def has_rated(con) -> bool:
    """Whether `rate` ran on this connection (its temp tables exist)."""
    return bool(sqlfiles.value(con, "catalog/temp_table_exists", {"table": "answering_quantities"}))


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
    con.execute("set variable month = $v", {"v": str(month)})
    con.execute("set variable price_epochs = $v::date[]", {"v": [str(d) for d in epochs]})
    _register(con, "answering_unit_prices", _unit_prices_table(t, month, epochs))
    con.execute("set variable phone_tier_ends = $v::bigint[]", {"v": [x.to for x in t.phone.graduated if x.to]})
    con.execute("set variable messaging_tier_ends = $v::bigint[]",
                {"v": [x.to for x in t.messaging.graduated if x.to]})
    con.execute("set variable talk_over_s = $v", {"v": t.phone.talk_over_s})
    con.execute("set variable foreign_legs = $v::varchar[]", {"v": list(t.phone.foreign_legs.value)})
    con.execute("set variable allowance_plans = $v::varchar[]",
                {"v": sorted(name for name, plan in t.plans.items() if plan.allowance)})
    _register(con, "answering_bands", _bands_table(t))
    sqlfiles.run(con, "marts/answering_days")
    sqlfiles.run(con, "marts/answering_quantities")

    grouped = sqlfiles.rows(con, "marts/answering_quantities_ordered")
    usage_subs = {r[0] for r in sqlfiles.rows(con, "marts/answering_usage_subscribers", {"m": str(month)})}
    results: dict[str, FamilyResult] = {}
    by_sub: dict[str, list] = defaultdict(list)
    for sid, code, epoch, day, qty in grouped:
        by_sub[sid].append((code, day, int(qty)))

    for sid in sorted(set(subs_with_rows) | usage_subs):
        if sid not in inp.subscribers:
            continue
        res = FamilyResult(FAMILY, present=True)
        results[sid] = res
        month_rows = inp.month_rows(sid, FAMILY)
        _contract_errors(inp, sid, month_rows, res)
        try:
            res.lines.extend(_fee_lines(t, month, month_rows))
        except ContractProblem as exc:
            res.errors.append(ContractError(sid, FAMILY, "G5", str(exc)))
        res.lines.extend(_usage_lines(t, by_sub.get(sid, []), vat))
        discount = _bundle_discount(t, month, month_rows, res.lines)
        if discount:
            res.lines.append(discount)
        if sid in chains and month == month.quarter.last_month:
            for e in chains[sid]:
                if e.quarter == month.quarter:
                    res.aht = e.as_dict()
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
    trace(inp.con, inp.month, with_option)
    items = sqlfiles.rows(inp.con, "marts/answering_appendix", {"m": str(inp.month), "subs": with_option})
    appendix: dict[str, list[dict]] = {sid: [] for sid in with_option}
    for sid, local, kind, rid, number, dur, codes in items:
        appendix[sid].append({"started_at": local, "kind": kind, "id": rid, "number": mask_number(number),
                              "duration_s": int(dur or 0), "code": codes or ""})
    for sid, listed in appendix.items():
        results[sid].appendix = listed


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


def _fee_lines(t: AnsweringTariff, month: Month, month_rows: list[Row]) -> list[Line]:
    vat = t.vat.rate
    out = []
    group_order = {"phone": 0, "messaging": 1, "option": 2, "direct": 3}
    for r in sorted(month_rows, key=lambda r: (group_order.get(r.group, 9), r.valid_from, r.product)):
        days = r.days_in(month)
        override = r.unit_price()
        if r.group in ("phone", "messaging"):
            plan = t.plans[r.item]
            label = "Telephone answering" if r.group == "phone" else "E-mail, chat, WhatsApp"
            line = fee_line(f"{r.group}.plan", f"{label} plan {r.item} ({_span(days)})", days, month,
                            plan.fee.at, vat, "G4", FAMILY, override)
        elif r.group == "option":
            line = fee_line(f"option.{r.item}", f"{OPTION_NAMES[r.item]} ({_span(days)})", days, month,
                            t.options[r.item].fee.at, vat, {"voice_response": "A8",
                                                            "reports_mail_unlimited": "R1",
                                                            "monthly_specification": "R3"}.get(r.item, "R2"),
                            FAMILY, override)
        elif r.group == "direct":
            pkg = t.direct.packages[r.item]
            line = fee_line("direct.package", f"DIRECT assistant package {pkg.hours} h ({_span(days)})",
                            days, month, pkg.fee.at, vat, "D1", FAMILY, override)
        else:
            continue
        if line:
            out.append(line)
    return out


def _span(days: list[date]) -> str:
    return f"{days[0]:%d %b}–{days[-1]:%d %b}" if len(days) > 1 else f"{days[0]:%d %b}"


def _usage_lines(t: AnsweringTariff, groups: list[tuple[str, date, int]], vat: Decimal) -> list[Line]:
    """One line per code and unit price (G2); exact = quantity × price / divisor."""
    merged: dict[tuple[str, Decimal], list] = {}
    for code, day, qty in groups:
        price, unit, price_unit, divisor = _unit_price(t, code, day)
        key = (code, price)
        if key not in merged:
            merged[key] = [0, unit, price_unit, divisor]
        merged[key][0] += qty
    out = []
    for (code, price), (qty, unit, price_unit, divisor) in merged.items():
        if code.startswith(("phone.calls.tier", "messaging.tier")):
            graduated = t.phone.graduated if code.startswith("phone") else t.messaging.graduated
            desc = _tier_description(code, graduated)
        else:
            # texts name the tariff's own thresholds, not the sheet's figures
            desc = DESCRIPTIONS[code].format(talk_over_s=t.phone.talk_over_s,
                                             aht_threshold_s=t.messaging.aht_threshold_s)
        rule = {"phone.calls": "A3", "phone.talk_over_90s": "A4", "phone.transfer": "A5",
                "phone.outbound": "A6", "phone.foreign": "A7", "messaging.aht": "M2", "messaging": "M1",
                "reports.mail": "R1", "reports.sms": "R2", "training": "T1", "direct": "D1"}
        rid = next(v for k, v in rule.items() if code.startswith(k))
        exact = Fraction(qty) * Fraction(price) / divisor
        out.append(Line(code=code, description=desc, quantity=qty, unit=unit, unit_price=price, price_unit=price_unit,
                        exact=exact, vat_rate=vat, rule=rid, family=FAMILY))
    order = ["phone.calls", "phone.talk", "phone.transfer", "phone.outbound", "phone.foreign",
             "messaging.tier", "messaging.included", "messaging.over", "messaging.aht", "reports", "training",
             "direct"]
    out.sort(key=lambda line: (next((i for i, p in enumerate(order) if line.code.startswith(p)), 99),
                               line.code, line.unit_price))
    return out


def _bundle_discount(t: AnsweringTariff, month: Month, month_rows: list[Row], lines: list[Line]) -> Line | None:
    """B1: 12.5 % × (services − 1) × the month's rounded phone and messaging plan fee lines."""
    services = {r.group for r in month_rows if r.group in ("phone", "messaging")}
    if len(services) < 2:
        return None
    base = sum((ln.amount for ln in lines if ln.code in ("phone.plan", "messaging.plan")), Decimal("0"))
    n_extra = len(services) - 1
    exact = -Fraction(t.bundle_discount) * n_extra * Fraction(base)
    return Line(code="discount.bundle",
                description=f"Bundle discount {t.bundle_discount * 100:.1f} % × {n_extra} extra service(s) "
                            "on plan fees",
                quantity=base, unit="fee", unit_price=-(t.bundle_discount * n_extra), price_unit="fee", exact=exact,
                vat_rate=t.vat.rate, rule="B1", family=FAMILY)


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
