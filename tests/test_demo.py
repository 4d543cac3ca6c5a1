"""The demo workspace generator (synthetic/workspace.py): deterministic, complete, and in the
input formats of data-contract.md."""
from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from synthetic import generate_workspace

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
FAMILY_OF_PREFIX = {"phone": "answering", "messaging": "answering", "option": "answering", "direct": "answering",
                    "servicepack": "service_pack", "klippekort": "klippekort", "interact": "interact",
                    "remote": "remote_support"}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "inbox").rglob("*")) if p.is_file()}


def _good(root: Path, feed: str, suffix: str = ".csv") -> list[Path]:
    return sorted(p for p in (root / "inbox" / feed).glob(f"*{suffix}") if not p.name.startswith("zz-bad"))


def _read(root: Path, feed: str) -> pl.DataFrame:
    return pl.concat([pl.read_csv(p, infer_schema=False) for p in _good(root, feed)], how="vertical")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("small")
    return root, generate_workspace(root, months=["2026-10"], size="small")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("tiny")
    return root, generate_workspace(root, size="tiny")


@pytest.mark.parametrize("size,fmt", [("small", "csv"), ("tiny", "parquet")])
def test_same_arguments_give_identical_bytes(tmp_path, size, fmt):
    a = generate_workspace(tmp_path / "a", size=size, fmt=fmt, seed=11)
    b = generate_workspace(tmp_path / "b", size=size, fmt=fmt, seed=11)
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert fa.keys() == fb.keys()
    assert all(fa[k] == fb[k] for k in fa), [k for k in fa if fa[k] != fb[k]]
    assert {k: v for k, v in a.items() if k != "files"} == {k: v for k, v in b.items() if k != "files"}
    c = generate_workspace(tmp_path / "c", size=size, fmt=fmt, seed=12)
    assert _files(tmp_path / "c") != fa
    assert c["calls"] == a["calls"]


def test_result_lists_counts_and_files(small):
    root, res = small
    assert res["subscribers"] == 40
    assert res["calls"] == 20_000
    assert res["interactions"] > 0 and res["worklogs"] > 0 and res["subscriptions"] > 0
    assert res["months"] == ["2026-10"]
    assert all(Path(f).is_file() for f in res["files"])
    assert {Path(f).relative_to(root).as_posix() for f in res["files"]} == set(_files(root))
    assert _read(root, "calls").height == res["calls"]
    assert _read(root, "interactions").height == res["interactions"]
    assert _read(root, "worklogs").height == res["worklogs"]
    assert not list((root / "inbox").rglob(".*")), "no temporary files left behind"


