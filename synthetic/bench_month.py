"""The benchmark profile of the generator (`ccmeter bench`): a synthetic month, written
as inbox files in the data-contract columns (data-contract.md): call legs, interactions and work logs as zstd Parquet
(timestamps as Parquet TIMESTAMP with time zone UTC, which ingestion reads as
`2026-12-01 08:00:00+00`: an offset, so accepted), subscribers and subscriptions as CSV.

Vectorised with numpy and polars (no per-record Python loop); seeded, so the same
arguments give byte-identical files. Every record is valid: the benchmark times the
normal path, the quarantine holds nothing.

The mix (shares of subscribers): answering NL 84 % (phone plan BASIC/SMART/PLUS/PREMIUM,
40 % also a messaging plan with params {"aht_s": 240}, some options and DIRECT
packages), service_pack BE 5 % (servicepack:10h), klippekort DK 4 % (klippekort:30),
interact BE 3 % (interact:HUB + users), remote_support NL 4 % (remote:standard).
Calls go to answering and service-pack subscribers (log-normal volumes per subscriber),
80 % inbound (92 % answered), the rest transfer/outbound legs of an answered inbound
call in the same file. 2 % of calls and interactions fall outside the 07:00–20:00 local
hours (A1 anomalies for BASIC/SMART). A handful of calls (1 in 100,000) name a
subscriber that does not exist (G9 anomalies).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from synthetic.common import days_in, labels, numbered_ids, parse_month, utc_instants, write_atomically

GENERATOR_VERSION = 3
MANIFEST = "bench-manifest.json"

FAMILIES = ("answering", "service_pack", "klippekort", "interact", "remote_support")
FAMILY_SHARES = (0.84, 0.05, 0.04, 0.03, 0.04)
COUNTRIES = ("NL", "BE", "DK")
FAMILY_COUNTRY = (0, 1, 2, 1, 0)  # index into COUNTRIES
PLANS = ("BASIC", "SMART", "PLUS", "PREMIUM")
PLAN_SHARES = (0.40, 0.25, 0.20, 0.15)
FOREIGN = ("DE", "FR", "GB", "US", "ES")
UNKNOWN_SUBSCRIBER = "SX-UNKNOWN"
OUTSIDE_HOURS_SHARE = 0.02

@dataclass(frozen=True)
class SynthSpec:
    calls: int = 10_000_000
    subscribers: int = 10_000
    interactions: int | None = None  # default: calls // 5
    worklogs: int = 50_000
    month: str = "2026-12"
    seed: int = 20261
    chunk_rows: int = 1_000_000  # rows per Parquet file of calls and interactions

    @property
    def n_interactions(self) -> int:
        return self.calls // 5 if self.interactions is None else self.interactions

    def key(self) -> dict:
        d = asdict(self)
        d["interactions"] = self.n_interactions
        d["generator_version"] = GENERATOR_VERSION
        return d


# --- time helpers --------------------------------------------------------------------

def _month_bounds(month: str) -> tuple[date, int]:
    first = parse_month(month)
    return first, days_in(first)


def _utc_offsets(first: date, days: int) -> np.ndarray:
    """Seconds to subtract from local (Europe/Amsterdam, same offsets as Brussels and
    Copenhagen) midnight-based times to get UTC, per day of the month (noon offset)."""
    tz = ZoneInfo("Europe/Amsterdam")
    return np.array([int(datetime(d.year, d.month, d.day, 12, tzinfo=tz).utcoffset().total_seconds())
                     for d in (first + timedelta(days=i) for i in range(days))], dtype=np.int64)


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


def _local_times(rng: np.random.Generator, n: int, first: date, days: int, outside_share: float,
                 weekdays_only: bool = False, hours: tuple[int, int] = (7, 20)) -> np.ndarray:
    """UTC epoch seconds of n instants in the month: a share inside [hours) local time,
    the rest in 20:00–23:00 or 01:00–07:00 local (never within an hour of midnight, so a
    DST day cannot move one into another month)."""
    if weekdays_only:
        pool = np.array([i for i in range(days) if (first + timedelta(days=i)).weekday() < 5], dtype=np.int64)
        day = pool[rng.integers(0, len(pool), n)]
    else:
        day = rng.integers(0, days, n)
    lo, hi = hours
    inside = rng.random(n) >= outside_share
    tod_in = rng.integers(lo * 3600, hi * 3600, n)
    u = rng.integers(0, 9 * 3600, n)  # 20:00–23:00 (3 h) then 01:00–07:00 (6 h)
    tod_out = np.where(u < 3 * 3600, 20 * 3600 + u, 3600 + (u - 3 * 3600))
    tod = np.where(inside, tod_in, tod_out)
    offsets = _utc_offsets(first, days)
    return _epoch(first) + day * 86400 + tod - offsets[day]


def _code(rng: np.random.Generator, shares: tuple[float, ...], n: int) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(shares), n, p=p / p.sum())


# --- subscribers and contracts -----------------------------------------------------

@dataclass
class Population:
    ids: pl.Series         # subscriber ids
    family: np.ndarray     # int index into FAMILIES
    country: np.ndarray    # int index into COUNTRIES
    phone_plan: np.ndarray  # int index into PLANS or -1
    messaging: np.ndarray  # bool

    def sid(self, index: np.ndarray) -> pl.Series:
        return self.ids.gather(pl.Series(index.astype(np.int64)))

    def sid_where(self, mask: np.ndarray) -> pl.Series:
        return self.ids.filter(pl.Series(mask))


def _population(spec: SynthSpec, rng: np.random.Generator) -> Population:
    n = spec.subscribers
    fam = rng.choice(len(FAMILIES), n, p=np.asarray(FAMILY_SHARES))
    fam[: min(len(FAMILIES), n)] = np.arange(min(len(FAMILIES), n))  # every family present
    ids = numbered_ids("S", np.arange(1, n + 1), 6)
    country = np.asarray(FAMILY_COUNTRY)[fam]
    plan = np.where(fam == 0, rng.choice(len(PLANS), n, p=np.asarray(PLAN_SHARES)), -1)
    messaging = (fam == 0) & (rng.random(n) < 0.40)
    if n >= 1 and fam[0] == 0:
        messaging[0] = True  # at least one messaging plan
    return Population(ids, fam, country, plan, messaging)


def _subscribers_frame(pop: Population) -> pl.DataFrame:
    ids = pop.ids
    num = ids.str.slice(1)
    country = labels(COUNTRIES, pop.country)
    return pl.DataFrame({
        "subscriber_id": ids,
        "name": pl.select(pl.lit("Synthetic customer ") + num).to_series(),
        "country": country,
        "address": pl.select(pl.lit("Benchstraat ") + (num.cast(pl.Int64) % 997).cast(pl.String)
                             + pl.lit(", 1000 AA Testdorp")).to_series(),
        "vat_id": pl.select(country + pl.lit("0") + num.str.zfill(8) + pl.lit("B01")).to_series(),
        "email": pl.select(pl.lit("billing+") + num + pl.lit("@example.com")).to_series(),
    })


def _subscriptions_frame(spec: SynthSpec, pop: Population, rng: np.random.Generator) -> pl.DataFrame:
    first, days = _month_bounds(spec.month)
    n = len(pop.ids)
    parts: list[pl.DataFrame] = []

    def add(mask: np.ndarray, product: str | pl.Series, valid_from: str | pl.Series, params=None, quantity=1,
            valid_to: str | None = None):
        k = int(mask.sum())
        if not k:
            return
        keep = pl.Series(mask)
        parts.append(pl.DataFrame({
            "subscriber_id": pop.sid_where(mask),
            "product": product.filter(keep) if isinstance(product, pl.Series) else pl.repeat(product, k, eager=True),
            "quantity": pl.repeat(quantity, k, dtype=pl.Int64, eager=True),
            "valid_from": (valid_from.filter(keep) if isinstance(valid_from, pl.Series)
                           else pl.repeat(valid_from, k, eager=True)),
            "valid_to": pl.repeat(valid_to, k, dtype=pl.String, eager=True),
            "params": pl.repeat(params, k, dtype=pl.String, eager=True),
        }))

    ans = pop.family == 0
    mid = date(first.year, first.month, 15).isoformat()
    # 3 % of answering subscribers change phone plan on the 15th (two prorated plan lines)
    change = ans & (rng.random(n) < 0.03)
    phone = labels(tuple("phone:" + p for p in PLANS), np.maximum(pop.phone_plan, 0))
    add(ans & ~change, phone, "2026-01-01")
    add(change, phone, "2026-01-01", valid_to=mid)
    add(change, labels(tuple("phone:" + p for p in PLANS), (np.maximum(pop.phone_plan, 0) + 1) % len(PLANS)), mid)
    msg_plan = _code(rng, PLAN_SHARES, n)
    add(pop.messaging, labels(tuple("messaging:" + p for p in PLANS), msg_plan), "2026-07-01",
        json.dumps({"aht_s": 240}))
    r = rng.random((5, n))
    add(ans & (r[0] < 0.10), "option:reports_mail_unlimited", "2026-01-01")
    add(ans & (r[1] < 0.05), "option:sms_bundle_75", "2026-01-01")
    add(ans & (r[2] < 0.10), "option:voice_response", "2026-01-01")
    add(ans & (r[3] < 0.01), "option:monthly_specification", "2026-01-01")
    add(ans & (r[4] < 0.03), "direct:package_5h", "2026-01-01")
    add(pop.family == 1, "servicepack:10h", (first - timedelta(days=20)).isoformat())
    add(pop.family == 2, "klippekort:30", (first - timedelta(days=40)).isoformat())
    add(pop.family == 3, "interact:HUB", "2026-01-01")
    add(pop.family == 3, "interact:users", "2026-01-01", quantity=5)
    add(pop.family == 4, "remote:standard", "2026-01-01")
    return pl.concat(parts).sort("subscriber_id", "product", "valid_from")


# --- usage feeds -------------------------------------------------------------------

def _weights(rng: np.random.Generator, n: int, sigma: float = 1.0) -> np.ndarray:
    w = rng.lognormal(0.0, sigma, n)
    return w / w.sum()


def _calls_chunk(spec: SynthSpec, pop: Population, chunk: int, base: int, n: int,
                 pool: np.ndarray, p: np.ndarray) -> pl.DataFrame:
    rng = np.random.default_rng([spec.seed, 1, chunk])
    first, days = _month_bounds(spec.month)
    n_in = max(1, min(n, int(round(n * 0.80))))
    n_leg = n - n_in
    sub = pool[rng.choice(len(pool), n_in, p=p)]
    unknown = rng.random(n_in) < 1e-5
    start = _local_times(rng, n_in, first, days, OUTSIDE_HOURS_SHARE)
    answered = rng.random(n_in) < 0.92
    answered[0] = True  # legs need an answered parent
    sub[0] = pool[0]
    ring = rng.integers(2, 30, n_in)
    talk = np.clip(rng.lognormal(np.log(95.0), 0.85, n_in), 3, 5400).astype(np.int64)
    talk[~answered] = 0
    ans_at = start + ring
    end = ans_at + talk  # unanswered: ringing ended (talk 0)
    rr = rng.random(n_in)
    report = np.where(answered & (rr < 0.06), 1, np.where(answered & (rr < 0.09), 2, 0))  # "", mail, sms
    caller = 600_000_000 + rng.integers(0, 100_000_000, n_in)

    parents = np.flatnonzero(answered & (pop.family[sub] == 0))  # legs: answering subscribers only
    if not len(parents):
        parents = np.flatnonzero(answered)
    pi = parents[rng.integers(0, len(parents), n_leg)]
    leg_type = (rng.random(n_leg) >= 0.6).astype(np.int64)  # transfer, outbound
    leg_start = ans_at[pi] + rng.integers(5, 90, n_leg)
    leg_answered = rng.random(n_leg) < 0.75
    leg_ring = rng.integers(2, 20, n_leg)
    leg_talk = np.clip(rng.lognormal(np.log(70.0), 0.9, n_leg), 1, 3600).astype(np.int64)
    leg_talk[~leg_answered] = 0
    leg_ans = leg_start + leg_ring
    leg_end = leg_ans + leg_talk
    home = pop.country[sub[pi]]
    foreign = len(COUNTRIES) + rng.integers(0, len(FOREIGN), n_leg)
    dest = np.where(rng.random(n_leg) < 0.88, home, foreign)  # index into COUNTRIES + FOREIGN

    in_ids = numbered_ids("C", base + np.arange(n_in), 10)
    sid_in = pop.sid(sub)
    if unknown.any():
        sid_in = pl.select(pl.when(pl.Series(unknown)).then(pl.lit(UNKNOWN_SUBSCRIBER)).otherwise(sid_in)).to_series()
    inbound = pl.DataFrame({
        "call_id": in_ids,
        "subscriber_id": sid_in,
        "call_type": pl.repeat("inbound", n_in, eager=True),
        "parent_call_id": pl.repeat(None, n_in, dtype=pl.String, eager=True),
        "started_at": utc_instants(start),
        "answered_at": utc_instants(ans_at, answered),
        "ended_at": utc_instants(end),
        "talk_s": pl.Series(talk),
        "caller_number": pl.select(pl.lit("+31") + pl.Series(caller).cast(pl.String)).to_series(),
        "destination_country": pl.repeat(None, n_in, dtype=pl.String, eager=True),
        "report": labels(("", "mail", "sms"), report),
    })
    legs = pl.DataFrame({
        "call_id": numbered_ids("C", base + n_in + np.arange(n_leg), 10),
        "subscriber_id": sid_in.gather(pl.Series(pi)),
        "call_type": labels(("transfer", "outbound"), leg_type),
        "parent_call_id": in_ids.gather(pl.Series(pi)),
        "started_at": utc_instants(leg_start),
        "answered_at": utc_instants(leg_ans, leg_answered),
        "ended_at": utc_instants(leg_end),
        "talk_s": pl.Series(leg_talk),
        "caller_number": pl.repeat(None, n_leg, dtype=pl.String, eager=True),
        "destination_country": labels(COUNTRIES + FOREIGN, dest),
        "report": pl.repeat("", n_leg, eager=True),
    })
    return pl.concat([inbound, legs]).sort("started_at", "call_id")


def _interactions_chunk(spec: SynthSpec, pop: Population, chunk: int, base: int, n: int) -> pl.DataFrame:
    rng = np.random.default_rng([spec.seed, 2, chunk])
    first, days = _month_bounds(spec.month)
    msg = np.flatnonzero(pop.messaging)
    if not len(msg):
        msg = np.flatnonzero(pop.family == 0)
    packs = np.flatnonzero(pop.family == 1)
    wrng = np.random.default_rng([spec.seed, 3])
    w_msg = _weights(wrng, len(msg))
    to_pack = (rng.random(n) < 0.10) & (len(packs) > 0)
    sub = np.where(to_pack, packs[rng.integers(0, max(len(packs), 1), n)] if len(packs) else 0,
                   msg[rng.choice(len(msg), n, p=w_msg)])
    channel = np.where(to_pack, _code(rng, (.4, .2, .1, .3), n), _code(rng, (.45, .35, .2), n))
    start = _local_times(rng, n, first, days, OUTSIDE_HOURS_SHARE)
    handle = np.clip(rng.lognormal(np.log(230.0), 0.5, n), 20, 3600).astype(np.int64)
    end = start + handle + rng.integers(0, 900, n)
    return pl.DataFrame({
        "interaction_id": numbered_ids("I", base + np.arange(n), 10),
        "subscriber_id": pop.sid(sub),
        "channel": labels(("email", "chat", "whatsapp", "webticket"), channel),
        "started_at": utc_instants(start),
        "ended_at": utc_instants(end),
        "handle_s": pl.Series(handle),
        "agent_id": numbered_ids("A", rng.integers(1, 400, n), 4),
    }).sort("started_at", "interaction_id")


def _worklogs(spec: SynthSpec, pop: Population) -> pl.DataFrame:
    rng = np.random.default_rng([spec.seed, 4])
    first, days = _month_bounds(spec.month)
    n = spec.worklogs
    acts = ("phone", "email", "remote", "onsite", "training", "admin")
    groups = {  # family index → (share, activity shares over `acts`)
        0: (0.30, (0, 0, 0, 0, 0.4, 0.6)),
        1: (0.25, (0.3, 0.2, 0.3, 0.2, 0, 0)),
        2: (0.25, (0.3, 0, 0.4, 0.3, 0, 0)),
        4: (0.20, (0, 0, 1.0, 0, 0, 0)),
    }
    present = {f: g for f, g in groups.items() if (pop.family == f).any()}
    fams = np.asarray(list(present))
    shares = np.asarray([g[0] for g in present.values()])
    fam = fams[rng.choice(len(fams), n, p=shares / shares.sum())]
    sub = np.zeros(n, dtype=np.int64)
    activity = np.zeros(n, dtype=np.int64)
    for f, (_, ashares) in present.items():  # a loop over 4 families, not records
        m = fam == f
        members = np.flatnonzero(pop.family == f)
        sub[m] = members[rng.integers(0, len(members), int(m.sum()))]
        activity[m] = _code(rng, ashares, int(m.sum()))
    start = _local_times(rng, n, first, days, 0.05, weekdays_only=True, hours=(8, 16))
    minutes = np.clip(rng.lognormal(np.log(40.0), 0.7, n), 5, 480).astype(np.int64)
    onsite = activity == 3
    tenths = rng.integers(50, 1500, n)
    km = pl.select(pl.when(pl.Series(onsite)).then(
        pl.Series(tenths // 10).cast(pl.String) + pl.lit(".") + pl.Series(tenths % 10).cast(pl.String))
        .otherwise(None)).to_series()
    return pl.DataFrame({
        "worklog_id": numbered_ids("W", np.arange(n), 8),
        "subscriber_id": pop.sid(sub),
        "activity": labels(acts, activity),
        "started_at": utc_instants(start),
        "minutes": pl.Series(minutes),
        "km": km,
        "consultant": pl.select(pl.lit("Consultant ") + pl.Series(rng.integers(1, 40, n)).cast(pl.String)).to_series(),
        "description": pl.select(pl.lit("Synthetic task, ref \"") + pl.Series(np.arange(n)).cast(pl.String)
                                 + pl.lit("\"")).to_series(),
    }).sort("started_at", "worklog_id")


# --- writing -----------------------------------------------------------------------

def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    write_atomically(path, lambda tmp: df.write_parquet(tmp, compression="zstd", statistics=True,
                                                        row_group_size=122_880))


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(size, total - lo)) for lo in range(0, total, size)]


def generate(root: Path | str, spec: SynthSpec, progress=None) -> dict:
    """Writes the inbox of `root` (replacing any generated files there) and a manifest."""
    root = Path(root)
    inbox = root / "inbox"
    for feed in ("subscribers", "subscriptions", "calls", "interactions", "worklogs"):
        d = inbox / feed
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    (root / MANIFEST).unlink(missing_ok=True)
    say = progress or (lambda msg: None)

    rng = np.random.default_rng([spec.seed, 0])
    pop = _population(spec, rng)
    subs = _subscribers_frame(pop)
    subs.write_csv(inbox / "subscribers" / "subscribers.csv")
    contracts = _subscriptions_frame(spec, pop, rng)
    contracts.write_csv(inbox / "subscriptions" / "subscriptions.csv")
    say(f"subscribers {len(subs):,}, subscription rows {len(contracts):,}")

    callers = np.flatnonzero((pop.family == 0) | (pop.family == 1))
    wrng = np.random.default_rng([spec.seed, 5])
    p = _weights(wrng, len(callers)) * np.where(pop.family[callers] == 1, 0.3, 1.0)
    p = p / p.sum()
    counts = {"subscribers": len(subs), "subscription_rows": len(contracts), "calls": 0, "interactions": 0,
              "worklogs": 0, "files": 2}
    for k, (lo, n) in enumerate(_chunks(spec.calls, spec.chunk_rows)):
        df = _calls_chunk(spec, pop, k, lo, n, callers, p)
        _write_parquet(df, inbox / "calls" / f"calls-{k + 1:04d}.parquet")
        counts["calls"] += len(df)
        counts["files"] += 1
        say(f"calls file {k + 1}: {len(df):,} rows")
    for k, (lo, n) in enumerate(_chunks(spec.n_interactions, spec.chunk_rows)):
        df = _interactions_chunk(spec, pop, k, lo, n)
        _write_parquet(df, inbox / "interactions" / f"interactions-{k + 1:04d}.parquet")
        counts["interactions"] += len(df)
        counts["files"] += 1
    if spec.worklogs:
        df = _worklogs(spec, pop)
        _write_parquet(df, inbox / "worklogs" / "worklogs-0001.parquet")
        counts["worklogs"] = len(df)
        counts["files"] += 1
    say(f"interactions {counts['interactions']:,}, worklogs {counts['worklogs']:,}")
    manifest = {"spec": spec.key(), "counts": counts,
                "bytes": sum(f.stat().st_size for f in inbox.rglob("*") if f.is_file())}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def ensure(root: Path | str, spec: SynthSpec, progress=None) -> tuple[dict, bool]:
    """The manifest of the data under `root`, generating it when absent or made with
    other arguments. Returns (manifest, generated_now)."""
    path = Path(root) / MANIFEST
    if path.exists():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if manifest.get("spec") == spec.key():
                return manifest, False
        except (OSError, ValueError):
            pass
    return generate(root, spec, progress), True
