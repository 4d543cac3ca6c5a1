"""The charge-code registry: every line code a tariff family emits, with the rule that
makes it, its unit and price unit, the divisor between them, its service (the JSON
`service` and the PDF section), its display order and its description template. Python
reads a code's facts here instead of parsing the code; SQL gets the same registry as the
table `charge_codes` (`materialise_charge_codes`).

Each family declares its charges (`TariffFamily.charges`): remote support in its own
module, the others here (`CHARGES_OF`). Most codes are fixed; the graduated bands (A3,
M1) have one code per tier of the tariff in use, so the registry is built from a
catalog (`registry(catalog)`). A description template is filled from the tariff's
parameters when the registry is built (a changed `talk_over_s` changes the text) and
from the line's own fields when a line is made."""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from metering.catalog import ONE_OFFS

if TYPE_CHECKING:
    from metering.catalog import Catalog, Price
    from metering.lines import Line


@dataclass(frozen=True, kw_only=True)
class ChargeForm:
    """The second form of a code whose rule prices it two ways (S5: travel by km or, at the
    minimum, per trip; I4: by remaining months or the row's agreed fee): its own units and
    description template, declared here like the first form."""
    unit: str
    price_unit: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Charge:
    code: str
    family: str
    service: str
    rule: str
    unit: str
    price_unit: str
    order: int  # display order of the family's lines (ties: the family's own order)
    text: str  # description template: str.format fields from the tariff and the line
    divisor: int = 1  # amount = quantity × unit price / divisor (seconds priced per minute: 60)
    tier: int | None = None  # graduated band number (A3/M1), 1-based
    kind: str | None = None  # the usage kind a band ranks ('call', 'interaction')
    price: Price | None = field(default=None, compare=False)  # the tariff's unit price of a usage code
    usage: bool = False  # priced per quantity of usage (a line per code and unit price, G2)
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    forms: dict[str, ChargeForm] = field(default_factory=dict, compare=False)  # second forms by name

    def describe(self, form: str | None = None, **line_fields: Any) -> str:
        text = self.forms[form].text if form is not None else self.text
        return text.format(**{**self.params, **line_fields})

    def unit_price(self, day: date) -> Decimal:
        """The unit price of a usage code valid on `day` (an included call or interaction: 0)."""
        return self.price.at(day) if self.price is not None else Decimal("0.00")

    def line(self, *, quantity: Decimal | int, unit_price: Decimal, exact: Fraction, vat_rate: Decimal,
             description: str | None = None, rounded: Decimal | None = None, form: str | None = None,
             **line_fields: Any) -> Line:
        """A line of this charge: code, rule, family, service, units and description from the
        registry (from its second form `form`, where the rule has one); `description` only
        where the caller filled the template already (fee lines)."""
        from metering.lines import Line
        shape = self.forms[form] if form is not None else self
        return Line(code=self.code, description=description if description is not None else self.describe(
                    form, **line_fields), quantity=quantity, unit=shape.unit, unit_price=unit_price,
                    price_unit=shape.price_unit, exact=exact, vat_rate=vat_rate, rule=self.rule,
                    family=self.family, rounded=rounded, service=self.service)


def fee(code: str, family: str, service: str, rule: str, order: int, text: str = "{name} ({span})") -> Charge:
    """G4/G5: a monthly fee per active day (metering.lines.fee_line)."""
    return Charge(code=code, family=family, service=service, rule=rule, unit="day", price_unit="month",
                  order=order, text=text)


ANSWERING_OPTION_RULES = {"voice_response": "A8", "reports_mail_unlimited": "R1", "sms_bundle_75": "R2",
                          "sms_bundle_200": "R2", "sms_bundle_500": "R2", "monthly_specification": "R3"}


