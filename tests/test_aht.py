"""AHT surcharge and quarterly evaluation (pricing.md M2, M3), checked independently:
the chain rule on its own (metering.aht.evaluate_chain) and end to end over several
quarters (the evaluation on the quarter's last month, the next quarter's AHT_pre pricing
M2), with hand computations in the comments."""
from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import bill
from test_answering import at, interaction, lines, row, spec_of, utc, workspace

from metering.aht import evaluate_chain, in_force
from metering.periods import Quarter

Q3, Q4 = Quarter(2026, 3), Quarter(2026, 4)
TEN = Decimal("0.10")


# --- the chain rule (M3) -----------------------------------------------------------------------

@pytest.mark.parametrize("pre, handles, new, decision", [
    (1000, [1099], 1000, "kept"),             # +9.9 %: |99| < 100 → kept
    (1000, [901], 1000, "kept"),              # −9.9 %
    (200, [220], 220, "re-established"),      # +10 % exactly: |20| ≥ 20 → half-up(220) = 220
    (200, [219, 221], 220, "re-established"),  # mean 220: +10 %
    (200, [180], 180, "re-established"),      # −10 % exactly
    (200, [219, 220], 200, "kept"),           # mean 219.5: +9.75 %
    (199, [219, 220], 220, "re-established"),  # mean 219.5: |20.5| ≥ 19.9 → half-up(219.5) = 220
    (200, [181, 180], 200, "kept"),           # mean 180.5: −9.75 % (unrounded until compared)
    (201, [180, 181], 181, "re-established"),  # mean 180.5: |20.5| ≥ 20.1 → half-up(180.5) = 181
])
def test_evaluation_threshold_and_half_up(pre, handles, new, decision):
    chain = evaluate_chain(pre, Q3, Q4, {Q3: (len(handles), sum(handles))}, TEN)
    e = chain[0]
    assert (e.quarter, e.old, e.new, e.decision) == (Q3, pre, new, decision)
    assert in_force(chain, Q3) == pre   # the quarter is priced at the AHT_pre it started with
    assert in_force(chain, Q4) == new   # the next quarter at the outcome


def test_quarter_without_interactions_keeps_aht_pre():
    # Q3 no interactions → kept at 240; Q4 mean 300 → +25 % → 300 from 2027-Q1.
    chain = evaluate_chain(240, Q3, Quarter(2027, 1), {Q4: (2, 600)}, TEN)
    assert [(str(e.quarter), e.old, e.new, e.decision) for e in chain] == [
        ("2026-Q3", 240, 240, "no interactions"), ("2026-Q4", 240, 300, "re-established"),
        ("2027-Q1", 300, 300, "no interactions")]
    assert chain[0].as_dict()["actual"] is None and chain[0].as_dict()["deviation"] is None


def test_aht_pre_of_zero_seconds():
    # aht_s 0 is a valid whole number of seconds. M3 as written: |actual − 0| ≥ 10 % × 0 always
    # holds → re-established to half-up(actual); the relative deviation is undefined → None
    # (it used to raise ZeroDivisionError and stop the whole run in the quarter's last month).
    e = evaluate_chain(0, Q3, Q3, {Q3: (2, 301)}, TEN)[0]
    assert (e.old, e.new, e.decision) == (0, 151, "re-established")  # 150.5 → 151
    assert e.as_dict()["deviation"] is None and e.as_dict()["actual"] == "150.50"
    same = evaluate_chain(0, Q3, Q3, {Q3: (1, 0)}, TEN)[0]
    assert (same.old, same.new) == (0, 0)


def test_evaluation_as_data():
    # 2 interactions 219 + 220 against 199: actual 219.5, deviation 20.5 / 199 = 0.10301… → "0.1030"
    e = evaluate_chain(199, Q3, Q3, {Q3: (2, 439)}, TEN)[0]
    assert e.as_dict() == {"quarter": "2026-Q3", "interactions": 2, "actual": "219.50", "old": 199,
                           "new": 220, "deviation": "0.1030", "decision": "re-established"}


# --- end to end ----------------------------------------------------------------------------------

