"""Prepaid ledgers as running sums over sorted events, in Polars (pricing.md S3–S4, K5–K6).

No database and no state between runs: the pricing modules load the whole history
(purchase rows and the actions or draws that family rates, up to the end of the billing
month) of every subscriber and compute the ledgers here from the first event every time,
so billing months in any order gives the same ledger. Units and klip are whole numbers;
prices ride along unchanged (Decimal, by purchase row) for the caller to invoice.

The sequential walks these replace are kept as the test reference
(`tests/reference_ledgers.py`); tests/test_ledger_equivalence.py requires the same
movements from both for random histories.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import polars as pl

# --- service pack (S1–S4) --------------------------------------------------------------


@dataclass(frozen=True)
class PackPurchase:
    """A `servicepack:*` purchase row: credited at the start of `day`."""
    key: str                 # the row's reference, e.g. subscriptions/BE1/servicepack:1h/2026-10-01
    day: date
    pack: str                # 1h | 3h | 10h
    units: int
    price: Decimal           # what this row charges (its unit_price or the catalog price that day)
    auto_renew: bool
    order: tuple = ()        # tie-break among rows of one day ("most recent" = last)


@dataclass(frozen=True)
class PackAction:
    """A call, interaction or work log rated by service_pack."""
    day: date                # local date
    order: tuple             # (start instant, feed, record id) — S3 order
    record: str              # feed/id
    kind: str                # call | interaction | worklog
    units: int


@dataclass(frozen=True)
class PackMovement:
    day: date
    kind: str                # purchase | renewal | call | interaction | worklog
    record: str
    units: int               # signed: + credited, − consumed
    balance: int             # balance after this movement
    pack: str | None = None
    price: Decimal | None = None
    row: str | None = None   # purchase row that was bought (purchase) or repeated (renewal)


# Frames the vectorised service-pack ledger reads and writes. `ord` orders events of one
# subscriber and day: purchases by (row order, key), actions by (start, feed, id).
PACK_PURCHASE_SCHEMA = {"subscriber_id": pl.String, "day": pl.Date, "ord": pl.Int64, "key": pl.String,
                        "pack": pl.String, "units": pl.Int64, "auto_renew": pl.Boolean}
PACK_ACTION_SCHEMA = {"subscriber_id": pl.String, "day": pl.Date, "ord": pl.Int64, "record": pl.String,
                      "kind": pl.String, "units": pl.Int64}


def service_pack_movements(purchases: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """S2–S4 for every subscriber at once, as running sums (no walk per movement).

    In: `PACK_PURCHASE_SCHEMA` and `PACK_ACTION_SCHEMA` frames (pack units > 0, action
    units ≥ 0). Out, in ledger order per subscriber: subscriber_id, day, kind (purchase |
    renewal | the action's kind), record, units (signed), balance (after the movement),
    row (the purchase row bought or repeated; null for actions), pack (its pack).

    Order: per day, purchases (credited at the start of their day) then actions. Each
    purchase row starts a *segment* that it governs until the next row (S4's "most recent
    purchase row"): the pack size U and `auto_renew` are constant inside it. With E the
    balance right after the segment's purchase and D_i the units its actions consumed up
    to and including action i (non-decreasing), the renewals bought so far are
        K_i = max(0, (D_i − E) // U + 1)            (auto_renew; else 0)
    — the fewest packs that keep E − D_i + K_i·U above 0; since D_i never decreases, a
    running count and no running maximum. Action i renews K_i − K_(i−1) times; the
    balance after it is E − D_i + K_(i−1)·U, after its j-th renewal that plus j·U.

    The one sequential step is E per segment: it is the previous segment's closing
    balance plus the purchase, and that closing balance is piecewise (E − D, or
    U − (D − E) mod U once renewals happened), not a sum. It runs over the (few) segment
    summaries, one per purchase row, never over movements."""
    events = pl.concat([
        purchases.select(
            "subscriber_id", "day", pl.lit(0, pl.Int8).alias("phase"), "ord", pl.lit("purchase").alias("kind"),
            pl.col("key").alias("record"), "units", pl.col("key").alias("row"), pl.col("units").alias("pack_units"),
            "auto_renew"),
        actions.select(
            "subscriber_id", "day", pl.lit(1, pl.Int8).alias("phase"), "ord", "kind", "record", "units",
            pl.lit(None, pl.String).alias("row"), pl.lit(None, pl.Int64).alias("pack_units"),
            pl.lit(None, pl.Boolean).alias("auto_renew")),
    ]).sort("subscriber_id", "day", "phase", "ord")
    action = pl.col("phase") == 1
    events = events.with_columns(
        seg=(pl.col("phase") == 0).cast(pl.Int64).cum_sum().over("subscriber_id"),
        gov_row=pl.col("row").forward_fill().over("subscriber_id"),
        gov_units=pl.col("pack_units").forward_fill().over("subscriber_id").fill_null(0),
        gov_auto=pl.col("auto_renew").forward_fill().over("subscriber_id").fill_null(False),
    ).with_columns(
        used=pl.when(action).then(pl.col("units")).otherwise(0).cum_sum().over("subscriber_id", "seg"),
    )
    segments = events.group_by("subscriber_id", "seg", maintain_order=True).agg(
        bought=pl.when(pl.col("phase") == 0).then(pl.col("units")).otherwise(0).sum(),
        pack_units=pl.col("gov_units").first(), auto=pl.col("gov_auto").first(),
        used=pl.col("used").last(), acts=action.any())
    entry: list[int] = []
    sid_before, closing = None, 0
    for sid, bought, units, auto, used, acts in segments.select(
            "subscriber_id", "bought", "pack_units", "auto", "used", "acts").iter_rows():
        opening = (closing if sid == sid_before else 0) + bought
        entry.append(opening)
        closing = units - (used - opening) % units if auto and acts and used >= opening else opening - used
        sid_before = sid
    events = events.join(segments.select("subscriber_id", "seg", pl.Series("entry", entry, pl.Int64)),
                         on=["subscriber_id", "seg"], how="left", maintain_order="left")
    renewed = pl.when(action & pl.col("gov_auto") & (pl.col("used") >= pl.col("entry"))).then(
        (pl.col("used") - pl.col("entry")) // pl.col("gov_units") + 1).otherwise(0)
    events = events.with_columns(renewed=renewed).with_columns(
        renewed_before=pl.col("renewed").shift(1, fill_value=0).over("subscriber_id", "seg"))
    events = events.with_columns(
        balance=pl.col("entry") - pl.col("used") + pl.col("renewed_before") * pl.col("gov_units"),
        times=pl.col("renewed") - pl.col("renewed_before"),
        sub=pl.lit(0, pl.Int64),
        units=pl.when(action).then(-pl.col("units")).otherwise(pl.col("units")))
    renewals = events.filter(pl.col("times") > 0).with_columns(
        sub=pl.int_ranges(1, pl.col("times") + 1)).explode("sub").with_columns(
        kind=pl.lit("renewal"), units=pl.col("gov_units"),
        balance=pl.col("balance") + pl.col("sub") * pl.col("gov_units"), row=pl.col("gov_row"))
    cols = ["subscriber_id", "day", "phase", "ord", "sub", "kind", "record", "units", "balance", "row"]
    moves = pl.concat([events.select(cols), renewals.select(cols)]).sort(
        "subscriber_id", "day", "phase", "ord", "sub")
    packs = purchases.select("subscriber_id", pl.col("key").alias("row"), "pack")
    return moves.join(packs, on=["subscriber_id", "row"], how="left", maintain_order="left").select(
        "subscriber_id", "day", "kind", "record", "units", "balance", "row", "pack")


def service_pack_ledger(purchases: list[PackPurchase], actions: list[PackAction]) -> list[PackMovement]:
    """One subscriber's ledger as movements, through `service_pack_movements` (the
    production path works on frames of every subscriber at once; this is the same
    function for a list of events, as tests and small callers hold them)."""
    rows_sorted = sorted(purchases, key=lambda p: (p.day, p.order, p.key))
    acts_sorted = sorted(actions, key=lambda a: (a.day, a.order, a.record))
    by_key = {p.key: p for p in rows_sorted}
    bought = pl.DataFrame({
        "subscriber_id": [""] * len(rows_sorted), "day": [p.day for p in rows_sorted],
        "ord": list(range(len(rows_sorted))), "key": [p.key for p in rows_sorted],
        "pack": [p.pack for p in rows_sorted], "units": [p.units for p in rows_sorted],
        "auto_renew": [p.auto_renew for p in rows_sorted]}, schema=PACK_PURCHASE_SCHEMA)
    acts = pl.DataFrame({
        "subscriber_id": [""] * len(acts_sorted), "day": [a.day for a in acts_sorted],
        "ord": list(range(len(acts_sorted))), "record": [a.record for a in acts_sorted],
        "kind": [a.kind for a in acts_sorted], "units": [a.units for a in acts_sorted]}, schema=PACK_ACTION_SCHEMA)
    out = []
    for day, kind, record, units, balance, row, pack in service_pack_movements(bought, acts).select(
            "day", "kind", "record", "units", "balance", "row", "pack").iter_rows():
        price = by_key[row].price if row is not None else None
        out.append(PackMovement(day, kind, record, units, balance, pack, price, row))
    return out


# --- klippekort (K2–K6) ----------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """Same day and month `years` later; 29 February → 28 February (K6)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class CardPurchase:
    """A `klippekort:10|20|30` purchase row: usable from `day`."""
    key: str                 # row reference
    card_id: str
    day: date
    product: str
    klip: int
    price: Decimal
    auto_renew: bool
    order: tuple = ()        # row order among rows of one day


@dataclass(frozen=True)
class KlipDraw:
    """An add-on draw (phase 0) or a task (phase 1) needing `klip` on `day`."""
    day: date
    phase: int
    order: tuple
    record: str
    klip: int


@dataclass
class Card:
    card_id: str
    product: str
    purchase_date: date
    size: int
    price: Decimal
    remaining: int
    row: str                  # the purchase row it was bought as (or a renewal of)
    last_use: date | None = None
    forfeited: int = 0

    def forfeit_date(self, unused_years: int, max_years: int) -> date:
        """K6: start of the day `unused_years` after the last use (the purchase date if
        never used), and in any case `max_years` after the purchase date."""
        return min(add_years(self.last_use or self.purchase_date, unused_years),
                   add_years(self.purchase_date, max_years))


@dataclass(frozen=True)
class KlipMovement:
    day: date
    kind: str                # purchase | renewal | draw | overflow | forfeit
    card_id: str | None      # None for overflow
    klip: int                # signed: + credited, − drawn, forfeited, or invoiced as overflow
    balance: int | None      # the card's remaining klip after the movement (None: overflow)
    record: str | None = None  # the draw (task or add-on) or purchase row
    price: Decimal | None = None
    product: str | None = None


@dataclass
class KlipLedger:
    cards: list[Card] = field(default_factory=list)
    movements: list[KlipMovement] = field(default_factory=list)
    # record → [(card_id or None for overflow, klip)]
    allocations: dict[str, list[tuple[str | None, int]]] = field(default_factory=dict)


CARD_SCHEMA = {"subscriber_id": pl.String, "day": pl.Date, "ord": pl.Int64, "key": pl.String, "card_id": pl.String,
               "product": pl.String, "klip": pl.Int64, "auto_renew": pl.Boolean}
DRAW_SCHEMA = {"subscriber_id": pl.String, "day": pl.Date, "ord": pl.Int64, "record": pl.String, "klip": pl.Int64}


def klippekort_ledger(purchases: list[CardPurchase], draws: list[KlipDraw], end: date,
                      unused_years: int, max_years: int) -> KlipLedger:
    """One subscriber's klippekort ledger (`klippekort_ledgers` for a single history)."""
    return klippekort_ledgers({"": purchases}, {"": draws}, end, unused_years, max_years)[""]


def klippekort_ledgers(purchases: dict[str, list[CardPurchase]], draws: dict[str, list[KlipDraw]], end: date,
                       unused_years: int, max_years: int) -> dict[str, KlipLedger]:
    """K2, K4–K6 for every subscriber, up to `end` (exclusive): vectorised draws
    (`_klip_movements`) wherever no card reaches its forfeit date; the sequential walk
    (`_klippekort_walk`) for the subscribers whose cards do.

    The vectorised ledger assumes no forfeiture. Until a ledger's first forfeiture it is
    the walk's ledger event for event, so a card that, in it, keeps klip for
    `unused_years` without a draw or up to `max_years` after purchase (in days, at least
    365 per year: never too late) marks the subscriber for the walk. Forfeiture needs 3
    idle years, so nearly every ledger takes the running sums."""
    sids = sorted(set(purchases) | set(draws))
    card_rows: dict[str, list] = {c: [] for c in CARD_SCHEMA}
    draw_rows: dict[str, list] = {c: [] for c in DRAW_SCHEMA}
    for sid in sids:
        for i, p in enumerate(sorted(purchases.get(sid, []), key=lambda p: (p.day, p.order, p.key))):
            for c, v in zip(CARD_SCHEMA, (sid, p.day, i, p.key, p.card_id, p.product, p.klip, p.auto_renew)):
                card_rows[c].append(v)
        for i, d in enumerate(sorted(draws.get(sid, []), key=lambda d: (d.day, d.phase, d.order, d.record))):
            for c, v in zip(DRAW_SCHEMA, (sid, d.day, i, d.record, d.klip)):
                draw_rows[c].append(v)
    cards, moves = _klip_movements(pl.DataFrame(card_rows, schema=CARD_SCHEMA),
                                   pl.DataFrame(draw_rows, schema=DRAW_SCHEMA), end)
    rows = {p.key: p for ps in purchases.values() for p in ps}
    idle_days, life_days = 365 * unused_years, 365 * max_years
    at_risk = set(cards.filter(
        (pl.col("longest_idle") >= idle_days) | ((pl.col("held_until") - pl.col("day")).dt.total_days() >= life_days)
    ).get_column("subscriber_id").unique().to_list())
    out: dict[str, KlipLedger] = {}
    for sid in sids:
        if sid in at_risk:
            out[sid] = _klippekort_walk(purchases.get(sid, []), draws.get(sid, []), end, unused_years, max_years)
        else:
            out[sid] = KlipLedger()
    for sid, card_id, product, day, size, remaining, row, last_use in cards.filter(
            ~pl.col("subscriber_id").is_in(list(at_risk))).select(
            "subscriber_id", "card_id", "product", "day", "klip", "remaining", "row", "last_use").iter_rows():
        out[sid].cards.append(Card(card_id, product, day, size, rows[row].price, remaining, row, last_use=last_use))
    for sid, day, kind, card_id, klip, balance, record, row, product in moves.filter(
            ~pl.col("subscriber_id").is_in(list(at_risk))).select(
            "subscriber_id", "day", "kind", "card_id", "klip", "balance", "record", "row", "product").iter_rows():
        led = out[sid]
        price = rows[row].price if kind in ("purchase", "renewal") else None
        led.movements.append(KlipMovement(day, kind, card_id, klip, balance, record, price, product))
        if kind in ("draw", "overflow"):
            led.allocations.setdefault(record, []).append((card_id, -klip))
    return out


def _klip_movements(purchases: pl.DataFrame, draws: pl.DataFrame, end: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """K2, K4, K5 as running sums, assuming no card forfeits (see `klippekort_ledgers`).

    Each purchase row governs a segment of draws until the next row (K5's "most recent
    purchase row"). With A the klip left on all cards right after the segment's
    purchase and X_i the klip its draws needed up to and including draw i:
    auto_renew: the cards renewed so far are K_i = max(0, ceil((X_i − A) / U)), U the
    row's card size, and nothing overflows; otherwise the overflow up to draw i is
    max(0, X_i − A). The klip left after a segment, max(0, A + K·U − X), carries into
    the next: that one step runs over segment summaries (one per purchase row).

    Oldest card first, and no forfeiture, make the allocation an identity of two running
    sums: cards in the order they were bought (purchases and renewals) lay out the
    klip supplied, draws in order the klip taken; draw i takes the supplied klip
    [P_(i−1), P_i) — an interval join, no card list walked. A renewal card is listed
    just before the draw that takes from it, overflow after the draw's cards.

    Returns (cards, movements): cards with subscriber_id, card_id, product, day, klip,
    remaining, row, renewal, last_use, longest_idle (days between the purchase, its
    draws and the day it ran out or `end`), held_until (that last day); movements with
    subscriber_id, day, kind, card_id, klip (signed), balance, record, row, product."""
    events = pl.concat([
        purchases.filter(pl.col("day") < end).select(
            "subscriber_id", "day", pl.lit(0, pl.Int8).alias("phase"), "ord", pl.col("key").alias("record"),
            pl.lit(0, pl.Int64).alias("need"), pl.col("key").alias("row"), "card_id", "product", "klip", "auto_renew"),
        draws.filter(pl.col("day") < end).select(
            "subscriber_id", "day", pl.lit(1, pl.Int8).alias("phase"), "ord", "record",
            pl.col("klip").alias("need"), pl.lit(None, pl.String).alias("row"),
            pl.lit(None, pl.String).alias("card_id"),
            pl.lit(None, pl.String).alias("product"), pl.lit(None, pl.Int64).alias("klip"),
            pl.lit(None, pl.Boolean).alias("auto_renew")),
    ]).sort("subscriber_id", "day", "phase", "ord")
    is_draw = pl.col("phase") == 1
    events = events.with_columns(
        seg=(pl.col("phase") == 0).cast(pl.Int64).cum_sum().over("subscriber_id"),
        gov_row=pl.col("row").forward_fill().over("subscriber_id"),
        gov_card=pl.col("card_id").forward_fill().over("subscriber_id"),
        gov_product=pl.col("product").forward_fill().over("subscriber_id"),
        gov_size=pl.col("klip").forward_fill().over("subscriber_id").fill_null(0),
        gov_auto=pl.col("auto_renew").forward_fill().over("subscriber_id").fill_null(False),
    ).with_columns(needed=pl.col("need").cum_sum().over("subscriber_id", "seg"))
    segments = events.group_by("subscriber_id", "seg", maintain_order=True).agg(
        bought=pl.col("klip").filter(pl.col("phase") == 0).sum(), size=pl.col("gov_size").first(),
        auto=pl.col("gov_auto").first(), needed=pl.col("needed").last())
    entry: list[int] = []
    sid_before, left = None, 0
    for sid, bought, size, auto, needed in segments.select(
            "subscriber_id", "bought", "size", "auto", "needed").iter_rows():
        opening = (left if sid == sid_before else 0) + bought
        entry.append(opening)
        renewed = -((opening - needed) // size) if auto and needed > opening else 0
        left = max(0, opening + renewed * size - needed)
        sid_before = sid
    events = events.join(segments.select("subscriber_id", "seg", pl.Series("entry", entry, pl.Int64)),
                         on=["subscriber_id", "seg"], how="left", maintain_order="left")
    short = pl.max_horizontal(pl.col("needed") - pl.col("entry"), pl.lit(0))   # klip beyond the segment's cards
    auto = is_draw & pl.col("gov_auto")
    events = events.with_columns(
        renewed=pl.when(auto).then(-(-short // pl.col("gov_size"))).otherwise(0),
        overflow_so_far=pl.when(is_draw & ~pl.col("gov_auto")).then(short).otherwise(0),
    ).with_columns(
        times=pl.col("renewed") - pl.col("renewed").shift(1, fill_value=0).over("subscriber_id", "seg"),
        overflow=pl.col("overflow_so_far") - pl.col("overflow_so_far").shift(1, fill_value=0).over(
            "subscriber_id", "seg"),
    ).with_columns(drawn=pl.col("need") - pl.col("overflow"))
    events = events.with_columns(taken_to=pl.col("drawn").cum_sum().over("subscriber_id"))

    # cards in the order bought: each purchase, then the renewals of each draw
    bought_cards = events.filter(pl.col("phase") == 0).select(
        "subscriber_id", "day", "phase", "ord", pl.lit(0, pl.Int64).alias("j"), "card_id", "product", "klip", "row",
        pl.lit(False).alias("renewal"), "record")
    renewal_cards = events.filter(pl.col("times") > 0).with_columns(j=pl.int_ranges(1, pl.col("times") + 1)).explode(
        "j").select(
        "subscriber_id", "day", "phase", "ord", "j",
        pl.col("gov_card").str.replace(r"/[^/]*$", "").alias("base"), pl.col("gov_product").alias("product"),
        pl.col("gov_size").alias("klip"), pl.col("gov_row").alias("row"), pl.lit(True).alias("renewal"), "record")
    renewal_cards = renewal_cards.with_columns(card_id=pl.concat_str(
        "base", pl.lit("/"), pl.col("day").dt.strftime("%Y-%m-%d"), pl.lit("#"),
        (pl.int_range(pl.len()).over("subscriber_id", "product", "day") + 1).cast(pl.String))).drop("base")
    cards = pl.concat([bought_cards, renewal_cards.select(bought_cards.columns)]).sort(
        "subscriber_id", "day", "phase", "ord", "j").with_columns(
        supplied_to=pl.col("klip").cum_sum().over("subscriber_id"),
        idx=pl.int_range(pl.len()).over("subscriber_id"))
    cards = cards.with_columns(supplied_from=pl.col("supplied_to") - pl.col("klip"))

    # each draw against the cards whose supplied interval it overlaps
    takes = events.filter(is_draw & (pl.col("drawn") > 0)).select(
        "subscriber_id", "day", "ord", "record", "taken_to", taken_from=pl.col("taken_to") - pl.col("drawn"))
    starts = cards.select("subscriber_id", "supplied_from", "idx").sort("subscriber_id", "supplied_from")
    takes = takes.sort("subscriber_id", "taken_from").join_asof(
        starts.rename({"idx": "first"}), left_on="taken_from", right_on="supplied_from", by="subscriber_id",
        strategy="backward", check_sortedness=False).drop("supplied_from").with_columns(
        last_at=pl.col("taken_to") - 1).sort("subscriber_id", "last_at").join_asof(
        starts.rename({"idx": "last"}), left_on="last_at", right_on="supplied_from", by="subscriber_id",
        strategy="backward", check_sortedness=False).drop("supplied_from")
    takes = takes.with_columns(idx=pl.int_ranges("first", pl.col("last") + 1)).explode("idx").join(
        cards.select("subscriber_id", "idx", "card_id", "product", "supplied_from", "supplied_to"),
        on=["subscriber_id", "idx"], how="left")
    takes = takes.with_columns(
        klip=-(pl.min_horizontal("taken_to", "supplied_to") - pl.max_horizontal("taken_from", "supplied_from")),
        balance=pl.col("supplied_to") - pl.min_horizontal("taken_to", "supplied_to"))

    # per card: remaining, last use, and how long it held klip without a draw
    uses = takes.group_by("subscriber_id", "idx").agg(
        drawn=-pl.col("klip").sum(), last_use=pl.col("day").max(), days=pl.col("day").unique().sort())
    cards = cards.join(uses, on=["subscriber_id", "idx"], how="left").with_columns(
        remaining=pl.col("klip") - pl.col("drawn").fill_null(0))
    held_until = pl.when(pl.col("remaining") > 0).then(pl.lit(end)).otherwise(pl.col("last_use"))
    stops = pl.concat_list(pl.col("day"), pl.col("days").fill_null(pl.lit([], pl.List(pl.Date))), held_until)
    cards = cards.with_columns(held_until=held_until, longest_idle=stops.list.eval(
        pl.element().diff().dt.total_days()).list.max().fill_null(0))

    cols = ["subscriber_id", "day", "phase", "ord", "idx", "step", "kind", "card_id", "klip", "balance", "record",
            "row", "product"]
    moves = pl.concat([
        cards.select("subscriber_id", "day", "phase", "ord", "idx", pl.lit(0, pl.Int64).alias("step"),
                     pl.when("renewal").then(pl.lit("renewal")).otherwise(pl.lit("purchase")).alias("kind"),
                     "card_id", "klip", pl.col("klip").alias("balance"), "record", "row", "product"),
        takes.select("subscriber_id", "day", pl.lit(1, pl.Int8).alias("phase"), "ord", "idx",
                     pl.lit(1, pl.Int64).alias("step"), pl.lit("draw").alias("kind"), "card_id", "klip", "balance",
                     "record", pl.lit(None, pl.String).alias("row"), "product"),
        events.filter(pl.col("overflow") > 0).select(
            "subscriber_id", "day", "phase", "ord", pl.lit(None, pl.Int64).alias("idx"),
            pl.lit(2, pl.Int64).alias("step"), pl.lit("overflow").alias("kind"),
            pl.lit(None, pl.String).alias("card_id"), (-pl.col("overflow")).alias("klip"),
            pl.lit(None, pl.Int64).alias("balance"), "record", pl.lit(None, pl.String).alias("row"),
            pl.lit(None, pl.String).alias("product")),
    ]).select(cols).sort("subscriber_id", "day", "phase", "ord", "idx", "step", nulls_last=True)
    return cards.sort("subscriber_id", "idx"), moves


def _klippekort_walk(purchases: list[CardPurchase], draws: list[KlipDraw], end: date,
                      unused_years: int, max_years: int) -> KlipLedger:
    """K2, K4–K6 and the finer points, from the first event up to `end` (exclusive).

    Within a day: forfeitures, purchases (rows in row order), add-on draws, tasks in
    start-time order (ties by id). Oldest card first (purchase date, then row order,
    renewals after the rows of their day); a card never goes negative; a draw may span
    cards. Missing klip: if the most recent purchase row dated on or before that day
    has auto_renew, as many cards of its size as the draw needs are bought that day at
    its price and drawn; otherwise (or with no card row at all) the missing klip are
    overflow. Forfeiture happens at the start of a card's forfeit date.

    The sequential walk, for the ledgers that reach a forfeiture (`klippekort_ledgers`):
    a forfeiture takes the remainder of whichever card's deadline comes first, that
    deadline moves with the card's last use, and the last use depends on which card
    earlier draws took — draws, forfeitures and deadlines feed back into each other one
    event at a time, which running sums cannot express."""
    led = KlipLedger()
    rows_sorted = sorted(purchases, key=lambda p: (p.day, p.order, p.key))
    draws_sorted = sorted(draws, key=lambda d: (d.day, d.phase, d.order, d.record))
    days = sorted({p.day for p in rows_sorted if p.day < end} | {d.day for d in draws_sorted if d.day < end})
    renewals_per_day: dict[tuple[str, date], int] = {}
    governing: CardPurchase | None = None
    pi = di = 0

    def forfeit_until(limit: date, inclusive: bool) -> None:
        while True:
            due = [(c.forfeit_date(unused_years, max_years), i, c) for i, c in enumerate(led.cards)
                   if c.remaining > 0]
            due = [d for d in due if (d[0] <= limit if inclusive else d[0] < limit)]
            if not due:
                return
            when, _, card = min(due, key=lambda d: (d[0], d[1]))
            lost = card.remaining
            card.remaining = 0
            card.forfeited += lost
            led.movements.append(KlipMovement(when, "forfeit", card.card_id, -lost, 0, None, Decimal("0"),
                                              card.product))

    def take(day: date, record: str, need: int) -> int:
        for card in led.cards:
            if need == 0:
                break
            if card.remaining <= 0:
                continue
            n = min(card.remaining, need)
            card.remaining -= n
            card.last_use = day
            need -= n
            led.allocations.setdefault(record, []).append((card.card_id, n))
            led.movements.append(KlipMovement(day, "draw", card.card_id, -n, card.remaining, record,
                                              None, card.product))
        return need

    for day in days:
        forfeit_until(day, inclusive=True)
        while pi < len(rows_sorted) and rows_sorted[pi].day <= day:
            p = rows_sorted[pi]
            pi += 1
            if p.day < day:  # pragma: no cover - every purchase day is an event day
                continue
            led.cards.append(Card(p.card_id, p.product, p.day, p.klip, p.price, p.klip, p.key))
            governing = p
            led.movements.append(KlipMovement(day, "purchase", p.card_id, p.klip, p.klip, p.key, p.price,
                                              p.product))
        while di < len(draws_sorted) and draws_sorted[di].day == day:
            d = draws_sorted[di]
            di += 1
            missing = take(day, d.record, d.klip)
            if missing and governing is not None and governing.auto_renew:
                while missing > 0:
                    k = (governing.product, day)
                    renewals_per_day[k] = renewals_per_day.get(k, 0) + 1
                    base = governing.card_id.rsplit("/", 1)[0]
                    card = Card(f"{base}/{day.isoformat()}#{renewals_per_day[k]}", governing.product, day,
                                governing.klip, governing.price, governing.klip, governing.key)
                    led.cards.append(card)
                    led.movements.append(KlipMovement(day, "renewal", card.card_id, card.size, card.size,
                                                      d.record, card.price, card.product))
                    missing = take(day, d.record, missing)
            if missing:
                led.allocations.setdefault(d.record, []).append((None, missing))
                led.movements.append(KlipMovement(day, "overflow", None, -missing, None, d.record))
    forfeit_until(end, inclusive=False)
    return led
