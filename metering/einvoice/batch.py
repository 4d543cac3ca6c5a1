"""E-invoices for every specification JSON of a folder, outside issuing (development,
checks with the official validator, re-creating documents):

    python -m metering.einvoice.batch SPEC_DIR OUT_DIR [--workspace DIR]

writes OUT_DIR/<subscriber_id>.xml for each `<subscriber_id>.json` in SPEC_DIR that gets
an e-invoice and prints one line per specification without one (with the reason).
The seller comes from the workspace (`--workspace`, else $CCMETER_HOME, else ./workspace).
Exit code 2 with one line on a broken seller file or a missing folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from metering.einvoice.seller import Seller, SellerError, load_seller
from metering.einvoice.ubl import EinvoiceSkipped, ubl_document
from metering.render.files import atomic_write
from metering.workspace import Workspace, safe_subscriber_id

SPEC_FILES_SKIPPED = {"manifest.json"}


def ubl_for_directory(spec_dir: Path, seller: Seller,
                      out_dir: Path) -> tuple[list[Path], list[tuple[str, EinvoiceSkipped]]]:
    written: list[Path] = []
    skipped: list[tuple[str, EinvoiceSkipped]] = []
    for path in sorted(Path(spec_dir).glob("*.json")):
        if path.name in SPEC_FILES_SKIPPED:
            continue
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(spec, dict) or "subscriber_id" not in spec:
            continue
        result = ubl_document(spec, seller)
        sid = safe_subscriber_id(str(spec["subscriber_id"]))
        if isinstance(result, bytes):
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{sid}.xml"
            atomic_write(target, result)
            written.append(target)
        else:
            skipped.append((sid, result))
    return written, skipped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m metering.einvoice.batch", description=__doc__.split("\n\n")[0])
    ap.add_argument("spec_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--workspace", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.spec_dir.is_dir():
        print(f"error: {args.spec_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        seller = load_seller(Workspace.from_env(args.workspace).root)
    except SellerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written, skipped = ubl_for_directory(args.spec_dir, seller, args.out_dir)
    for sid, s in skipped:
        print(f"{sid}: no e-invoice{' (einvoice.skipped)' if s.anomaly else ''}: {s.reason}")
    print(f"{len(written)} e-invoice(s) written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