def test_quarterly_aht_end_to_end(tmp_path):
    """Messaging PLUS (24/7, no allowance) from 1 Jul 2026 for every subscriber but E.
    M2 per interaction: max(AHT_pre − 180, 0) s × 1.64 / 60, one line per month (G2).
    PLUS interactions: ranks 1–50 at 3.30. September and October have 30 and 31 days;
    a full month's PLUS fee is 60.45."""
    subs = ("A", "B", "C", "D", "E", "F", "Z")
    rows = [row("messaging:PLUS", "2026-07-01", params={"aht_s": aht}, sub=s)
            for s, aht in (("A", 200), ("B", 1000), ("C", 200), ("D", 240), ("F", 1000), ("Z", 0))]
    # E: first row PLUS Jul–Sep with aht_s 199, then SMART from 1 Oct with aht_s 500 (ignored: M3)
    rows += [row("messaging:PLUS", "2026-07-01", "2026-10-01", params={"aht_s": 199}, sub="E"),
             row("messaging:SMART", "2026-10-01", params={"aht_s": 500}, sub="E")]
    items = [
        # A: Q3 219 (Aug) + 221 (Sep) → mean 220 = +10 % → re-established 220.
        #    A webticket in Q3 (never answering; an anomaly) must not count in the mean.
        #    30 Sep 22:30 UTC = 1 Oct 00:30 local: Q4, not Q3 (G3).
        interaction("A1", at(10, month=8), 219, sub="A"), interaction("A2", at(10, month=9), 221, sub="A"),
        interaction("A-web", at(11, month=9), 9999, sub="A", channel="webticket"),
        interaction("A3", utc("2026-09-30T22:30:00Z"), 5000, sub="A"),
        interaction("A4", at(5), 100, sub="A"), interaction("A5", at(6), 100, sub="A"),
        # B: Q3 1099 against 1000 → +9.9 % → kept 1000
        interaction("B1", at(15, month=9), 1099, sub="B"), interaction("B2", at(5), 100, sub="B"),
        # C: Q3 180 against 200 → −10 % → re-established 180 (October surcharge 0: no line)
        interaction("C1", at(15, month=9), 180, sub="C"), interaction("C2", at(5), 100, sub="C"),
        interaction("C3", at(6), 100, sub="C"),
        # D: no interactions in Q3 → kept 240
        interaction("D1", at(5), 100, sub="D"),
        # E: Q3 219 + 220 (Aug) against 199 → mean 219.5, +10.3 % → half-up 220
        interaction("E1", at(3, month=8), 219, sub="E"), interaction("E2", at(4, month=8), 220, sub="E"),
        interaction("E3", at(5), 100, sub="E"), interaction("E4", at(6), 100, sub="E"),
        # F: Q3 901 against 1000 → −9.9 % → kept
        interaction("F1", at(15, month=9), 901, sub="F"), interaction("F2", at(5), 100, sub="F"),
        # Z: aht_s 0 (no surcharge); Q3 150 → re-established 150, deviation undefined (None)
        interaction("Z1", at(15, month=9), 150, sub="Z"),
    ]
    ws = workspace(tmp_path, rows, interactions=items, subscribers=subs)

    aug = bill(ws, "2026-08")
    assert all(s["aht"] is None for s in aug.specs)  # the evaluation is shown in the quarter's last month
    # A in August: 1 interaction × 20 s × 1.64 / 60 = 0.5466… → 0.55
    assert lines(spec_of(aug, "A")) == sorted([("messaging.plan", "31", "60.45"),
                                               ("messaging.tier1", "1", "3.30"),
                                               ("messaging.aht", "20", "0.55")])

    sep = bill(ws, "2026-09")
    aht = {s["subscriber_id"]: s["aht"] for s in sep.specs}
    assert aht["A"] == {"quarter": "2026-Q3", "interactions": 2, "actual": "220.00", "old": 200, "new": 220,
                        "deviation": "0.1000", "decision": "re-established"}
    assert aht["B"] == {"quarter": "2026-Q3", "interactions": 1, "actual": "1099.00", "old": 1000, "new": 1000,
                        "deviation": "0.0990", "decision": "kept"}
    assert aht["C"] == {"quarter": "2026-Q3", "interactions": 1, "actual": "180.00", "old": 200, "new": 180,
                        "deviation": "-0.1000", "decision": "re-established"}
    assert aht["D"] == {"quarter": "2026-Q3", "interactions": 0, "actual": None, "old": 240, "new": 240,
                        "deviation": None, "decision": "no interactions"}
    assert aht["E"] == {"quarter": "2026-Q3", "interactions": 2, "actual": "219.50", "old": 199, "new": 220,
                        "deviation": "0.1030", "decision": "re-established"}
    assert aht["F"]["decision"] == "kept" and aht["F"]["new"] == 1000
    assert aht["Z"] == {"quarter": "2026-Q3", "interactions": 1, "actual": "150.00", "old": 0, "new": 150,
                        "deviation": None, "decision": "re-established"}
    assert lines(spec_of(sep, "Z")) == sorted([("messaging.plan", "30", "60.45"), ("messaging.tier1", "1", "3.30")])
    # A in September: Q3 is priced at the old 200: 1 × 20 s → 0.55 (the webticket is an anomaly)
    assert lines(spec_of(sep, "A")) == sorted([("messaging.plan", "30", "60.45"),
                                               ("messaging.tier1", "1", "3.30"),
                                               ("messaging.aht", "20", "0.55")])
    assert [(a.subscriber_id, a.record) for a in sep.anomalies] == [("A", "interactions/A-web")]
    # D in September: plan only (its spec exists and carries the evaluation)
    assert lines(spec_of(sep, "D")) == [("messaging.plan", "30", "60.45")]

    oct_ = bill(ws, "2026-10")
    assert all(s["aht"] is None for s in oct_.specs)
    got = {s["subscriber_id"]: dict((c, (q, a)) for c, q, a in lines(s)) for s in oct_.specs}
    # A: AHT_pre 220 → 3 interactions (A3 included) × 40 s = 120 s × 1.64 / 60 = 3.28; tier1 3 × 3.30 = 9.90
    assert got["A"] == {"messaging.plan": ("31", "60.45"), "messaging.tier1": ("3", "9.90"),
                        "messaging.aht": ("120", "3.28")}
    # B: kept 1000 → 820 s × 1.64 / 60 = 22.413… → 22.41
    assert got["B"]["messaging.aht"] == ("820", "22.41")
    # C: 180 → max(180 − 180, 0) = 0 → no surcharge line
    assert "messaging.aht" not in got["C"] and got["C"]["messaging.tier1"] == ("2", "6.60")
    # D: kept 240 → 60 s × 1.64 / 60 = 1.64
    assert got["D"]["messaging.aht"] == ("60", "1.64")
    # E: SMART (included ones pay M2 too): 2 × (220 − 180) = 80 s × 1.64 / 60 = 2.1866… → 2.19
    #    (with the later row's aht_s 500 it would be 640 s → 17.49)
    assert got["E"] == {"messaging.plan": ("31", "162.50"), "messaging.included": ("2", "0.00"),
                        "messaging.aht": ("80", "2.19")}
    assert got["F"]["messaging.aht"] == ("820", "22.41")

    # December shows 2026-Q4: A's actual = (5000 + 100 + 100) / 3 = 1733.33… against 220 → 1733
    dec = bill(ws, "2026-12")
    assert spec_of(dec, "A")["aht"] == {"quarter": "2026-Q4", "interactions": 3, "actual": "1733.33",
                                        "old": 220, "new": 1733, "deviation": "6.8788",
                                        "decision": "re-established"}
    assert spec_of(dec, "D")["aht"]["decision"] == "re-established"  # 100 against 240: −58 %
    assert spec_of(dec, "D")["aht"]["new"] == 100