def test_every_tariff_family_and_rule_trigger_is_present(tiny, small):
    from metering.catalog import PRODUCT_CODES

    for root, _ in (tiny, small):
        subs = _read(root, "subscribers")
        rows = _read(root, "subscriptions")
        assert set(rows["product"]) <= set(PRODUCT_CODES), set(rows["product"]) - set(PRODUCT_CODES)
        families = {FAMILY_OF_PREFIX[p.split(":")[0]] for p in rows["product"]}
        assert families == {"answering", "service_pack", "klippekort", "interact", "remote_support"}
        country = dict(zip(subs["subscriber_id"], subs["country"]))
        for sid, c in (("NL-ANS-0001", "NL"), ("BE-SP-0001", "BE"), ("DK-KK-0001", "DK"), ("BE-IX-0001", "BE"),
                       ("NL-RS-0002", "NL")):
            assert country[sid] == c
        assert subs["subscriber_id"].n_unique() == subs.height
        assert set(rows["subscriber_id"]) <= set(subs["subscriber_id"])
        for params in rows["params"].drop_nulls():
            assert isinstance(json.loads(params), dict)

    root, _ = small
    rows = _read(root, "subscriptions")
    products = set(rows["product"])
    for code in ("phone:BASIC", "phone:SMART", "phone:PLUS", "phone:PREMIUM", "messaging:SMART",
                 "option:voice_response", "option:reports_mail_unlimited", "option:sms_bundle_75",
                 "option:monthly_specification", "direct:package_5h", "servicepack:1h", "servicepack:3h",
                 "servicepack:10h", "klippekort:10", "klippekort:20", "klippekort:30", "klippekort:monthly_check",
                 "klippekort:quarterly_check", "interact:HUB", "interact:PRO", "interact:users",
                 "interact:generic_api", "interact:chatbot_api", "interact:activation", "interact:channel",
                 "interact:api_activation", "remote:standard", "remote:pager"):
        assert code in products, code
    # the first messaging row of every subscriber states aht_s
    msg = rows.filter(pl.col("product").str.starts_with("messaging:")).sort("subscriber_id", "valid_from")
    for first in msg.group_by("subscriber_id", maintain_order=True).first().iter_rows(named=True):
        assert "aht_s" in json.loads(first["params"]), first
    # a plan change mid-month: one row ends the day the next starts (end date in a later file)
    ans5 = rows.filter(pl.col("subscriber_id") == "NL-ANS-0005", pl.col("product").str.starts_with("phone:"))
    assert "2026-10-15" in set(ans5["valid_to"].drop_nulls()) and "2026-10-15" in set(ans5["valid_from"])
    # an interact plan ending in the demo month, before its 12 months
    ix3 = rows.filter(pl.col("subscriber_id") == "BE-IX-0003", pl.col("product") == "interact:HUB")
    assert set(ix3["valid_to"].drop_nulls()) == {"2026-10-21"} and set(ix3["valid_from"]) == {"2026-05-01"}
    # users rising mid-month, two channels, negotiated pager price, no auto-renew, auto-renew
    users = rows.filter(pl.col("subscriber_id") == "BE-IX-0002", pl.col("product") == "interact:users")
    assert users.height == 2 and "2026-10-12" in set(users["valid_from"])
    assert rows.filter(pl.col("product") == "interact:channel")["quantity"].to_list() == ["2"]
    pager = rows.filter(pl.col("product") == "remote:pager")["params"].to_list()
    assert pager and json.loads(pager[0]) == {"unit_price": "25.00"}
    assert any(json.loads(p) == {"auto_renew": False}
               for p in rows.filter(pl.col("product").str.starts_with("servicepack:"))["params"].drop_nulls())
    assert any(json.loads(p) == {"auto_renew": True}
               for p in rows.filter(pl.col("product").str.starts_with("klippekort:"))["params"].drop_nulls())
    # a klippekort card bought about three years before the demo month
    old = rows.filter(pl.col("subscriber_id") == "DK-KK-0004", pl.col("valid_from") < "2024-01-01")
    assert old["product"].to_list() == ["klippekort:10"]


def test_timestamps_all_carry_an_offset(small):
    root, _ = small
    for feed, cols in (("calls", ["started_at", "answered_at", "ended_at"]),
                       ("interactions", ["started_at", "ended_at"]), ("worklogs", ["started_at"])):
        df = _read(root, feed)
        for col in cols:
            values = df[col].drop_nulls()
            assert values.len() > 0
            assert values.str.contains(TS.pattern).all(), (feed, col, values.filter(~values.str.contains(TS.pattern)))
            parsed = values.str.to_datetime(TS_FORMAT, time_zone="UTC", strict=True)
            assert parsed.null_count() == 0
    calls = _read(root, "calls")
    # local months, daylight saving time ends on 25 October 2026
    inbound = calls.filter(pl.col("call_type") == "inbound")
    assert inbound["started_at"].str.starts_with("2026-10-").all()
    assert calls["started_at"].str.ends_with("+02:00").any() and calls["started_at"].str.ends_with("+01:00").any()
    late = calls.filter(pl.col("started_at").str.slice(0, 10) >= "2026-10-26")["started_at"]
    assert late.str.ends_with("+01:00").all()
    wl = _read(root, "worklogs")
    assert wl.filter(pl.col("subscriber_id").str.starts_with("DK-"))["started_at"].len() > 0
    dates = calls["started_at"].str.to_datetime(TS_FORMAT, time_zone="Europe/Amsterdam").dt.weekday()
    assert (dates >= 6).any(), "some weekend calls"


