"""Every tariff setting is read, or fixed to the one reading pricing.md gives (issue 14).

A setting the code reads is tested by changing it and seeing the output change as
pricing.md says; a fixed setting (`catalog.FIXED_SETTINGS`) is tested by changing it and
seeing the tariff rejected, naming the file and the field."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.catalog import FIXED_SETTINGS, CatalogError, load_family
from metering.workspace import Workspace
from tests.helpers import bill, lines_by_code, write_feed

TARIFFS = Path(__file__).resolve().parent.parent / "tariffs"


def edited_tariffs(tmp_path: Path, family: str, old: str, new: str) -> Path:
    d = tmp_path / "tariffs"
    if not d.exists():
        shutil.copytree(TARIFFS, d)
    p = d / f"{family}.yaml"
    text = p.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    p.write_text(text.replace(old, new), encoding="utf-8")
    return d


# --- fixed settings: another value fails validation, naming file and field -------------

FIXED_EDITS = [
    ("answering", 'aht_reestablish: {value: "half_up_actual"', 'aht_reestablish: {value: "floor_actual"',
     "messaging.aht_reestablish.value", "M3"),
    ("answering", "training_increment: {value: minute", "training_increment: {value: hour",
     "training_increment.value", "T1"),
    ("klippekort", "overflow_at_full_rate: {value: true", "overflow_at_full_rate: {value: false",
     "overflow_at_full_rate.value", "K5"),
    ("interact", 'early_termination_default: {value: "remaining_months_x_last_day_charge"',
     'early_termination_default: {value: "none"', "early_termination_default.value", "I4"),
    ("remote_support", "increment: {value: minute", "increment: {value: second", "increment.value", "L1"),
    ("remote_support", "all_activities_at_rate: {value: true", "all_activities_at_rate: {value: false",
     "all_activities_at_rate.value", "L1"),
    ("remote_support", "outside_hours_same_rate: {value: true", "outside_hours_same_rate: {value: false",
     "outside_hours_same_rate.value", "L3"),
]


@pytest.mark.parametrize("family, old, new, field, rule", FIXED_EDITS)
def test_a_fixed_setting_changed_fails_naming_file_and_field(tmp_path, family, old, new, field, rule):
    d = edited_tariffs(tmp_path, family, old, new)
    with pytest.raises(CatalogError) as exc:
        load_family(family, d)
    msg = str(exc.value)
    assert f"{family}.yaml" in msg and f"  {field}: " in msg and "the only reading pricing.md gives" in msg, msg
    assert f"{rule}:" in msg, msg


def test_every_fixed_setting_is_tested():
    tested = {edit[3].split(".")[-2] for edit in FIXED_EDITS}
    assert tested == set(FIXED_SETTINGS)


def test_the_retired_setting_name_says_what_replaces_it(tmp_path):
    d = edited_tariffs(tmp_path, "answering", "hours_weekdays: {value: [0, 1, 2, 3, 4, 5, 6],",
                       "hours_every_day: {value: true,")
    with pytest.raises(CatalogError, match=r"(?s)answering\.yaml.*hours_every_day.*renamed: hours_weekdays"):
        load_family("answering", d)


# --- A1: hours_weekdays is read by the hours check -------------------------------------

def _saturday_call(tmp_path: Path) -> Workspace:
    """A BASIC subscriber with one call at 10:00 on Saturday 3 October 2026 and one on
    Monday 5 October, both inside 07:00–20:00."""
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "A", "country": "NL"}])
    write_feed(ws, "subscriptions", "a.csv", [{"subscriber_id": "S1", "product": "phone:BASIC",
                                               "valid_from": "2026-10-01"}])
    calls = []
    for cid, day in (("sat", 3), ("mon", 5)):
        start = datetime(2026, 10, day, 10, tzinfo=ZoneInfo("Europe/Amsterdam"))
        calls.append({"call_id": cid, "subscriber_id": "S1", "call_type": "inbound",
                      "started_at": start.isoformat(), "answered_at": start.isoformat(),
                      "ended_at": (start + timedelta(seconds=60)).isoformat(), "talk_s": 60})
    write_feed(ws, "calls", "c.csv", calls)
    return ws


def test_hours_weekdays_decides_which_days_are_outside_the_plan_hours(tmp_path, monkeypatch):
    every_day = bill(_saturday_call(tmp_path / "a"), "2026-10")
    assert [a for a in every_day.anomalies if a.rule == "A1"] == []

    d = edited_tariffs(tmp_path, "answering", "hours_weekdays: {value: [0, 1, 2, 3, 4, 5, 6],",
                       "hours_weekdays: {value: [0, 1, 2, 3, 4],")
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))
    weekdays = bill(_saturday_call(tmp_path / "b"), "2026-10")
    [anomaly] = [a for a in weekdays.anomalies if a.rule == "A1"]
    assert anomaly.record == "calls/sat" and anomaly.kind == "outside_hours"
    assert "07:00–20:00 on Mon, Tue, Wed, Thu, Fri; rated normally" in anomaly.message
    # A1: usage outside the hours is rated normally: the bill is the same
    [a], [b] = every_day.specs, weekdays.specs
    assert a["lines"] == b["lines"] and a["total"] == b["total"] == "49.68"  # 35.00 + 2 × 3.03 = 41.06, VAT 8.62


@pytest.mark.parametrize("value, needle", [("[]", "at least one"), ("[0, 0]", "each day once"),
                                           ("[7]", "hours_weekdays.value.0")])
def test_hours_weekdays_must_name_real_days(tmp_path, value, needle):
    d = edited_tariffs(tmp_path, "answering", "hours_weekdays: {value: [0, 1, 2, 3, 4, 5, 6],",
                       f"hours_weekdays: {{value: {value},")
    with pytest.raises(CatalogError, match=r"(?s)answering\.yaml.*" + needle.replace(".", r"\.")):
        load_family("answering", d)


# --- I2: options.*.requires is read by the contract check ------------------------------

def _chatbot_alone(tmp_path: Path) -> Workspace:
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "A", "country": "BE"}])
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": "S1", "product": p, "quantity": 1, "valid_from": "2026-10-01"}
        for p in ("interact:HUB", "interact:chatbot_api")])
    return ws


def test_requires_decides_which_option_needs_another(tmp_path, monkeypatch):
    sold_together = bill(_chatbot_alone(tmp_path / "a"), "2026-10")
    assert sold_together.specs == []
    [err] = sold_together.errors
    assert err.rule == "I2" and err.message == (
        "chatbot API active on 2026-10-01 and 30 more days without the generic API; the chatbot API is only "
        "sold together with the generic API")

    d = edited_tariffs(tmp_path, "interact", 'chatbot_api: {fee: "50.00", requires: generic_api}',
                       'chatbot_api: {fee: "50.00"}')
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))
    sold_alone = bill(_chatbot_alone(tmp_path / "b"), "2026-10")
    assert sold_alone.errors == []
    [spec] = sold_alone.specs
    assert lines_by_code(spec) == {"interact.seats": "45.00", "interact.chatbot_api": "50.00"}


@pytest.mark.parametrize("new, needle", [
    ('chatbot_api: {fee: "50.00", requires: generic}', "options.chatbot_api.requires"),
    ('chatbot_api: {fee: "50.00", requires: chatbot_api}', "options.chatbot_api.requires: an option cannot require"),
])
def test_requires_names_another_option(tmp_path, new, needle):
    d = edited_tariffs(tmp_path, "interact", 'chatbot_api: {fee: "50.00", requires: generic_api}', new)
    with pytest.raises(CatalogError) as exc:
        load_family("interact", d)
    assert "interact.yaml" in str(exc.value) and needle in str(exc.value), str(exc.value)


# --- I2: plans.*.sla is shown on the seat line, never priced ---------------------------

def _pro_plan(tmp_path: Path) -> Workspace:
    ws = Workspace.from_env(tmp_path / "ws").ensure()
    write_feed(ws, "subscribers", "s.csv", [{"subscriber_id": "S1", "name": "A", "country": "BE"},
                                            {"subscriber_id": "S2", "name": "B", "country": "BE"}])
    write_feed(ws, "subscriptions", "a.csv", [
        {"subscriber_id": "S1", "product": "interact:PRO", "quantity": 1, "valid_from": "2026-10-01",
         "params": json.dumps({})},
        {"subscriber_id": "S2", "product": "interact:HUB", "quantity": 1, "valid_from": "2026-10-01"}])
    return ws


def _seat_lines(result) -> dict[str, dict]:
    return {s["subscriber_id"]: next(ln for ln in s["lines"] if ln["code"] == "interact.seats")
            for s in result.specs}


def test_sla_is_named_on_the_seat_line_and_not_priced(tmp_path, monkeypatch):
    seats = _seat_lines(bill(_pro_plan(tmp_path / "a"), "2026-10"))
    assert seats["S1"]["description"].endswith(", SLA included)") and seats["S1"]["amount"] == "90.00"
    assert "SLA" not in seats["S2"]["description"]

    d = edited_tariffs(tmp_path, "interact", 'PRO: {seat: "30.00", sla: true}', 'PRO: {seat: "30.00", sla: false}')
    monkeypatch.setenv("CCMETER_TARIFFS", str(d))
    without = _seat_lines(bill(_pro_plan(tmp_path / "b"), "2026-10"))
    assert "SLA" not in without["S1"]["description"]
    assert without["S1"]["amount"] == seats["S1"]["amount"]


# --- names used as keys are checked on load (str to the type checker, a list to the file)

@pytest.mark.parametrize("family, old, new, field", [
    ("answering", "  PLUS:    {fee:", "  GOLD:    {fee:", "plans.GOLD"),
    ("interact", "  generic_api: {fee:", "  generic: {fee:", "options.generic"),
    ("klippekort", '  "30": {klip: 30,', '  "40": {klip: 30,', "cards.40"),
    ("service_pack", "  10h: {units:", "  20h: {units:", "packs.20h"),
    ("remote_support", "  lpas:  {always_reachable", "  lpass: {always_reachable", "addons.lpass"),
])
def test_an_unknown_name_as_a_key_fails_naming_file_and_field(tmp_path, family, old, new, field):
    d = edited_tariffs(tmp_path, family, old, new)
    with pytest.raises(CatalogError) as exc:
        load_family(family, d)
    assert f"{family}.yaml" in str(exc.value) and f"  {field}.[key]: " in str(exc.value), str(exc.value)
    assert "is not one of" in str(exc.value)
