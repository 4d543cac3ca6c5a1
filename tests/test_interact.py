"""`interact` pricing (pricing.md I1–I4 and the finer points), end to end through
ingestion and billing, with exact amounts. October 2026 has 31 days."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import yaml

from metering.catalog import InteractTariff, tariffs_dir
from metering.contracts import Row
from metering.pricing.interact import _Contract, add_months, plans_of, remaining_months
from tests.helpers import bill, lines_by_code, write_feed


def sub(sid: str, country: str = "BE") -> dict:
    return {"subscriber_id": sid, "name": f"Customer {sid}", "country": country}


def row(sid: str, product: str, valid_from: str, valid_to: str | None = None, quantity: int = 1,
        params: dict | None = None) -> dict:
    return {"subscriber_id": sid, "product": product, "quantity": quantity, "valid_from": valid_from,
            "valid_to": valid_to, "params": json.dumps(params) if params else None}


def setup(ws, subscriptions: list[dict], subscribers: list[str] = ("S1",)) -> None:
    write_feed(ws, "subscribers", "subscribers.csv", [sub(s) for s in subscribers])
    write_feed(ws, "subscriptions", "subscriptions.csv", subscriptions)


def spec_of(result, sid: str) -> dict:
    found = [s for s in result.specs if s["subscriber_id"] == sid]
    assert len(found) == 1, [s["subscriber_id"] for s in result.specs]
    return found[0]


def lines_of(spec: dict, code: str) -> list[dict]:
    return [ln for ln in spec["lines"] if ln["code"] == code]


# --- worked example 4 ------------------------------------------------------------------

def test_worked_example_4(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-10-01"),
        row("S1", "interact:users", "2026-10-01", quantity=2),
        row("S1", "interact:generic_api", "2026-10-01"),
        row("S1", "interact:activation", "2026-10-01"),
        row("S1", "interact:channel", "2026-10-01", quantity=2),
        row("S1", "interact:api_activation", "2026-10-01"),
    ])
    result = bill(tmp_workspace, "2026-10")
    assert result.errors == []
    spec = spec_of(result, "S1")
    assert lines_by_code(spec) == {
        "interact.seats": "90.00", "interact.generic_api": "50.00", "interact.activation": "250.00",
        "interact.channel": "500.00", "interact.api_activation": "500.00"}
    seats = lines_of(spec, "interact.seats")[0]
    assert (seats["quantity"], seats["unit"], seats["unit_price"], seats["price_unit"]) == \
        ("93", "user-day", "30.00", "user-month")
    channel = lines_of(spec, "interact.channel")[0]
    assert (channel["quantity"], channel["unit_price"]) == ("2", "250.00")
    assert spec["subtotal"] == "1390.00"
    assert spec["vat"] == [{"rate": "0.21", "base": "1390.00", "amount": "291.90"}]
    assert spec["total"] == "1681.90"
    assert spec["currency"] == "EUR"
    assert (spec["issue_date"], spec["due_date"]) == ("2026-11-01", "2026-12-01")
    # One-offs belong to the month of valid_from only: November has seats and API.
    nov = spec_of(bill(tmp_workspace, "2026-11"), "S1")
    assert lines_by_code(nov) == {"interact.seats": "90.00", "interact.generic_api": "50.00"}


# --- I1 seats ----------------------------------------------------------------------------

def test_users_rising_from_2_to_5_mid_month(tmp_workspace):
    # 1–15 Oct: 2 users → 3 billable (minimum); 16–31 Oct: 5 users.
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-09-01"),
        row("S1", "interact:users", "2026-09-01", "2026-10-16", quantity=2),
        row("S1", "interact:users", "2026-10-16", quantity=5),
    ])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    [seats] = lines_of(spec, "interact.seats")
    # (15 × 3 + 16 × 5) × 15.00 / 31 = 1875 / 31 = 60.4838…
    assert seats["quantity"] == "125"
    assert seats["amount"] == "60.48"
    assert spec["subtotal"] == "60.48"


def test_users_rows_add_up_and_minimum_three(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-01-01"),
        row("S1", "interact:users", "2026-01-01", quantity=1),
        row("S1", "interact:users", "2026-10-11", quantity=3),   # 4 users from 11 Oct
    ])
    [seats] = lines_of(spec_of(bill(tmp_workspace, "2026-10"), "S1"), "interact.seats")
    # (10 × 3 + 21 × 4) × 30.00 / 31 = 3420 / 31 = 110.3225…
    assert (seats["quantity"], seats["amount"]) == ("114", "110.32")


def test_plan_hub_to_pro_mid_month_two_lines_no_new_term(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-07-01", "2026-10-16"),
        row("S1", "interact:PRO", "2026-10-16"),
        row("S1", "interact:users", "2026-07-01", quantity=3),
        # No activation in October: the change is not a new plan.
    ])
    result = bill(tmp_workspace, "2026-10")
    spec = spec_of(result, "S1")
    seats = lines_of(spec, "interact.seats")
    assert [(s["unit_price"], s["quantity"], s["amount"]) for s in seats] == [
        ("15.00", "45", "21.77"),     # 15 days × 3 × 15.00 / 31 = 21.774…
        ("30.00", "48", "46.45"),     # 16 days × 3 × 30.00 / 31 = 46.451…
    ]
    assert "interact.early_termination" not in lines_by_code(spec)   # HUB ending is no termination
    assert spec["subtotal"] == "68.22"


def test_hub_to_pro_keeps_the_term_of_the_first_day(tmp_workspace):
    # Plan HUB 1 Jan → PRO 16 Jun → ends 1 Nov: one plan since 1 Jan, so the remaining
    # months are counted from 1 Jan (1 Dec, 1 Jan: 2), not from 16 Jun (8).
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-01-01", "2026-06-16"),
        row("S1", "interact:PRO", "2026-06-16", "2026-11-01"),
        row("S1", "interact:users", "2026-01-01", quantity=3),
    ])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    [et] = lines_of(spec, "interact.early_termination")
    assert (et["quantity"], et["unit_price"], et["amount"]) == ("2", "90.00", "180.00")
    assert lines_by_code(spec) == {"interact.seats": "90.00", "interact.early_termination": "180.00"}


def test_two_plan_rows_on_one_day_reject_the_month(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-01-01"),
        row("S1", "interact:PRO", "2026-10-20"),
    ])
    result = bill(tmp_workspace, "2026-10")
    assert result.specs == []
    [err] = result.errors
    assert (err.subscriber_id, err.family, err.rule) == ("S1", "interact", "G10")
    assert "2026-10-20" in err.message and "11 more days" in err.message


def test_negotiated_seat_price(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-01-01", params={"unit_price": "25.00"}),
        row("S1", "interact:users", "2026-01-01", quantity=4),
    ])
    [seats] = lines_of(spec_of(bill(tmp_workspace, "2026-10"), "S1"), "interact.seats")
    assert (seats["unit_price"], seats["amount"]) == ("25.00", "100.00")


def test_seat_price_is_the_one_valid_on_the_plans_first_day():
    data = yaml.safe_load((tariffs_dir() / "interact.yaml").read_text(encoding="utf-8"))
    data["plans"]["PRO"]["seat"] = [{"valid_from": "2026-01-01", "price": "30.00"},
                                    {"valid_from": "2026-07-01", "price": "35.00"}]
    t = InteractTariff.model_validate(data)
    rows_ = [Row("S1", "interact:HUB", 1, date(2026, 3, 1), date(2026, 8, 1), {}),
             Row("S1", "interact:PRO", 1, date(2026, 8, 1), None, {})]
    c = _Contract(t, rows_)
    assert c.seat_price(rows_[1]) == Decimal("30.00")     # plan began 1 Mar, before the new price
    fresh = _Contract(t, [Row("S1", "interact:PRO", 1, date(2026, 8, 1), None, {})])
    assert fresh.seat_price(fresh.plan_rows[0]) == Decimal("35.00")


# --- I2 options ------------------------------------------------------------------------

def test_chatbot_without_generic_api_rejected_others_billed(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-01-01"),
        row("S1", "interact:chatbot_api", "2026-10-01"),
        row("S1", "interact:generic_api", "2026-10-10"),
        row("S2", "interact:HUB", "2026-01-01"),
        row("S2", "interact:generic_api", "2026-01-01"),
        row("S2", "interact:chatbot_api", "2026-10-01"),
    ], subscribers=["S1", "S2"])
    result = bill(tmp_workspace, "2026-10")
    assert [s["subscriber_id"] for s in result.specs] == ["S2"]
    [err] = result.errors
    assert (err.subscriber_id, err.family, err.rule) == ("S1", "interact", "I2")
    assert err.message.startswith("chatbot API active on 2026-10-01 and 8 more days without the generic API")
    assert any(a.kind == "contract_error" and a.subscriber_id == "S1" and a.rule == "I2"
               for a in result.anomalies)
    spec = spec_of(result, "S2")
    assert spec["spec_number"] == "202610-00001"
    assert lines_by_code(spec) == {"interact.seats": "45.00", "interact.generic_api": "50.00",
                                   "interact.chatbot_api": "50.00"}
    # November: both APIs all month, so S1 is billed again.
    nov = bill(tmp_workspace, "2026-11")
    assert nov.errors == []
    assert lines_by_code(spec_of(nov, "S1")) == {"interact.seats": "90.00", "interact.generic_api": "50.00",
                                                 "interact.chatbot_api": "50.00"}


def test_options_prorated_on_their_own_rows(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-01-01"),
        row("S1", "interact:generic_api", "2026-01-01", "2026-10-11"),
        row("S1", "interact:generic_api", "2026-10-21", params={"unit_price": "40.00"}),
    ])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    api = lines_of(spec, "interact.generic_api")
    # 10 days × 50.00 / 31 = 16.129…; 11 days × 40.00 / 31 = 14.193…
    assert [(a["quantity"], a["unit_price"], a["amount"]) for a in api] == [
        ("10", "50.00", "16.13"), ("11", "40.00", "14.19")]


# --- I3 one-offs -----------------------------------------------------------------------

def test_api_activation_includes_integration_and_training_same_month(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-01-01"),
        row("S1", "interact:generic_api", "2026-01-01"),
        row("S1", "interact:api_activation", "2026-10-05"),
        row("S1", "interact:integration", "2026-10-05"),
        row("S1", "interact:training", "2026-10-20"),
        row("S1", "interact:training", "2026-11-03"),     # another month: charged
    ])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    # integration and training are included in the API activation: no line of their own
    assert lines_by_code(spec) == {"interact.seats": "90.00", "interact.generic_api": "50.00",
                                   "interact.api_activation": "500.00"}
    assert spec["subtotal"] == "640.00"
    nov = spec_of(bill(tmp_workspace, "2026-11"), "S1")
    assert lines_by_code(nov)["interact.training"] == "250.00"


def test_one_offs_without_api_activation_and_cancelled_row(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-10-01"),
        row("S1", "interact:activation", "2026-10-01"),
        row("S1", "interact:training", "2026-10-02"),
        row("S1", "interact:integration", "2026-10-03", params={"unit_price": "200.00"}),
        row("S1", "interact:channel", "2026-10-01", quantity=1),
        row("S1", "interact:channel", "2026-10-15", quantity=2),
        row("S1", "interact:channel", "2026-10-20", "2026-10-20", quantity=5),   # cancelled
        row("S1", "interact:activation", "2026-10-25", quantity=3),   # quantity counts not here
    ])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    assert lines_by_code(spec) == {"interact.seats": "45.00", "interact.activation": "500.00",
                                   "interact.channel": "750.00", "interact.training": "250.00",
                                   "interact.integration": "200.00"}
    [channel] = lines_of(spec, "interact.channel")
    assert channel["quantity"] == "3"
    [activation] = lines_of(spec, "interact.activation")
    assert activation["quantity"] == "2"


# --- I4 early termination ----------------------------------------------------------------

def test_early_termination_default(tmp_workspace):
    # Plan 1 Jan – 16 Oct (valid_to): remaining 1 Nov, 1 Dec, 1 Jan = 3 months ×
    # (4 users × 30.00 + generic API 50.00 + chatbot API 50.00) = 3 × 220.00.
    setup(tmp_workspace, [
        row("S1", "interact:PRO", "2026-01-01", "2026-10-16"),
        row("S1", "interact:users", "2026-01-01", quantity=4),
        row("S1", "interact:generic_api", "2026-01-01"),
        row("S1", "interact:chatbot_api", "2026-01-01", "2026-10-16"),
    ])
    result = bill(tmp_workspace, "2026-10")
    spec = spec_of(result, "S1")
    [et] = lines_of(spec, "interact.early_termination")
    assert (et["quantity"], et["unit"], et["unit_price"], et["amount"], et["rule"]) == \
        ("3", "month", "220.00", "660.00", "I4")
    assert lines_by_code(spec)["interact.seats"] == "58.06"    # 15 × 4 × 30.00 / 31 = 58.064…
    # The generic API row runs on after the plan: billed on its own row, and listed.
    assert lines_by_code(spec)["interact.generic_api"] == "50.00"
    assert lines_by_code(spec)["interact.chatbot_api"] == "24.19"     # 15 × 50.00 / 31
    assert any(a.kind == "no_plan" and a.rule == "I2" for a in result.anomalies)


def test_early_termination_agreed_fee_from_latest_row_that_carries_it(tmp_workspace):
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-01-01", "2026-04-01", params={"early_termination_fee": "300.00"}),
        row("S1", "interact:PRO", "2026-04-01", "2026-07-01", params={"early_termination_fee": "400.00"}),
        row("S1", "interact:PRO", "2026-07-01", "2026-10-16"),    # carries none
        row("S2", "interact:HUB", "2026-01-01", "2026-10-16", params={"early_termination_fee": "120"}),
    ], subscribers=["S1", "S2"])
    result = bill(tmp_workspace, "2026-10")
    [et1] = lines_of(spec_of(result, "S1"), "interact.early_termination")
    assert (et1["quantity"], et1["unit_price"], et1["amount"]) == ("1", "400.00", "400.00")
    [et2] = lines_of(spec_of(result, "S2"), "interact.early_termination")
    assert et2["amount"] == "120.00"


def test_early_termination_fee_malformed_is_a_contract_error(tmp_workspace):
    setup(tmp_workspace, [row("S1", "interact:HUB", "2026-01-01", "2026-10-16",
                              params={"early_termination_fee": "a lot"})])
    result = bill(tmp_workspace, "2026-10")
    assert result.specs == []
    [err] = result.errors
    assert err.rule == "I4" and "early_termination_fee" in err.message


def test_early_termination_in_month_of_last_active_day(tmp_workspace):
    # valid_to 1 Nov: last active day 31 Oct → billed in October, 2 months (1 Dec, 1 Jan);
    # the anniversary 1 Nov equals valid_to and is not after it.
    setup(tmp_workspace, [
        row("S1", "interact:HUB", "2026-01-01", "2026-11-01"),
        row("S1", "interact:users", "2026-01-01", quantity=5),
    ])
    oct_ = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    [et] = lines_of(oct_, "interact.early_termination")
    assert (et["quantity"], et["unit_price"], et["amount"]) == ("2", "75.00", "150.00")
    assert bill(tmp_workspace, "2026-11").specs == []


@pytest.mark.parametrize("first, valid_to, expected", [
    ("2025-11-01", "2026-11-01", None),   # exactly 12 months: no fee
    ("2025-11-02", "2026-11-01", "1"),    # one anniversary (2 Nov 2026) after the end
    ("2026-10-01", "2026-11-01", "11"),   # one month served
])
def test_early_termination_boundaries_end_to_end(tmp_workspace, first, valid_to, expected):
    setup(tmp_workspace, [row("S1", "interact:HUB", first, valid_to)])
    spec = spec_of(bill(tmp_workspace, "2026-10"), "S1")
    ets = lines_of(spec, "interact.early_termination")
    assert [e["quantity"] for e in ets] == ([] if expected is None else [expected])


@pytest.mark.parametrize("first, end, expected", [
    (date(2026, 1, 1), date(2026, 10, 16), 3),    # pricing.md: 1 Nov, 1 Dec, 1 Jan
    (date(2026, 1, 1), date(2026, 10, 31), 3),
    (date(2026, 1, 1), date(2026, 11, 1), 2),     # 1 Nov = valid_to: not after it
    (date(2026, 1, 1), date(2026, 11, 2), 2),
    (date(2026, 1, 1), date(2026, 12, 31), 1),
    (date(2026, 1, 1), date(2027, 1, 1), 0),      # the full term
    (date(2026, 1, 1), date(2026, 1, 2), 12),
    (date(2026, 1, 31), date(2026, 2, 28), 11),   # 31 Jan + 1 month = 28 Feb = valid_to
    (date(2026, 1, 31), date(2026, 2, 27), 12),
    (date(2024, 2, 29), date(2025, 2, 28), 0),    # 29 Feb + 12 months = 28 Feb 2025
])
def test_remaining_months(first, end, expected):
    assert remaining_months(first, end) == expected


def test_add_months_takes_the_last_day_when_missing():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 31), 3) == date(2026, 4, 30)
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)


def test_plan_chains_gap_starts_a_new_plan():
    rows_ = [Row("S1", "interact:HUB", 1, date(2026, 1, 1), date(2026, 3, 1), {}),
             Row("S1", "interact:PRO", 1, date(2026, 3, 1), date(2026, 5, 1), {}),
             Row("S1", "interact:PRO", 1, date(2026, 5, 2), None, {})]
    plans = plans_of(rows_)
    assert [(p.first, p.end) for p in plans] == [(date(2026, 1, 1), date(2026, 5, 1)), (date(2026, 5, 2), None)]


def test_users_without_plan_listed_not_billed(tmp_workspace):
    setup(tmp_workspace, [row("S1", "interact:users", "2026-10-01", quantity=4)])
    result = bill(tmp_workspace, "2026-10")
    assert result.specs == [] and result.errors == []
    assert [(a.kind, a.rule, a.subscriber_id) for a in result.anomalies] == [("no_plan", "I1", "S1")]