def _check_legs(calls: pl.DataFrame) -> None:
    """Contract rules of call legs on a typed frame (timestamps tz-aware)."""
    answered = calls.filter(pl.col("answered_at").is_not_null())
    unanswered = calls.filter(pl.col("answered_at").is_null())
    assert answered.height and unanswered.height
    talk = (answered["ended_at"] - answered["answered_at"]).dt.total_seconds()
    assert (talk == answered["talk_s"]).all()
    assert (answered["answered_at"] >= answered["started_at"]).all()
    assert (unanswered["talk_s"] == 0).all()
    assert (unanswered["ended_at"] >= unanswered["started_at"]).all()
    assert (calls["talk_s"] >= 0).all()
    assert calls["call_id"].n_unique() == calls.height
    kinds = dict(zip(calls["call_id"], calls["call_type"]))
    children = calls.filter(pl.col("call_type") != "inbound")
    assert set(children["call_type"]) == {"transfer", "outbound"}
    assert children["parent_call_id"].null_count() == 0
    assert {kinds[p] for p in children["parent_call_id"]} == {"inbound"}
    assert calls.filter(pl.col("call_type") == "inbound")["parent_call_id"].null_count() == \
        calls.filter(pl.col("call_type") == "inbound").height
    numbers = calls["caller_number"].drop_nulls()
    assert numbers.str.contains(r"^\+[1-9][0-9]{1,14}$").all()
    assert set(calls["report"].drop_nulls()) <= {"mail", "sms"}


def test_talk_seconds_match_answered_to_ended(small):
    root, _ = small
    calls = _read(root, "calls").with_columns(
        [pl.col(c).str.to_datetime(TS_FORMAT, time_zone="UTC") for c in ("started_at", "answered_at", "ended_at")]
        + [pl.col("talk_s").cast(pl.Int64)])
    _check_legs(calls)
    inbound = calls.filter(pl.col("call_type") == "inbound")
    share = inbound["answered_at"].is_not_null().mean()
    assert 0.8 < share < 0.92
    foreign = calls.filter(pl.col("call_type") != "inbound", pl.col("destination_country").is_in(["DE", "BE", "GB"]))
    assert foreign.height > 0
    assert calls.filter(pl.col("subscriber_id").str.starts_with("BE-SP-")).height > 0
    inter = _read(root, "interactions")
    assert set(inter["channel"]) == {"email", "chat", "whatsapp", "webticket"}
    handle = inter["handle_s"].cast(pl.Int64)
    assert 150 < handle.mean() < 350 and (handle >= 0).all()
    wl = _read(root, "worklogs")
    assert {"remote", "onsite", "training", "admin"} <= set(wl["activity"])
    minutes = wl["minutes"].cast(pl.Int64)
    assert (minutes >= 5).all() and (minutes <= 180).all()
    assert wl.filter(pl.col("activity") != "onsite")["km"].null_count() == wl.filter(pl.col("activity") != "onsite").height
    desc = wl["description"].drop_nulls()
    assert desc.str.contains("<", literal=True).any() and desc.str.contains('"', literal=True).any()
    assert desc.str.contains(",", literal=True).any()


def test_parquet_mode_writes_readable_parquet(tmp_path):
    res = generate_workspace(tmp_path, size="tiny", fmt="parquet", bad_files=False)
    inbox = tmp_path / "inbox"
    for feed in ("calls", "interactions", "worklogs"):
        files = sorted((inbox / feed).glob("*"))
        assert files and all(p.suffix == ".parquet" for p in files), files
        for p in files:
            table = pq.read_table(p)
            assert table.schema.field("started_at").type.tz == "UTC"
    for feed in ("subscribers", "subscriptions"):
        assert all(p.suffix == ".csv" for p in (inbox / feed).glob("*"))
    calls = pl.read_parquet(sorted((inbox / "calls").glob("*.parquet")))
    assert calls.columns == ["call_id", "subscriber_id", "call_type", "parent_call_id", "started_at", "answered_at",
                             "ended_at", "talk_s", "caller_number", "destination_country", "report"]
    assert calls.height == res["calls"] == 300
    _check_legs(calls)
    import duckdb
    con = duckdb.connect()
    n = con.execute("select count(*) from read_parquet($p)",
                    {"p": str(inbox / "interactions" / "*.parquet")}).fetchone()[0]
    assert n == res["interactions"]


