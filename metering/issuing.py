"""Issuing a month (pricing.md X1–X7): rate it with everything loaded now, re-rate every
issued month within the look-back and bill the differences from what was issued as
adjustment lines, number the specifications, stage every file, check them, commit the
manifest, record the issued documents in the warehouse. A draft is the same without the
numbers, the commit and the record."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from metering import issued as issued_db
from metering import sqlfiles
from metering.adjustments import differences
from metering.billing import MonthBill, Prepared, prepare, rate_month, spec_of
from metering.catalog import Catalog
from metering.contracts import Subscriber
from metering.db import rows
from metering.lines import Anomaly
from metering.manifest import (
    DRAFTS,
    Issued,
    commit,
    file_entries,
    issued_months,
    read_manifest,
    staging_dir,
    utc_now,
)
from metering.periods import Month
from metering.render.files import atomic_write
from metering.specification import Adjustment, build, spec_number
from metering.workspace import Workspace

SCHEMA_VERSION = 2  # of the specification JSON (metering/einvoice/specification.schema.json)
LOOKBACK_MONTHS = 12  # X3: pricing.md's assumption; `--lookback` / CCMETER_LOOKBACK_MONTHS


def lookback_months() -> int:
    text = os.environ.get("CCMETER_LOOKBACK_MONTHS", str(LOOKBACK_MONTHS))
    if not text.isdigit() or int(text) < 0:
        raise ValueError(f"CCMETER_LOOKBACK_MONTHS={text!r}: expected a whole number of months ≥ 0")
    return int(text)


def months_back(month: Month, n: int) -> Month:
    index = month.year * 12 + month.month - 1 - n
    return Month(index // 12, index % 12 + 1)


@dataclass
class Corrections:
    """What re-rating the look-back gives for the month being issued (or drafted)."""
    adjustments: dict[str, list[Adjustment]] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    revised_aht: dict[str, list[dict]] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)
    months: list[str] = field(default_factory=list)  # months re-rated
    unchanged: list[str] = field(default_factory=list)  # months nothing could have changed since issue


def inputs_fingerprint() -> dict[str, str]:
    """What besides the loaded data decides a month's lines: the tariff files and the
    code that reads them."""
    import hashlib
    from importlib.metadata import PackageNotFoundError, version

    from metering.catalog import tariffs_dir
    h = hashlib.sha256()
    for p in sorted(tariffs_dir().glob("*.yaml")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    try:
        code = version("ccmeter")
    except PackageNotFoundError:  # pragma: no cover
        code = "unknown"
    return {"tariffs_sha256": h.hexdigest(), "ccmeter_version": code}


def unchanged_since_issue(con, issued: Issued, fingerprint: dict[str, str]) -> bool:
    """Whether re-rating the issued month could give anything but its issued lines: only
    when the tariffs or the code changed, or a file loaded since its issue holds
    subscribers, subscriptions or usage of that month or earlier (ledgers and the AHT
    chain carry history forward only, so later usage never changes an earlier month).
    A shortcut, never a rule: when in doubt the month is re-rated."""
    man = issued.manifest
    if any(man.get(k) != v for k, v in fingerprint.items()):
        return False
    for feed, _, earliest in rows(con, sqlfiles.sql("issuing/files_since_issue"), {"month": issued.month}):
        if feed in ("subscribers", "subscriptions") or (earliest is not None and earliest <= issued.month):
            return False
    return True


def _amount(adjs: list[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjs), Decimal("0.00"))


def corrections(con, prep: Prepared, target: Month, issued: dict[str, Issued], lookback: int,
                only: Month | None = None) -> Corrections:
    """X3–X5 for the month `target` being issued: every issued month M with
    1 ≤ target − M ≤ lookback (or just `only`) re-rated and compared with its issued lines."""
    out = Corrections()
    if only is not None:
        months = [only] if str(only) in issued else []
    else:
        months = [m for m in (months_back(target, k) for k in range(lookback, 0, -1)) if str(m) in issued]
    fingerprint = inputs_fingerprint()
    for m in months:
        key = str(m)
        if unchanged_since_issue(con, issued[key], fingerprint):
            out.unchanged.append(key)
            continue
        out.months.append(key)
        rated = rate_month(prep, m)
        lines = issued_db.issued_lines(con, key)
        numbers = issued_db.issued_numbers(con, key)
        currencies = issued_db.issued_currencies(con, key)
        errors = {e.subscriber_id: e for e in rated.errors}
        for sid in sorted(set(rated.parts) | set(lines), key=lambda s: s.encode()):
            part = rated.parts.get(sid)
            diffs = differences(part.lines if part else [], lines.get(sid, []), key, numbers.get(sid))
            if not diffs:
                continue
            if sid in errors:
                out.anomalies.append(Anomaly(
                    "adjustment.withheld", "X4", sid, "",
                    f"{key} re-rates to a contract error ({errors[sid].rule}: {errors[sid].message}); its "
                    f"adjustments ({_amount(diffs)} over {len(diffs)} line(s)) are withheld until it is resolved"))
                continue
            out.adjustments.setdefault(sid, []).extend(diffs)
            out.currencies.setdefault(sid, part.currency if part else currencies.get(sid, ""))
        _revised_aht(con, key, m, rated, out)
    return out


def _revised_aht(con, key: str, m: Month, rated, out: Corrections) -> None:
    """A quarter's AHT evaluation that late interactions change is shown again, marked
    revised, on the specification carrying the resulting adjustments."""
    if m != m.quarter.last_month:
        return
    shown = issued_db.issued_aht(con, key)
    for sid, old in shown.items():
        part = rated.parts.get(sid)
        new = part.aht if part else None
        if new and new != old and sid in out.adjustments:
            out.revised_aht.setdefault(sid, []).append({**new, "revised": True, "was": old})


def expired(con, prep: Prepared, target: Month, issued: dict[str, Issued], lookback: int) -> list[Anomaly]:
    """Differences of the month that just passed the look-back: listed once, never billed."""
    m = months_back(target, lookback + 1)
    if str(m) not in issued:
        return []
    found = corrections(con, prep, target, issued, lookback, only=m)
    out = [Anomaly("adjustment.expired", "X5", sid, "",
                   f"{m}: a difference of {_amount(adjs)} ({len(adjs)} line(s)) passed the {lookback}-month "
                   "look-back and is not billed")
           for sid, adjs in found.adjustments.items()]
    return out + [Anomaly("adjustment.expired", "X5", a.subscriber_id, "", a.message) for a in found.anomalies]


def late_records(con, months: list[str], since: str | None = None) -> list[tuple]:
    if not months:
        return []
    return rows(con, sqlfiles.sql("issuing/late_records"), {"months": months, "since_month": since})


def beyond_lookback(con, target: Month, issued: dict[str, Issued], lookback: int) -> list[Anomaly]:
    """X5: records of issued months older than the look-back that arrived since the last
    issue: listed once, in the first issued month after they were loaded."""
    old = [m for m in issued if (target.year * 12 + target.month) - (int(m[:4]) * 12 + int(m[5:])) > lookback]
    if not old:
        return []
    last = max(issued.values(), key=lambda i: i.issued_at).month
    return [Anomaly("late.beyond_lookback", "X5", sid, f"{feed}/{rid}",
                    f"arrived after {month} was issued and more than {lookback} months before {target}: "
                    f"not billed for {month} (it still counts for ledgers and the AHT chain)")
            for feed, rid, sid, month, _ in late_records(con, old, since=last)]


@dataclass
class Planned:
    bill: MonthBill
    corrections: Corrections
    repriced: int  # subscribers with adjustments


def plan(con, ws: Workspace, month: Month, catalog: Catalog, *, draft: bool = False,
         lookback: int | None = None) -> Planned:
    """What issuing `month` now would give (numbered unless a draft). For a draft of an
    issued month: the month re-rated now with the adjustments the next issue would carry
    for it."""
    lookback = lookback_months() if lookback is None else lookback
    issued = issued_months(ws)
    issued_db.sync(con, ws)
    prep = prepare(con, catalog)
    if draft and str(month) in issued:
        fixes = corrections(con, prep, month.next(), issued, lookback, only=month)
        extra = []
    else:
        fixes = corrections(con, prep, month, issued, lookback)
        extra = expired(con, prep, month, issued, lookback) + beyond_lookback(con, month, issued, lookback)
    # rated last: the per-record trace written at issue reads the working tables of the
    # month rated last on this connection
    rated = rate_month(prep, month)
    from metering.einvoice.seller import load_seller
    seller = load_seller(ws.root).as_json()  # SellerError: a broken seller.yaml stops the run
    bill = MonthBill(month, errors=rated.errors, ledger=rated.ledger, rated_records=rated.rated_records,
                     aht_rows=rated.aht_rows, aht_quarters=rated.aht_quarters, draft=draft)
    bill.anomalies = list(rated.anomalies) + fixes.anomalies + extra
    errors = rated.error_ids
    ids = sorted(set(rated.parts) | set(fixes.adjustments), key=lambda s: s.encode())
    n = 0
    for sid in ids:
        adjs = fixes.adjustments.get(sid, [])
        part = rated.parts.get(sid)
        if not _names_a_file(sid):
            # loaded before ingestion checked ids: skipped alone, never the whole month
            bill.anomalies.append(Anomaly("contract_error", "G10", sid, "",
                                          "the subscriber id cannot name a file (64 characters at most, letters, "
                                          "digits, -, _, . and no leading dot): no specification"))
            continue
        if sid in errors or (part and adjs and part.currency != fixes.currencies.get(sid)):
            why = ("its contract has an error this month" if sid in errors or part is None else
                   f"they are in {fixes.currencies.get(sid)}, this month's specification in {part.currency}")
            bill.anomalies.append(Anomaly(
                "adjustment.waiting", "X4", sid, "",
                f"adjustments of {_amount(adjs)} for {', '.join(sorted({a.period for a in adjs}))} wait for the "
                f"next issued month: {why}"))
            if sid in errors:
                continue
            adjs = []
        if part is None and not adjs:
            continue
        n += 1
        number = None if draft else spec_number(month, n)
        revised = fixes.revised_aht.get(sid, [])
        if part is not None:
            spec = spec_of(prep, month, part, number, adjustments=adjs, draft=draft, revised_aht=revised)
        else:
            spec = _adjustment_only(prep.subscribers[sid], month, number, fixes.currencies[sid], adjs, draft,
                                    revised, catalog)
        _balance_corrections(ws, issued.get(str(months_back(month, 1))), spec)
        bill.specs.append({"schema_version": SCHEMA_VERSION, **spec, "seller": seller})
        bill.lines[sid] = part.lines if part else []
    return Planned(bill, fixes, len(fixes.adjustments))


def _names_a_file(sid: str) -> bool:
    from metering.workspace import safe_subscriber_id
    try:
        safe_subscriber_id(sid)
    except ValueError:
        return False
    return True


def _balance_corrections(ws: Workspace, previous: Issued | None, spec: dict) -> None:
    """A balance statement whose opening differs from the closing issued for the previous
    month shows the difference as a `correction` (late data changed the history)."""
    if previous is None or not spec["balances"]:
        return
    path = ws.month_dir(previous.month) / f"{spec['subscriber_id']}.json"
    if not any(f["name"] == path.name for f in previous.specifications()):
        return
    import json
    closing = {(b.get("kind"), b.get("card_id")): Decimal(b["closing"])
               for b in json.loads(path.read_bytes()).get("balances") or []}
    for b in spec["balances"]:
        before = closing.get((b.get("kind"), b.get("card_id")))
        if before is not None and before != Decimal(b["opening"]):
            b["correction"] = str(Decimal(b["opening"]) - before)


def _adjustment_only(sub: Subscriber, month: Month, number, currency: str, adjs: list[Adjustment], draft: bool,
                     revised: list[dict], catalog: Catalog) -> dict:
    """X4: a specification of N holding only adjustment lines; due after the term of a
    family that governs it (remote support: 14 days, G8) when one of them is of that
    family, else 30. The family comes with each line, never from its code."""
    from metering.families import FAMILIES
    governing = [d for f in sorted({a.family for a in adjs})
                 if f in FAMILIES and (d := FAMILIES[f].payment_term_days(catalog)) is not None]
    days = max(governing) if governing else 30
    return build(sub, month, number, currency, days, [], [], None, [], [], [], None,
                 adjustments=adjs, draft=draft, revised_aht=revised)


# --------------------------------------------------------------------------- issue
@dataclass
class IssueResult:
    month: str
    issued: Issued
    already: bool
    directory: Path  # the month's specifications directory
    bill: MonthBill | None = None
    late: int = 0
    repriced: int = 0

    def totals(self) -> dict[str, str]:
        out: dict[str, Decimal] = {}
        for f in self.issued.specifications():
            out[f["currency"]] = out.get(f["currency"], Decimal("0.00")) + Decimal(f["total"])
        return {k: str(v) for k, v in sorted(out.items())}


def already_issued(con, ws: Workspace, month: Month) -> IssueResult | None:
    """X2: an issued month is reported, never changed: when it was issued and how many
    records arrived for it since."""
    found = read_manifest(ws, str(month))
    if found is None:
        return None
    issued_db.sync(con, ws)
    from metering.contracts import load_contracts, load_subscribers
    from metering.routed_usage import ensure_usage
    ensure_usage(con, load_subscribers(con), load_contracts(con))
    late = len(late_records(con, [str(month)]))
    return IssueResult(str(month), found, True, ws.month_dir(str(month)), late=late)


def issue_month(con, ws: Workspace, month: Month, catalog: Catalog, *, pdf: bool = True, workers: int = 1,
                version: str = "", lookback: int | None = None, progress=None) -> IssueResult:
    from metering.clock import check_ended
    done = already_issued(con, ws, month)
    if done:
        return done
    check_ended(month)
    planned = plan(con, ws, month, catalog, lookback=lookback)
    if progress and planned.corrections.months:
        progress(f"re-rated {', '.join(planned.corrections.months)}: {planned.repriced} subscriber(s) re-priced "
                 "by late data or changed tariffs; their differences go on this month as adjustments")
    return publish(con, ws, planned.bill, pdf=pdf, workers=workers, version=version, lookback=lookback,
                   repriced=planned.repriced, progress=progress)


def publish(con, ws: Workspace, bill: MonthBill, *, pdf: bool = True, workers: int = 1, version: str = "",
            lookback: int | None = None, repriced: int = 0, progress=None) -> IssueResult:
    """Stages every file of the numbered month, checks them, commits the manifest and
    records the issued documents and the month's analytic tables in the warehouse."""
    from metering.outputs import MonthFiles, discard_analytics, write_analytics
    from metering.staging_checks import check_staged
    key = str(bill.month)
    staging = staging_dir(ws, key)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    einvoices = _einvoices(ws, bill)
    if progress:
        progress(f"writing {len(bill.specs)} specification(s) and {len(einvoices)} e-invoice(s) to staging")
    try:
        # the PDF workers render while this process writes the other files and the tables
        with MonthFiles(staging, bill, pdf=pdf, workers=workers, say=progress) as files:
            files.write_own()
            for name, data in sorted(einvoices.items()):
                files.batch.write(staging / "ubl" / name, data)
            # the month's analytic tables (anomalies, ledgers, trace, AHT) before the commit:
            # they are rewritten per month, so a crash before the commit is undone by the
            # rerun that issues the month; written after it, a crash in between would leave
            # an issued month without them for good (an issued month is never rated again)
            write_analytics(con, bill)
            files.finish()  # every staged file durable, then visible under its name
        check_staged(staging, bill.specs, pdf=pdf)
    except BaseException:
        # the month is not issued: analysts must not find its anomalies, ledgers or trace
        discard_analytics(con, key)
        raise
    specs = {f"{s['subscriber_id']}.json": s for s in bill.specs}
    loaded = [{"path": p, "sha256": s} for p, s in rows(
        con, sqlfiles.sql("issuing/loaded_files_listed"))]
    fingerprint = inputs_fingerprint()
    manifest = {"month": key, "issued_at": utc_now(), "ccmeter_version": version or fingerprint["ccmeter_version"],
                "tariffs_sha256": fingerprint["tariffs_sha256"],
                "lookback_months": lookback_months() if lookback is None else lookback,
                "specifications": len(bill.specs), "adjusted_subscribers": repriced,
                "files": file_entries(staging, specs), "loaded_files": loaded}
    commit(ws, key, staging, manifest)
    found = read_manifest(ws, key)
    if found is None:  # cannot happen after a commit that returned; never record a month without its manifest
        raise RuntimeError(f"{key}: the manifest just committed cannot be read back")
    issued_db.record(con, found, bill.specs)
    return IssueResult(key, found, False, ws.month_dir(key), bill=bill, repriced=repriced)


