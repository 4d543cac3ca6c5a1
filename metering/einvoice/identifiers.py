"""Identifiers of e-invoices and their check digits.

Every checker takes text and returns a reason string when the value is malformed, or
None when it is fine (`*_error` functions); `*_valid` are the boolean forms. Nothing
here raises on user data.

- BE enterprise number (Peppol scheme 0208): 10 digits, the last two = 97 − (first
  eight mod 97) (the rule PEPPOL-COMMON-R043 applies).
- DK CVR (0184): 8 digits, weights 2 7 6 5 4 3 2 1, weighted sum ≡ 0 (mod 11).
- GS1 GLN (0088): 13 digits, GS1 mod-10 check digit (weights 3, 1 from the right).
- NL KVK (0106): 8 digits (the KVK publishes no check digit).
- NL OIN (0190): 20 digits.
- IBAN: ISO 13616 mod 97 = 1, with the country's length.
- NL VAT id: `NL` + 9 digits + `B` + 2 digits, passing either the mod-97 check of the
  btw-id (the whole id as an IBAN-like number ≡ 1 mod 97) or the 11-test of the older
  omzetbelastingnummer on the 9 digits.
- `peppol_id`: `scheme:identifier` with a scheme of the Peppol EAS code list
  (`eas_codes.yaml`), check digits verified where the scheme defines them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

EAS_FILE = Path(__file__).resolve().parent / "eas_codes.yaml"

# the legal-registration scheme (company_id) of each subscriber country
COMPANY_SCHEMES = {"NL": "0106", "BE": "0208", "DK": "0184"}

IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

_DIGITS = re.compile(r"[0-9]+")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")


@lru_cache(maxsize=1)
def eas_codes() -> dict[str, str]:
    """The Peppol EAS code list kept in the repository: code → name."""
    data = yaml.safe_load(EAS_FILE.read_text(encoding="utf-8"))
    return {str(k): str(v or "") for k, v in data.items()}


def _letters_to_digits(text: str) -> str:
    return "".join(str(int(c, 36)) for c in text)


def be_enterprise_error(value: str) -> str | None:
    if not (len(value) == 10 and _DIGITS.fullmatch(value)):
        return f"BE enterprise number {value!r} must be 10 digits"
    if 97 - int(value[:8]) % 97 != int(value[8:]):
        return f"BE enterprise number {value!r} fails its mod-97 check"
    return None


def dk_cvr_error(value: str) -> str | None:
    if not (len(value) == 8 and _DIGITS.fullmatch(value)):
        return f"DK CVR number {value!r} must be 8 digits"
    if sum(int(d) * w for d, w in zip(value, (2, 7, 6, 5, 4, 3, 2, 1))) % 11:
        return f"DK CVR number {value!r} fails its mod-11 check"
    return None


def gln_error(value: str) -> str | None:
    if not (_DIGITS.fullmatch(value) and len(value) == 13):
        return f"GLN {value!r} must be 13 digits"
    body, check = value[:-1], int(value[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        return f"GLN {value!r} fails its GS1 check digit"
    return None


def kvk_error(value: str) -> str | None:
    if not (len(value) == 8 and _DIGITS.fullmatch(value)):
        return f"KVK number {value!r} must be 8 digits"
    return None


def oin_error(value: str) -> str | None:
    if not (len(value) == 20 and _DIGITS.fullmatch(value)):
        return f"OIN {value!r} must be 20 digits"
    return None


def iban_error(value: str) -> str | None:
    v = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", v):
        return f"IBAN {value!r} is not of the form CCkk followed by the account"
    length = IBAN_LENGTHS.get(v[:2])
    if length is not None and len(v) != length:
        return f"IBAN {value!r} must have {length} characters for {v[:2]}"
    if int(_letters_to_digits(v[4:] + v[:4])) % 97 != 1:
        return f"IBAN {value!r} fails its mod-97 check"
    return None


def bic_error(value: str) -> str | None:
    if not _BIC.fullmatch(value):
        return f"BIC {value!r} must be 8 or 11 letters and digits (bank, country, location[, branch])"
    return None


def nl_vat_error(value: str) -> str | None:
    if not re.fullmatch(r"NL[0-9]{9}B[0-9]{2}", value):
        return f"NL VAT id {value!r} must be NL, 9 digits, B and 2 digits"
    mod97 = int(_letters_to_digits(value)) % 97 == 1
    digits = value[2:11]
    eleven = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1))) % 11 == 0
    if not (mod97 or eleven):
        return f"NL VAT id {value!r} fails its check (mod 97 and 11-test)"
    return None


def vat_prefix_error(value: str) -> str | None:
    """A VAT identifier must start with its country's ISO code (EN 16931 BR-CO-09)."""
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Za-z+*.]{2,13}", value):
        return f"VAT id {value!r} must be a two-letter country prefix followed by 2-13 letters or digits"
    return None


