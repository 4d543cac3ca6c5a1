"""Writes every e-invoice the tests make (tests/test_einvoice.py DOCUMENTS) to a folder,
for a second opinion by the official validator while developing:

    .venv/bin/python tests/einvoice_samples.py /tmp/ubl-samples
    ../shared/tools/peppol/validate /tmp/ubl-samples

(The demo month's e-invoices: `python -m metering.einvoice.batch SPEC_DIR OUT_DIR`.)
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_einvoice import DEMO_SELLER, DOCUMENTS, load_seller_file  # noqa: E402

from metering.einvoice.ubl import ubl_document  # noqa: E402


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    seller = load_seller_file(DEMO_SELLER)
    for name, spec in sorted(DOCUMENTS.items()):
        doc = ubl_document(spec, seller)
        if not isinstance(doc, bytes):
            print(f"{name}: skipped: {doc.reason}")
            return 1
        (out / f"{name}.xml").write_bytes(doc)
    print(f"{len(DOCUMENTS)} documents written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "ubl-samples")))
