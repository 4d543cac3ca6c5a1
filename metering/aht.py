"""Quarterly AHT evaluation (pricing M3): the AHT_pre in force per quarter, chained
from the first messaging row's `aht_s`, re-established after a quarter whose actual
mean handling time deviates by 10 % or more."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from metering.money import round_int_half_up
from metering.periods import Quarter


@dataclass(frozen=True)
class Evaluation:
    quarter: Quarter
    interactions: int
    handle_s: int
    old: int
    new: int
    decision: str  # kept | re-established | no interactions

    @property
    def actual(self) -> Fraction | None:
        return Fraction(self.handle_s, self.interactions) if self.interactions else None

    @property
    def deviation(self) -> Fraction | None:
        a = self.actual
        # relative to the old AHT_pre; undefined (None) when that is 0 s
        return None if a is None or self.old == 0 else (a - self.old) / self.old

    def as_dict(self) -> dict:
        a, d = self.actual, self.deviation
        return {
            "quarter": str(self.quarter),
            "interactions": self.interactions,
            "actual": None if a is None else _dec(a, 2),
            "old": self.old,
            "new": self.new,
            "deviation": None if d is None else _dec(d, 4),
            "decision": self.decision,
        }


def _dec(value: Fraction, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(q))


def evaluate_chain(initial: int, start: Quarter, through: Quarter,
                   stats: dict[Quarter, tuple[int, int]], threshold: Decimal) -> list[Evaluation]:
    """Evaluations of every quarter from `start` to `through` inclusive; the AHT_pre in
    force in quarter q is the `old` of q's evaluation. `stats`: quarter → (count, Σ handle_s)."""
    out: list[Evaluation] = []
    current = initial
    q = start
    limit = Fraction(threshold)
    while q <= through:
        n, total = stats.get(q, (0, 0))
        if n == 0:
            out.append(Evaluation(q, 0, 0, current, current, "no interactions"))
        else:
            actual = Fraction(total, n)
            if abs(actual - current) >= limit * current:  # M3 as written (also when current is 0)
                new = round_int_half_up(actual)
                out.append(Evaluation(q, n, total, current, new, "re-established"))
                current = new
            else:
                out.append(Evaluation(q, n, total, current, current, "kept"))
        q = q.next()
    return out


def in_force(evaluations: list[Evaluation], quarter: Quarter) -> int | None:
    for e in evaluations:
        if e.quarter == quarter:
            return e.old
    return None


def evaluation_rows(chains: dict[str, list[Evaluation]], quarters: set[Quarter]) -> list[dict]:
    """Rows of the aht_evaluations table for the given quarters, subscriber order."""
    out = []
    for sid in sorted(chains):
        for e in chains[sid]:
            if e.quarter in quarters:
                d = e.as_dict()
                out.append({"quarter": d["quarter"], "subscriber_id": sid, "interactions": e.interactions,
                            "handle_s": e.handle_s, "actual_s": d["actual"], "aht_old": e.old, "aht_new": e.new,
                            "deviation": d["deviation"], "decision": e.decision})
    return out