def vat_id_error(value: str) -> str | None:
    """A VAT identifier must start with its country's ISO code (EN 16931 BR-CO-09; Greece:
    EL); an NL one is checked further."""
    problem = vat_prefix_error(value)
    if problem:
        return problem
    if value.startswith("NL"):
        return nl_vat_error(value)
    return None


# scheme → checker of the identifier (schemes without one only need a non-empty value)
SCHEME_CHECKS = {
    "0208": be_enterprise_error,
    "0184": dk_cvr_error,
    "0088": gln_error,
    "0106": kvk_error,
    "0190": oin_error,
    "9944": nl_vat_error,
}


def scheme_id_error(scheme: str, identifier: str) -> str | None:
    """Check digits / format of `identifier` under the EAS `scheme`."""
    if scheme not in eas_codes():
        return f"scheme {scheme!r} is not a Peppol EAS code"
    if not identifier or identifier != identifier.strip() or len(identifier) > 50:
        return f"identifier {identifier!r} of scheme {scheme} must be 1-50 characters without surrounding spaces"
    check = SCHEME_CHECKS.get(scheme)
    return check(identifier) if check else None


@dataclass(frozen=True)
class PeppolId:
    scheme: str
    identifier: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.identifier}"


class IdentifierError(ValueError):
    """A malformed identifier; the message says why."""


def parse_peppol_id(text: str) -> PeppolId:
    """`scheme:identifier` (e.g. `0208:0123456749`) → PeppolId, or IdentifierError."""
    raw = (text or "").strip()
    scheme, sep, identifier = raw.partition(":")
    if not sep:
        raise IdentifierError(f"peppol_id {text!r} must be scheme:identifier, e.g. 0106:12345678")
    problem = scheme_id_error(scheme, identifier)
    if problem:
        raise IdentifierError(f"peppol_id {text!r}: {problem}")
    return PeppolId(scheme, identifier)


def peppol_id_error(text: str) -> str | None:
    try:
        parse_peppol_id(text)
    except IdentifierError as exc:
        return str(exc)
    return None


def normalise_company_id(country: str, value: str) -> str:
    """The company id as the scheme writes it: spaces, dots and dashes removed; a
    leading country prefix (BE0123456749) dropped."""
    v = re.sub(r"[\s.\-]", "", value or "")
    if country and v.upper().startswith(country.upper()) and v[2:].isdigit():
        v = v[2:]
    return v


def company_id_error(country: str, value: str) -> str | None:
    """The legal registration number of a subscriber of `country` (NL KVK, BE
    enterprise number, DK CVR), after normalising."""
    scheme = COMPANY_SCHEMES.get(country)
    if scheme is None:
        return f"no company id scheme is known for country {country!r}"
    return SCHEME_CHECKS[scheme](normalise_company_id(country, value))


def be_enterprise_valid(value: str) -> bool:
    return be_enterprise_error(value) is None


def dk_cvr_valid(value: str) -> bool:
    return dk_cvr_error(value) is None


def gln_valid(value: str) -> bool:
    return gln_error(value) is None


def kvk_valid(value: str) -> bool:
    return kvk_error(value) is None


def iban_valid(value: str) -> bool:
    return iban_error(value) is None


def nl_vat_valid(value: str) -> bool:
    return nl_vat_error(value) is None
