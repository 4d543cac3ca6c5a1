"""The tariff families, in one explicit registry (no module lookup by name): what billing
needs of a family is its tariff model, the product codes derived from it, which routed
usage it rates, `rate()` and three optional hooks. `metering.billing` combines any
families through this shape alone, with no branch for one of them.

Adding a family: its tariff YAML (tariffs/), its model (metering/catalog.py, with
`product_codes`, and a line in `catalog.MODELS`), one pricing module or package with its
`TariffFamily` object, its charge codes (metering/charges.py), its SQL, its tests, and
its line in `FAMILIES` below (and a branch of the routing CASE in sql/marts/usage.sql
when it rates usage records)."""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from metering.catalog import (
    AnsweringTariff,
    Catalog,
    FamilyBase,
    InteractTariff,
    KlippekortTariff,
    ServicePackTariff,
)
from metering.charges import CHARGES_OF, Charge
from metering.context import BillingInput
from metering.lines import FamilyResult, Line
from metering.periods import Month
from metering.pricing import answering, interact, klippekort, remote_support, service_pack


class TariffFamily(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def model(self) -> type[FamilyBase]:
        """The tariff file's model (catalog.MODELS[name])."""
        ...

    @property
    def usage_family(self) -> str | None:
        """The value of usage.family routed to it (sql/marts/usage.sql); None: it rates no usage."""
        ...

    def product_codes(self) -> tuple[str, ...]: ...

    def rate(self, inp: BillingInput) -> dict[str, FamilyResult]: ...

    def charges(self, catalog: Catalog) -> list[Charge]:
        """Every line code it emits (metering.charges), its texts fed by the catalog's tariff."""
        ...

    def invoice_minimum(self, catalog: Catalog, month: Month, lines: list[Line]) -> Line | None:
        """A supplement over a whole specification's own lines when the family is on it (L2)."""
        ...

    def payment_term_days(self, catalog: Catalog) -> int | None:
        """A term that governs the whole specification when the family is on it (G8: 14
        days with remote support); None: the longest term of the families on it."""
        ...


@dataclass(frozen=True)
class PricingModule:
    """A family whose pricing module has only `rate`: no invoice minimum, its own term.
    `rate` is looked up on the module at each call (the benchmark's timers wrap it)."""
    name: str
    model: type[FamilyBase]
    usage_family: str | None
    module: ModuleType

    def product_codes(self) -> tuple[str, ...]:
        return self.model.product_codes()

    def rate(self, inp: BillingInput) -> dict[str, FamilyResult]:
        return self.module.rate(inp)

    def charges(self, catalog: Catalog) -> list[Charge]:
        return CHARGES_OF[self.name](catalog)

    def invoice_minimum(self, catalog: Catalog, month: Month, lines: list[Line]) -> Line | None:
        return None

    def payment_term_days(self, catalog: Catalog) -> int | None:
        return None


# In the order of a specification's lines (pricing.md X: own lines by family).
FAMILIES: dict[str, TariffFamily] = {
    "answering": PricingModule("answering", AnsweringTariff, "answering", answering),
    "interact": PricingModule("interact", InteractTariff, None, interact),
    "remote_support": remote_support.REMOTE_SUPPORT,
    "service_pack": PricingModule("service_pack", ServicePackTariff, "service_pack", service_pack),
    "klippekort": PricingModule("klippekort", KlippekortTariff, "klippekort", klippekort),
}


def term_days(catalog: Catalog, present: list[str], parts: list[str]) -> int:
    """G8: the term of a specification: the one a family present on it governs with, else
    the longest of the families that have a part in it."""
    governing = [d for f in present if (d := FAMILIES[f].payment_term_days(catalog)) is not None]
    if governing:
        return max(governing)
    return max(catalog.families[f].payment_term_days.value for f in parts)


def minimums(catalog: Catalog, month: Month, families: list[str], lines: list[Line]) -> list[Line]:
    return [m for f in families if (m := FAMILIES[f].invoice_minimum(catalog, month, lines)) is not None]

