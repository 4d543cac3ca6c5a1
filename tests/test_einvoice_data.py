"""E-invoice data end to end: the subscribers feed's optional e-invoice columns (loaded
even when malformed, migration of an older warehouse), the specification dict keys, and
the demo month: every demo specification with a peppol_id gets a UBL document valid
against the UBL 2.1 schema, the malformed one is skipped with its reason, and every demo
specification passes the JSON Schema."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from metering.billing import bill_month
from metering.catalog import load_catalog
from metering.db import connect, rows
from metering.einvoice.batch import main as batch_main
from metering.einvoice.batch import ubl_for_directory
from metering.einvoice.seller import load_seller
from metering.einvoice.ubl import ubl_document
from metering.ingest import create_tables, ingest
from metering.periods import Month
from metering.workspace import Workspace
from synthetic.workspace import EINVOICE, generate_workspace

XSD = Path(__file__).resolve().parent / "ubl21" / "maindoc"
SCHEMA = Path(__file__).resolve().parent.parent / "metering" / "einvoice" / "specification.schema.json"


def _drop(ws: Workspace, feed: str, name: str, text: str) -> None:
    d = ws.feed_dir(feed)
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text, encoding="utf-8")


def test_einvoice_columns_load_even_when_malformed(tmp_path):
    ws = Workspace(tmp_path).ensure()
    _drop(ws, "subscribers", "s.csv",
          "subscriber_id,name,country,street,city,postcode,company_id,peppol_id,buyer_reference\n"
          "S1,One,BE,Meir 1,Antwerpen,2000,0123456749,0208:0123456749,PO 1\n"
          "S2,Two,BE,,,,0123456748,1234:nonsense,\n"
          "S3,Three,NL,,,,,,\n")
    con = connect(ws.warehouse)
    try:
        res = ingest(con, ws)
        assert [(r.loaded, r.quarantined) for r in res] == [(3, 0)]
        got = rows(con, "select subscriber_id, street, city, postcode, company_id, peppol_id, buyer_reference "
                        "from subscribers order by subscriber_id")
    finally:
        con.close()
    assert got == [("S1", "Meir 1", "Antwerpen", "2000", "0123456749", "0208:0123456749", "PO 1"),
                   ("S2", None, None, None, "0123456748", "1234:nonsense", None),
                   ("S3", None, None, None, None, None, None)]


def test_row_without_einvoice_fields_keeps_its_old_hash(tmp_path):
    """A file sent again with the new (empty) columns is the same record, not a conflict."""
    ws = Workspace(tmp_path).ensure()
    _drop(ws, "subscribers", "a.csv", "subscriber_id,name,country\nS1,One,NL\n")
    _drop(ws, "subscribers", "b.csv", "subscriber_id,name,country,peppol_id,street\nS1,One,NL,,\n")
    con = connect(ws.warehouse)
    try:
        res = ingest(con, ws)
    finally:
        con.close()
    assert [(r.loaded, r.duplicates, r.quarantined) for r in res] == [(1, 0, 0), (0, 1, 0)]


def test_older_warehouse_gets_the_new_columns(tmp_path):
    ws = Workspace(tmp_path).ensure()
    con = connect(ws.warehouse)
    try:
        con.execute("create table subscribers (subscriber_id varchar not null, name varchar not null, "
                    "country varchar not null, address varchar, vat_id varchar, email varchar, "
                    "_hash varchar not null, _file varchar not null, _line bigint not null)")
        con.execute("insert into subscribers values ('OLD', 'Old', 'NL', null, null, null, 'h', 'f', 2)")
        create_tables(con)
        create_tables(con)  # idempotent
        cols = [r[0] for r in rows(con, "select column_name from information_schema.columns "
                                        "where table_name = 'subscribers' order by ordinal_position")]
        assert cols[-6:] == ["street", "city", "postcode", "company_id", "peppol_id", "buyer_reference"]
        _drop(ws, "subscribers", "s.csv", "subscriber_id,name,country,peppol_id\nNEW,New,NL,0106:12345678\n")
        ingest(con, ws)
        assert rows(con, "select subscriber_id, peppol_id from subscribers order by subscriber_id") \
            == [("NEW", "0106:12345678"), ("OLD", None)]
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_month(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-einvoice")
    ws = Workspace(root).ensure()
    generate_workspace(root, size="tiny", bad_files=False)
    con = connect(ws.warehouse)
    try:
        ingest(con, ws)
        bill = bill_month(con, Month.parse("2026-10"), load_catalog())
    finally:
        con.close()
    return ws, bill


def test_demo_specs_carry_einvoice_keys(demo_month):
    _, bill = demo_month
    by_id = {s["subscriber_id"]: s for s in bill.specs}
    s = by_id["NL-ANS-0002"]
    assert (s["company_id"], s["peppol_id"], s["buyer_reference"]) == EINVOICE["NL-ANS-0002"]
    assert s["street"] and s["city"] and s["postcode"] == s["address"].split(", ")[1][:7]
    assert by_id["NL-ANS-0001"]["peppol_id"] is None


def test_demo_month_ubl_valid_and_malformed_skipped(demo_month, tmp_path):
    ws, bill = demo_month
    seller = load_seller(ws.root)
    schemas = {k: xmlschema.XMLSchema(str(XSD / f"UBL-{k}-2.1.xsd")) for k in ("Invoice", "CreditNote")}
    made, skipped = {}, {}
    for spec in bill.specs:
        result = ubl_document(json.loads(json.dumps(spec)), seller)
        if isinstance(result, bytes):
            made[spec["subscriber_id"]] = result
        else:
            skipped[spec["subscriber_id"]] = result
    assert {"NL-ANS-0002", "NL-RS-0002", "BE-IX-0001", "DK-KK-0004"} <= set(made)
    for sid, doc in made.items():
        schemas["Invoice"].validate(doc.decode("utf-8"))
    bad = skipped["BE-SP-0001"]
    assert bad.anomaly and "mod-97" in bad.reason
    assert all(not s.anomaly for sid, s in skipped.items() if sid != "BE-SP-0001")
    # the batch helper does the same from the JSON files
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for spec in bill.specs:
        (spec_dir / f"{spec['subscriber_id']}.json").write_text(json.dumps(spec), encoding="utf-8")
    written, skipped_files = ubl_for_directory(spec_dir, seller, tmp_path / "ubl")
    assert sorted(p.stem for p in written) == sorted(made)
    assert all((tmp_path / "ubl" / f"{sid}.xml").read_bytes() == doc for sid, doc in made.items())
    assert ("BE-SP-0001", bad) in skipped_files


def test_batch_cli_broken_seller_is_one_line(tmp_path, capsys):
    (tmp_path / "seller.yaml").write_text("name: x\n", encoding="utf-8")
    (tmp_path / "specs").mkdir()
    assert batch_main([str(tmp_path / "specs"), str(tmp_path / "out"), "--workspace", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "seller.yaml" in err and "Traceback" not in err


def test_demo_specs_match_json_schema(demo_month):
    _, bill = demo_month
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    seller = load_seller(demo_month[0].root).as_json()
    for spec in bill.specs:
        doc = json.loads(json.dumps(spec))
        validator.validate(doc)
        validator.validate({**doc, "seller": seller, "adjustments": [], "document_type": "specification"})