def test_next_quarter_aht_prices_m2_across_the_year_end(tmp_path):
    # PLUS from 1 Oct 2026 with aht_s 240; Q4 interactions 300 + 301 → mean 300.5, +25.2 %
    # → AHT_pre from 2027-Q1 = half-up(300.5) = 301.
    # 31 Dec 23:30 UTC = 1 Jan 2027 00:30 local → Q1 2027 (priced at 301, counted in Q1).
    # December: 1 interaction × 60 s → 1.64.  January 2027: 2 × (301 − 180) = 242 s
    #   × 1.64 / 60 = 6.6146… → 6.61
    items = [interaction("I1", at(5), 300), interaction("I2", at(10, month=12), 301),
             interaction("I3", utc("2026-12-31T23:30:00Z"), 900), interaction("I4", at(5, month=1, year=2027), 50)]
    ws = workspace(tmp_path, [row("messaging:PLUS", "2026-10-01", params={"aht_s": 240})], interactions=items)
    dec = spec_of(bill(ws, "2026-12"))
    assert dec["aht"]["old"] == 240 and dec["aht"]["new"] == 301 and dec["aht"]["actual"] == "300.50"
    assert ("messaging.aht", "60", "1.64") in lines(dec)
    jan = spec_of(bill(ws, "2027-01"))
    assert jan["aht"] is None
    assert lines(jan) == sorted([("messaging.plan", "31", "60.45"), ("messaging.tier1", "2", "6.60"),
                                 ("messaging.aht", "242", "6.61")])