def test_int_size_gives_exactly_that_many_call_legs(tmp_path):
    res = generate_workspace(tmp_path, size=5000, bad_files=False)
    calls = _read(tmp_path, "calls")
    assert res["calls"] == calls.height == 5000
    assert calls["call_id"].n_unique() == 5000
    assert res["interactions"] == 1000


def test_bad_files_only_when_asked(tmp_path):
    generate_workspace(tmp_path / "with", size="tiny", bad_files=True)
    generate_workspace(tmp_path / "without", size="tiny", bad_files=False)
    bad = sorted(p.relative_to(tmp_path / "with").as_posix() for p in (tmp_path / "with").rglob("zz-bad*"))
    assert bad == ["inbox/calls/zz-bad-calls.csv", "inbox/interactions/zz-bad-semicolon.csv",
                   "inbox/subscriptions/zz-bad-subscriptions.csv", "inbox/worklogs/zz-bad-latin1.csv"]
    assert not list((tmp_path / "without").rglob("zz-bad*"))
    for d in (tmp_path / "with" / "inbox").iterdir():
        names = [p.name for p in d.iterdir()]
        bad_names = [n for n in names if n.startswith("zz-bad")]
        good_names = [n for n in names if not n.startswith("zz-bad")]
        assert not bad_names or min(bad_names) > max(good_names), d  # loaded after the good files
    good = _files(tmp_path / "without")
    withf = _files(tmp_path / "with")
    assert all(withf[k] == v for k, v in good.items()), "bad files change nothing else"
    raw = (tmp_path / "with" / "inbox" / "worklogs" / "zz-bad-latin1.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    calls = (tmp_path / "with" / "inbox" / "calls" / "zz-bad-calls.csv").read_text()
    assert "conference" in calls and ",-12," in calls and "T10:15:00," in calls


def test_ingestion_loads_good_files_and_quarantines_bad_ones(tmp_path):
    from metering.db import connect
    from metering.ingest import ingest
    from metering.workspace import Workspace

    ws = Workspace.from_env(tmp_path / "ws")
    generate_workspace(ws.root, size="tiny", bad_files=True)
    con = connect(ws.warehouse)
    try:
        results = {r.path: r for r in ingest(con, ws)}
    finally:
        con.close()
    for path, r in results.items():
        assert r.reconciles, path
        if "zz-bad" in path:
            assert r.status == "unreadable" or r.quarantined > 0, path
        else:
            assert (r.status, r.quarantined, r.duplicates) == ("loaded", 0, 0), (path, r)
    assert results["calls/zz-bad-calls.csv"].duplicates == 1


def test_months_and_history(tmp_path):
    res = generate_workspace(tmp_path, months=["2026-11", "2026-10"], size="tiny", history_from="2026-08",
                             bad_files=False)
    assert res["months"] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert res["calls"] == 4 * 300
    names = {p.name for p in (tmp_path / "inbox" / "calls").iterdir()}
    assert names == {f"calls-2026-{m:02d}.csv" for m in (8, 9, 10, 11)}
    rows = _read(tmp_path, "subscriptions")
    assert rows.filter(pl.col("subscriber_id") == "NL-ANS-0001")["valid_from"].to_list() == ["2026-08-01"] * 2
    # contract events happen in the demo month: the last one listed
    assert (tmp_path / "inbox" / "subscriptions" / "subscriptions-b-changes-2026-11.csv").is_file()
    assert "2026-11-15" in set(rows.filter(pl.col("subscriber_id") == "NL-ANS-0005")["valid_to"].drop_nulls())

    res = generate_workspace(tmp_path / "cli", months=["2026-08", "2026-09", "2026-10"], size="tiny",
                             bad_files=False)
    assert res["months"] == ["2026-08", "2026-09", "2026-10"]
    rows = _read(tmp_path / "cli", "subscriptions")
    assert max(rows.filter(pl.col("product") == "phone:BASIC")["valid_from"]) <= "2026-08-01"
    assert set(rows.filter(pl.col("subscriber_id") == "BE-IX-0003")["valid_to"].drop_nulls()) == {"2026-10-21"}
    with pytest.raises(ValueError):
        generate_workspace(tmp_path / "x", months=["2026-10"], history_from="2026-11")
    with pytest.raises(ValueError):
        generate_workspace(tmp_path / "y", months=["2026-13"])
    with pytest.raises(ValueError):
        generate_workspace(tmp_path / "z", fmt="xlsx")


# sha256 of every file `ccmeter demo` writes (months 2026-08..2026-10, size small, seed 7),
# as metering/demo.py wrote them before the generator moved to synthetic/: the README's
# totals and the billing tests are computed from these bytes, so a change of the
# generator that changes them must be deliberate (and the totals checked again).
DEMO_COMMAND_FILES = {
    "calls/calls-2026-08.csv": "fff6cab3b58df0899727fabf746bfe7e50facc862ef05a9824e724e8d6c7a255",
    "calls/calls-2026-09.csv": "1c4fe1d04476464e89f7ec46a4e2d3cf82da5ee7b584e965927f3d62ffaa4f33",
    "calls/calls-2026-10.csv": "db0c01db22699946f87323c3f9e79328503c4bc8fccec3658527744757ef4754",
    "calls/zz-bad-calls.csv": "ac031c80460aaad2eefec6e008ab5a6d71c6ce57f487026b2a3b636f90d6cc09",
    "interactions/interactions-2026-08.csv": "7fc427f713bfdf75a103b65b2a5a44a3033bd7215efbe205d7a56b3ef7961306",
    "interactions/interactions-2026-09.csv": "bef15606eb3c65784a67abfc76326768a24d1623241ea981caf53ac5e81a4083",
    "interactions/interactions-2026-10.csv": "10ef2f9f9111143231b85aa03b9ee08986ba229cefe02dae1a2fa5180d030d5a",
    "interactions/zz-bad-semicolon.csv": "5112e7a65bfb16b4140acb44157c2373c915abc273a923c80d4813f4344b2597",
    "subscribers/subscribers.csv": "e598f67173fd684e356bf228fda115d4f8ae43328c4feb3a52781d54acfdcf90",
    "subscriptions/subscriptions-a-contracts.csv": "232fe1b831664a5771c36176fc1ce606cbd34e5fd6847afd432256c589d9f6e6",
    "subscriptions/subscriptions-b-changes-2026-10.csv": "b8ce1e58f799c5bc07323093efed8c1dd92ae9b13c3069f9e1318f75c6a14237",
    "subscriptions/zz-bad-subscriptions.csv": "2ba61ca4c1305caf80410c60648f0fec306fc71493926446a2033a1ce20f0e00",
    "worklogs/worklogs-2023-11-archive.csv": "121ffcb1117ff3de979c3af618aedc06116df8bb98f2566bc45209ba34804c5c",
    "worklogs/worklogs-2026-08.csv": "4dd9141280f281439c4116df42a5ec7a5442e7d4abbe00c63afad1eb24313ae9",
    "worklogs/worklogs-2026-09.csv": "65127b82d6ef9eb0f2684269dba5828ae027b27596503abf5bf6724c8e5b8609",
    "worklogs/worklogs-2026-10.csv": "2f47f3d6a33624f240cd8f68f43f0a3df437badc5bed21d992da1f3739dfd66d",
    "worklogs/zz-bad-latin1.csv": "6d4afc8fdccec2f3c8cfd3f1fa173731cb324ab56ff467ad0914c78dcd507762",
}


def test_demo_command_workspace_is_byte_identical(tmp_path):
    import hashlib

    generate_workspace(tmp_path, months=["2026-08", "2026-09", "2026-10"], size="small")
    written = {p.relative_to(tmp_path / "inbox").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted((tmp_path / "inbox").rglob("*")) if p.is_file()}
    assert written == DEMO_COMMAND_FILES