def _answering(catalog: Catalog) -> list[Charge]:
    t = catalog.answering
    a = "answering"
    out = [
        fee("phone.plan", a, "phone", "G4", 0, "Telephone answering plan {item} ({span})"),
        fee("messaging.plan", a, "messaging", "G4", 1, "E-mail, chat, WhatsApp plan {item} ({span})"),
        # options share one order: they are listed by row (valid_from, product), not by option
        *(fee(f"option.{name}", a, "option", rule, 2) for name, rule in ANSWERING_OPTION_RULES.items()),
        fee("direct.package", a, "direct", "D1", 3, "DIRECT assistant package {hours} h ({span})"),
    ]
    usage = 10  # usage lines follow the fees: calls, talk, legs, foreign, messaging, reports, training, DIRECT

    p, m = t.phone, t.messaging

    def u(code: str, service: str, rule: str, unit: str, price_unit: str, price: Price | None, text: str,
          divisor: int = 1, tier: int | None = None, kind: str | None = None) -> None:
        out.append(Charge(code=code, family=a, service=service, rule=rule, unit=unit, price_unit=price_unit,
                          order=usage + len(out), text=text, divisor=divisor, tier=tier, kind=kind, price=price,
                          usage=True, params={"talk_over_s": p.talk_over_s, "aht_threshold_s": m.aht_threshold_s}))

    def tiers(prefix: str, service: str, rule: str, kind: str, noun: str, graduated) -> None:
        for i, band in enumerate(graduated, start=1):
            ranks = f"{band.from_}–{band.to}" if band.to is not None else f"{band.from_} and up"
            u(f"{prefix}{i}", service, rule, kind, kind, band.price, f"{noun}, ranks {ranks}", tier=i, kind=kind)

    u("phone.calls.included", "phone", "A3", "call", "call", None, "Calls included in the plan")
    u("phone.calls.over", "phone", "A3", "call", "call", p.over_allowance, "Calls beyond the included calls")
    tiers("phone.calls.tier", "phone", "A3", "call", "Calls", p.graduated)
    u("phone.talk_over_90s", "phone", "A4", "second", "minute", p.talk_over_per_minute,
      "Talk time above {talk_over_s} s per call", 60)
    u("phone.transfer.attempts", "phone", "A5", "attempt", "attempt", p.transfer_attempt, "Transfer attempts")
    u("phone.transfer.talk", "phone", "A5", "second", "minute", p.transfer_talk_per_minute, "Transfer talk time", 60)
    u("phone.outbound.attempts", "phone", "A6", "attempt", "attempt", p.outbound_attempt, "Outbound call attempts")
    u("phone.outbound.talk", "phone", "A6", "second", "minute", p.outbound_talk_per_minute, "Outbound talk time", 60)
    u("phone.foreign", "phone", "A7", "second", "minute", p.foreign_per_minute,
      "Foreign surcharge on transfer/outbound talk time", 60)
    tiers("messaging.tier", "messaging", "M1", "interaction", "Interactions", m.graduated)
    u("messaging.included", "messaging", "M1", "interaction", "interaction", None,
      "Interactions included in the plan")
    u("messaging.over", "messaging", "M1", "interaction", "interaction", m.over_allowance,
      "Interactions beyond the included interactions")
    u("messaging.aht", "messaging", "M2", "second", "minute", m.aht_per_minute,
      "AHT surcharge (AHT_pre above {aht_threshold_s} s, per interaction)", 60)
    u("reports.mail", "reports", "R1", "report", "report", t.reports.mail_each, "Call reports by e-mail")
    u("reports.sms", "reports", "R2", "SMS", "SMS", t.reports.sms_each, "Call reports by SMS")
    u("training.hours", "training", "T1", "minute", "hour", t.training_per_hour, "Training of agents", 60)
    u("direct.hours", "direct", "D1", "minute", "hour", t.direct.per_hour, "DIRECT assistant (beyond package)", 60)
    out.append(Charge(code="discount.bundle", family=a, service="discount", rule="B1", unit="fee", price_unit="fee",
                      order=usage + len(out),
                      text="Bundle discount {percent:.1f} % × {extra} extra service(s) on plan fees"))
    return out


def _interact(catalog: Catalog) -> list[Charge]:
    t = catalog.interact
    i = "interact"
    out = [Charge(code="interact.seats", family=i, service="interact", rule="I1", unit="user-day",
                  price_unit="user-month", order=0,
                  text="#Interact {item} seats ({span}, {users} a day, at least {minimum_users}{sla})",
                  params={"minimum_users": t.minimum_users}),
           fee("interact.generic_api", i, "interact", "I2", 1),
           fee("interact.chatbot_api", i, "interact", "I2", 1)]
    for n, name in enumerate(ONE_OFFS):
        unit = "channel" if t.one_offs[name].per_quantity else "one-off"
        out.append(Charge(code=f"interact.{name}", family=i, service="interact", rule="I3", unit=unit,
                          price_unit=unit, order=2 + n, text="{name}"))
    out.append(Charge(code="interact.early_termination", family=i, service="interact", rule="I4", unit="month",
                      price_unit="month", order=10, text="Early termination within the {term_months}-month term "
                      "({span}): {remaining} remaining months × ({users} users × {seat}{options})",
                      params={"term_months": t.term_months},
                      forms={"agreed_fee": ChargeForm(unit="fee", price_unit="fee", text="Early termination within "
                                                      "the {term_months}-month term ({span}; agreed fee)")}))
    return out


