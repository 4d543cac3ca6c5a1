"""Plausibility limits of the data contract ("Bad input"): what a record or a tariff may
hold before ccmeter treats it as a mistake. Defaults are the contract's; each can be
overridden by an environment variable (documented in the README):

| limit | default | variable |
| --- | --- | --- |
| longest talk_s / handle_s / call leg / work log | 86400 s (24 h accepted) | `CCMETER_MAX_DURATION_S` |
| largest UTC offset of a timestamp | 50400 s (±14:00 accepted) | `CCMETER_MAX_UTC_OFFSET_S` |
| longest id (code points) | 64 | `CCMETER_MAX_ID_LENGTH` |
| largest tariff price | 1000000 | `CCMETER_MAX_PRICE` |

Subscriber ids that name ccmeter's own files in a month folder (`RESERVED_IDS`, any
case) are not a parameter: they would overwrite those files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

RESERVED_IDS = ("manifest", "summary", "anomalies", "anomalies-summary")

ENV = {
    "max_duration_s": "CCMETER_MAX_DURATION_S",
    "max_utc_offset_s": "CCMETER_MAX_UTC_OFFSET_S",
    "max_id_length": "CCMETER_MAX_ID_LENGTH",
    "max_price": "CCMETER_MAX_PRICE",
}


class LimitsError(ValueError):
    """An environment variable that does not hold a usable limit."""


@dataclass(frozen=True)
class Limits:
    max_duration_s: int = 24 * 3600
    max_utc_offset_s: int = 14 * 3600
    max_id_length: int = 64
    max_price: Decimal = Decimal("1000000")

    @classmethod
    def from_env(cls, environ=None) -> "Limits":
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # field name → its value (int or Decimal by field)
        for f in fields(cls):
            text = environ.get(ENV[f.name])
            if text is None or text.strip() == "":
                continue
            text = text.strip()
            try:
                value: int | Decimal
                if f.name == "max_price":
                    value = Decimal(text)
                    if not value.is_finite() or value <= 0:
                        raise InvalidOperation
                else:
                    value = int(text)
                    if value <= 0:
                        raise ValueError
            except (ValueError, InvalidOperation):
                raise LimitsError(f"{ENV[f.name]}={text!r}: expected a positive "
                                  f"{'decimal' if f.name == 'max_price' else 'whole number'}") from None
            values[f.name] = value
        return cls(**values)
