"""`ccmeter tariffs show FAMILY`: a tariff's prices as a person reads them, one price
per line with its validity, assumptions marked."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from metering.catalog import Assumed, FamilyBase, Price, Tier


def _fmt_price(p: Price) -> str:
    parts = [f"{v.price} from {v.valid_from}" for v in p.versions]
    return "; ".join(parts)


def _walk(obj: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(obj, Price):
        out.append((path, _fmt_price(obj)))
    elif isinstance(obj, Assumed):
        inner: list[tuple[str, str]] = []
        _walk(obj.value, path, inner)
        mark = "  [assumption" + (f": {obj.note}" if obj.note else "") + "]" if obj.assumption else ""
        for p, v in inner or [(path, str(obj.value))]:
            out.append((p, v + mark))
    elif isinstance(obj, Tier):
        _walk(obj.price, f"{path}[{obj.from_}–{'' if obj.to is None else obj.to}]", out)
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            _walk(getattr(obj, name), f"{path}.{name}" if path else name, out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (BaseModel, dict, list, tuple)) for v in obj):
            out.append((path, ", ".join(map(str, obj))))
        else:
            for v in obj:
                _walk(v, path, out)
    else:
        out.append((path, str(obj)))


def render_family(model: FamilyBase) -> str:
    rows: list[tuple[str, str]] = []
    _walk(model, "", rows)
    width = max(len(p) for p, _ in rows)
    head = (f"Tariff {model.family} — prices in {model.currency}, "
            f"excl. VAT {model.vat.rate * 100:.0f} % ({model.vat.country})")
    return "\n".join([head, "-" * len(head)] + [f"{p:<{width}}  {v}" for p, v in rows])