def _service_pack(catalog: Catalog) -> list[Charge]:
    s = "service_pack"
    return [
        Charge(code="servicepack.purchase", family=s, service="servicepack", rule="S2", unit="pack",
               price_unit="pack", order=0, text="{pack}: {parts}"),
        # one code, two forms (S5): trips charged by distance in km, trips at the minimum in trips
        Charge(code="servicepack.travel", family=s, service="servicepack", rule="S5", unit="km", price_unit="km",
               order=1, text="Travel, {trips} on-site trip{s}, {km} km round trip",
               forms={"minimum": ChargeForm(unit="trip", price_unit="trip",
                                            text="Travel, minimum per on-site trip ({trips} trip{s})")}),
    ]


def _klippekort(catalog: Catalog) -> list[Charge]:
    k = "klippekort"
    return [
        Charge(code="klippekort.purchase", family=k, service="klippekort", rule="K2", unit="card",
               price_unit="card", order=0, text="Klippekort {size} klip: {parts}"),
        Charge(code="klippekort.overflow", family=k, service="klippekort", rule="K5", unit="klip",
               price_unit="klip", order=1, text="Hours beyond the klippekort, at the full hour rate"),
        Charge(code="klippekort.forfeit", family=k, service="klippekort", rule="K6", unit="klip",
               price_unit="klip", order=2, text="Klip forfeited: {which}"),
    ]


# the charges of the families whose pricing module does not declare its own (metering.families)
CHARGES_OF = {"answering": _answering, "interact": _interact, "service_pack": _service_pack,
              "klippekort": _klippekort}


@dataclass(frozen=True)
class Registry:
    charges: dict[str, Charge]

    def __getitem__(self, code: str) -> Charge:
        try:
            return self.charges[code]
        except KeyError:
            raise KeyError(f"line code {code!r} is not in the charge registry (metering/charges.py)") from None

    def __contains__(self, code: object) -> bool:
        return code in self.charges

    def of_family(self, family: str) -> list[Charge]:
        return [c for c in self.charges.values() if c.family == family]

    def table(self) -> pa.Table:
        cs = list(self.charges.values())
        return pa.table({
            "code": pa.array([c.code for c in cs], pa.string()),
            "family": pa.array([c.family for c in cs], pa.string()),
            "service": pa.array([c.service for c in cs], pa.string()),
            "rule": pa.array([c.rule for c in cs], pa.string()),
            "unit": pa.array([c.unit for c in cs], pa.string()),
            "price_unit": pa.array([c.price_unit for c in cs], pa.string()),
            "divisor": pa.array([c.divisor for c in cs], pa.int64()),
            "display_order": pa.array([c.order for c in cs], pa.int64()),
            "tier": pa.array([c.tier for c in cs], pa.int64()),
            "kind": pa.array([c.kind for c in cs], pa.string())})


# one registry per catalog object, dropped with it (a long-running process reloads the
# catalog whenever a tariff file changes)
_registries: weakref.WeakKeyDictionary[Catalog, Registry] = weakref.WeakKeyDictionary()
_services: dict[str, str] = {}  # every code any registry built so far → its service


def registry(catalog: Catalog) -> Registry:
    """The registry of `catalog` (built once per catalog object)."""
    found = _registries.get(catalog)
    if found is not None:
        return found
    from metering.families import FAMILIES  # the families import this module
    charges: dict[str, Charge] = {}
    for family in FAMILIES.values():
        for c in family.charges(catalog):
            if c.code in charges:
                raise ValueError(f"line code {c.code!r} is registered twice ({charges[c.code].family}, {c.family})")
            charges[c.code] = c
    reg = Registry(charges)
    _registries[catalog] = reg
    _services.update({c.code: c.service for c in charges.values()})
    return reg


def service_of(code: str) -> str:
    """The service of a code for a line made without its Charge (a test, an older
    document): from the registries built so far, else the default catalog's."""
    if code not in _services:
        from metering.catalog import load_catalog
        registry(load_catalog())
    if code not in _services:
        raise KeyError(f"line code {code!r} is not in the charge registry (metering/charges.py)")
    return _services[code]


def materialise_charge_codes(con, catalog: Catalog) -> None:
    """The registry as the warehouse table `charge_codes` (described in sql/descriptions.yaml),
    rewritten only when it differs: every rating reads it, few change it (a tariff's tiers)."""
    from metering import sqlfiles
    from metering.db import materialise
    table = registry(catalog).table()
    wanted = sorted(zip(*(table.column(n).to_pylist() for n in table.column_names)))
    if sqlfiles.value(con, "status/table_exists", {"t": "charge_codes"}) and \
            sqlfiles.rows(con, "status/charge_codes_rows") == wanted:
        return
    materialise(con, "charge_codes", table)
    sqlfiles.apply_descriptions(con, ("charge_codes",))
