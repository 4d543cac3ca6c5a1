"""DurableBatch: a month's files become visible only whole, after their data is on disk,
and a failure leaves neither them nor temporary files behind."""
from __future__ import annotations

import os

import pytest

from metering.render import files
from metering.render.files import TMP_MARK, DurableBatch


def spec_for_pdf(sid: str) -> dict:
    return {"subscriber_id": sid, "name": "Acme", "address": None, "vat_id": None, "email": None, "country": "NL",
            "period": "2026-10", "spec_number": "202610-00001", "issue_date": "2026-11-01",
            "due_date": "2026-12-01", "currency": "EUR", "document_type": "specification",
            "lines": [{"code": "phone.plan", "service": "phone", "description": "Plan", "quantity": "31",
                       "unit": "day", "unit_price": "35.00", "price_unit": "month", "amount": "35.00",
                       "vat_rate": "0.21", "rule": "G4"}],
            "subtotal": "35.00", "vat": [{"rate": "0.21", "base": "35.00", "amount": "7.35"}], "total": "42.35",
            "balances": [], "aht": None, "warnings": [], "tasks": [], "actions": [], "appendix": None}


def _visible(directory):
    return sorted(p.name for p in directory.iterdir())


def test_files_appear_only_at_commit_and_after_their_data_is_synced(tmp_path, monkeypatch):
    order = []
    sync = files.sync_data
    replace = os.replace
    monkeypatch.setattr(files, "sync_data", lambda names: (order.append(("sync", len(names))), sync(names)))
    monkeypatch.setattr(files.os, "replace", lambda a, b: (order.append(("rename", os.path.basename(b))),
                                                          replace(a, b)))
    batch = DurableBatch()
    batch.write(tmp_path / "a.json", b"{}\n")
    batch.write(tmp_path / "sub" / "b.xml", b"<x/>")
    assert not (tmp_path / "a.json").exists() and not (tmp_path / "sub" / "b.xml").exists()
    assert all(TMP_MARK in n for n in _visible(tmp_path) if n != "sub")
    batch.commit()
    assert (tmp_path / "a.json").read_bytes() == b"{}\n"
    assert (tmp_path / "sub" / "b.xml").read_bytes() == b"<x/>"
    assert _visible(tmp_path) == ["a.json", "sub"] and _visible(tmp_path / "sub") == ["b.xml"]
    assert order == [("sync", 2), ("rename", "a.json"), ("rename", "b.xml")]


def test_a_failure_in_the_block_leaves_nothing(tmp_path):
    (tmp_path / "old.json").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with DurableBatch() as batch:
            batch.write(tmp_path / "old.json", b"new")
            batch.write(tmp_path / "c.json", b"c")
            raise RuntimeError("crash")
    assert _visible(tmp_path) == ["old.json"]
    assert (tmp_path / "old.json").read_bytes() == b"old"


def test_a_failed_sync_renames_nothing(tmp_path, monkeypatch):
    def broken(names):
        raise OSError(5, "I/O error")
    monkeypatch.setattr(files, "sync_data", broken)
    batch = DurableBatch()
    batch.write(tmp_path / "a.json", b"a")
    with pytest.raises(OSError):
        batch.commit()
    assert _visible(tmp_path) == []


def test_without_syncfs_each_file_is_fsynced(tmp_path, monkeypatch):
    synced = []
    fsync = os.fsync
    monkeypatch.setattr(files, "_SYNCFS", None)
    monkeypatch.setattr(files.os, "fsync", lambda fd: (synced.append(fd), fsync(fd)))
    with DurableBatch() as batch:
        for name in ("a", "b", "c"):
            batch.write(tmp_path / name, name.encode())
    assert len(synced) == 3 + 1  # the three files, then their directory once
    assert [p.read_bytes() for p in sorted(tmp_path.iterdir())] == [b"a", b"b", b"c"]


def test_syncfs_is_called_once_per_file_system(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(files, "_SYNCFS", lambda fd: calls.append(fd) or 0)
    with DurableBatch() as batch:
        for i in range(20):
            batch.write(tmp_path / f"{i}.json", b"x")
    assert len(calls) == 1
    assert len(_visible(tmp_path)) == 20


def test_month_files_stop_the_pdf_workers_and_clean_up_when_the_block_fails(tmp_path):
    from metering.billing import MonthBill
    from metering.outputs import MonthFiles
    from metering.periods import Month
    specs = [spec_for_pdf(f"S{i:03d}") for i in range(60)]
    bill = MonthBill(Month(2026, 10), specs=specs)
    with pytest.raises(RuntimeError):
        with MonthFiles(tmp_path, bill, pdf=True, workers=2) as month_files:
            month_files.write_own()
            raise RuntimeError("the analytic tables failed")
    assert _visible(tmp_path) == []


def test_month_files_with_workers_write_every_file(tmp_path):
    from metering.billing import MonthBill
    from metering.outputs import write_files
    from metering.periods import Month
    specs = [spec_for_pdf(f"S{i:03d}") for i in range(60)]
    names = write_files(tmp_path, MonthBill(Month(2026, 10), specs=specs), pdf=True, workers=2)
    assert names == _visible(tmp_path)
    assert len([n for n in names if n.endswith(".pdf")]) == 60
    assert all((tmp_path / n).read_bytes().startswith(b"%PDF") for n in names if n.endswith(".pdf"))