def _einvoices(ws: Workspace, bill: MonthBill) -> dict[str, bytes]:
    """Peppol UBL of every specification of a subscriber with a `peppol_id` (not of
    drafts); malformed e-invoice data skips it with an `einvoice.skipped` anomaly."""
    from metering.einvoice.seller import load_seller
    from metering.einvoice.ubl import skipped_anomaly, ubl_document
    from metering.workspace import safe_subscriber_id
    seller = load_seller(ws.root)
    out = {}
    for spec in bill.specs:
        result = ubl_document(spec, seller)
        if isinstance(result, bytes):
            out[f"{safe_subscriber_id(spec['subscriber_id'])}.xml"] = result
        elif result.anomaly:
            bill.anomalies.append(skipped_anomaly(spec, result))
    return out


# --------------------------------------------------------------------------- drafts
DRAFT_LIST = "draft-files.json"


def draft_month(con, ws: Workspace, month: Month, catalog: Catalog, *, pdf: bool = True, workers: int = 1,
                lookback: int | None = None) -> tuple[MonthBill, Path]:
    """X7: what issuing `month` now would give, unnumbered, into drafts/YYYY-MM/. It
    replaces the files of the previous draft of that month and touches nothing else."""
    import json

    from metering.outputs import write_files
    planned = plan(con, ws, month, catalog, draft=True, lookback=lookback)
    directory = ws.specifications / DRAFTS / str(month)
    directory.mkdir(parents=True, exist_ok=True)
    listing = directory / DRAFT_LIST
    previous = set(json.loads(listing.read_bytes())) if listing.is_file() else set()
    written = write_files(directory, planned.bill, pdf=pdf, workers=workers)
    for name in sorted(previous - set(written)):
        (directory / name).unlink(missing_ok=True)
    atomic_write(listing, (json.dumps(sorted(written), indent=2) + "\n").encode())
    return planned.bill, directory


# --------------------------------------------------------------------------- each run
def prepare_workspace(con, ws: Workspace, version: str) -> list[str]:
    """What every run that writes does first: finish or roll back what a crashed run
    left, adopt month folders written before manifests existed, and bring the
    warehouse's issued documents in line with the manifests. Returns what it did, one
    line each, for the run's log."""
    from metering.ingest import create_tables
    from metering.manifest import adopt_legacy, recover
    said = list(recover(ws))
    create_tables(con)
    loaded = [{"path": p, "sha256": h} for p, h in rows(con, sqlfiles.sql("issuing/loaded_files_listed"))]
    said += [f"{month}: specification files without a manifest were adopted as issued (manifest written)"
             for month in adopt_legacy(ws, loaded, version)]
    said += list(issued_db.sync(con, ws))
    return said
