"""The seller: the operator running ccmeter, as printed on every PDF and written into
every e-invoice.

It comes from `$CCMETER_HOME/seller.yaml`; without that file the packaged demo default
`metering/einvoice/demo_seller.yaml` is used (a fictitious Dutch operator, `demo: true`).
The file is validated on load like a tariff file: an unknown or missing field, a
duplicated key, an identifier failing its check digits raise `SellerError` naming the
file and the field.

Fields (all text):
    name            legal name (cac:PartyLegalEntity/cbc:RegistrationName)
    street, city, postcode, country (ISO 3166-1 alpha-2)
    vat_id          VAT identifier with its country prefix (an NL one passes its check)
    company_id      legal registration number, with `company_scheme` (EAS code,
                    e.g. 0106 KVK; a Dutch seller needs 0106 or 0190, NL-R-003)
    peppol_id       Peppol endpoint `scheme:identifier`, e.g. 0106:90000002
    iban, bic       the account customers pay to (SEPA credit transfer)
    payment_terms   the payment terms text
    email, phone    optional seller contact
    demo            true only for the demo default
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from metering.einvoice import identifiers as ids

DEMO_SELLER = Path(__file__).resolve().parent / "demo_seller.yaml"
SELLER_FILE = "seller.yaml"


class SellerError(ValueError):
    """A seller file that cannot be used; the message names the file and the field."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicated key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _text(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be quoted text, got {v!r}")
    v = v.strip()
    if not v:
        raise ValueError("must not be empty")
    if any(ord(c) < 32 for c in v):
        raise ValueError("must be one line of text without control characters")
    return v


class Seller(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    street: str
    city: str
    postcode: str
    country: str
    vat_id: str
    company_id: str
    company_scheme: str
    peppol_id: str
    iban: str
    bic: str
    payment_terms: str
    email: str | None = None
    phone: str | None = None
    demo: bool = False

    @field_validator("name", "street", "city", "postcode", "country", "vat_id", "company_id",
                     "company_scheme", "peppol_id", "iban", "bic", "payment_terms", mode="before")
    @classmethod
    def _one_line(cls, v: Any) -> Any:
        return None if v is None else _text(v)

    @field_validator("email", "phone", mode="before")
    @classmethod
    def _optional_line(cls, v: Any) -> Any:
        return None if v is None or (isinstance(v, str) and not v.strip()) else _text(v)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        if len(v) != 2 or not v.isascii() or not v.isalpha() or not v.isupper():
            raise ValueError(f"must be an ISO 3166-1 alpha-2 code such as NL, got {v!r}")
        return v

    @field_validator("vat_id")
    @classmethod
    def _vat(cls, v: str) -> str:
        problem = ids.vat_id_error(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("peppol_id")
    @classmethod
    def _peppol(cls, v: str) -> str:
        problem = ids.peppol_id_error(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("iban")
    @classmethod
    def _iban(cls, v: str) -> str:
        v = v.replace(" ", "").upper()
        problem = ids.iban_error(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("bic")
    @classmethod
    def _bic(cls, v: str) -> str:
        problem = ids.bic_error(v)
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _company(self) -> "Seller":
        problem = ids.scheme_id_error(self.company_scheme, self.company_id)
        if problem:
            raise ValueError(f"company_id: {problem}")
        if self.country == "NL" and self.company_scheme not in ("0106", "0190"):
            raise ValueError("company_scheme: a Dutch seller's legal registration must be KVK (0106) or "
                             f"OIN (0190) (Peppol NL-R-003), got {self.company_scheme!r}")
        if not self.vat_id.startswith(self.country) and not (self.country == "GR" and self.vat_id.startswith("EL")):
            raise ValueError(f"vat_id: {self.vat_id!r} does not start with the seller's country {self.country}")
        return self

    @property
    def endpoint(self) -> ids.PeppolId:
        return ids.parse_peppol_id(self.peppol_id)

    def as_json(self) -> dict:
        """The `seller` block of the JSON specification (all strings; `demo` a bool)."""
        return {
            "name": self.name, "street": self.street, "postcode": self.postcode, "city": self.city,
            "country": self.country, "vat_id": self.vat_id, "company_id": self.company_id,
            "company_scheme": self.company_scheme, "peppol_id": self.peppol_id, "iban": self.iban,
            "bic": self.bic, "email": self.email, "phone": self.phone, "payment_terms": self.payment_terms,
            "demo": self.demo,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Seller":
        """A Seller back from a `seller` block (validated again)."""
        return cls.model_validate(data)


def _format(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{path}: {loc or '(top)'}: {msg}")
    return "invalid seller file\n" + "\n".join(parts) if len(parts) > 1 else parts[0]


def load_seller_file(path: Path) -> Seller:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SellerError(f"{path}: cannot be read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SellerError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise SellerError(f"{path}: expected a mapping of seller fields at the top")
    try:
        return Seller.model_validate(data)
    except ValidationError as exc:
        raise SellerError(_format(path, exc)) from None


def seller_path(workspace_root: Path) -> Path:
    """The seller file in force: the workspace's, else the packaged demo default."""
    own = Path(workspace_root) / SELLER_FILE
    return own if own.exists() else DEMO_SELLER


def load_seller(workspace_root: Path) -> Seller:
    """`$CCMETER_HOME/seller.yaml`, else the demo default. Raises SellerError."""
    return load_seller_file(seller_path(workspace_root))
