"""The tariff catalog: one YAML file per tariff family in `tariffs/`, validated on load.

Prices are quoted decimal strings turned into `Decimal`; each price has versions with a
valid-from date (G5). Figures the sheets do not give are `Assumed` parameters: a value
plus `assumption: true` and a note, overridable in the file. A broken file fails fast
with a `CatalogError` naming file, field path and problem.
"""
from __future__ import annotations

import bisect
import os
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Callable, Generic, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FAMILIES = ("answering", "service_pack", "klippekort", "interact", "remote_support")

T = TypeVar("T")
F = TypeVar("F", bound="FamilyBase")


class CatalogError(ValueError):
    """A tariff file that cannot be used; the message names file, field and problem."""


def tariffs_dir() -> Path:
    env = os.environ.get("CCMETER_TARIFFS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "tariffs"


PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _decimal(value: Any) -> Decimal:
    """A quoted decimal in plain notation: digits, an optional point and digits. No
    exponent (`1e3`), no `inf`/`nan`, no float: a price is read exactly as written."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"a price must be a quoted decimal string such as \"3.03\", got {value!r}")
    if not PLAIN_DECIMAL.fullmatch(value):
        try:
            Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal: {value!r}") from None
        raise ValueError(f"not a decimal in plain notation (digits and a point, no exponent, inf or nan): "
                         f"{value!r}")
    return Decimal(value)


def _fraction(value: Any, what: str) -> Decimal:
    """A rate or discount: a plain decimal in [0, 1) (0.21 for 21 %)."""
    d = _decimal(value)
    if not Decimal(0) <= d < Decimal(1):
        raise ValueError(f"{what} {value} is outside [0, 1): write a fraction, e.g. 0.21 for 21 %")
    return d


def _max_price() -> Decimal:
    from metering.limits import Limits
    return Limits.from_env().max_price


def _one_of(*names: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        if name not in names:
            raise ValueError(f"{name!r} is not one of {', '.join(names)}")
        return name
    return check


# The names a tariff file may use as keys. A row's item (a str) indexes these maps, so
# they are `str` to the type checker and checked against the list when a file loads.
AnsweringPlanName = Annotated[str, AfterValidator(_one_of("BASIC", "SMART", "PLUS", "PREMIUM"))]
PackName = Annotated[str, AfterValidator(_one_of("1h", "3h", "10h"))]
CardSize = Annotated[str, AfterValidator(_one_of("10", "20", "30"))]
KlipAddonName = Annotated[str, AfterValidator(_one_of("monthly_check", "quarterly_check", "phone_support",
                                                      "callout_8h", "callout_6h", "callout_4h"))]
InteractPlanName = Annotated[str, AfterValidator(_one_of("HUB", "PRO"))]
InteractOptionName = Annotated[str, AfterValidator(_one_of("generic_api", "chatbot_api"))]
OneOffName = Annotated[str, AfterValidator(_one_of("activation", "channel", "training", "integration",
                                                   "api_activation"))]
RemoteAddonName = Annotated[str, AfterValidator(_one_of("pager", "lpas"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceVersion(Strict):
    valid_from: date
    price: Decimal

    @field_validator("price", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Decimal:
        d = _decimal(v)
        if d > _max_price():
            raise ValueError(f"price {v} is more than the limit of {_max_price()} (CCMETER_MAX_PRICE)")
        return d


class Price(Strict):
    """A price with its versions; `at(day)` gives the one valid that day. A day before
    the first version uses the first version (G5)."""

    versions: tuple[PriceVersion, ...]

    @model_validator(mode="after")
    def _ordered(self) -> "Price":
        if not self.versions:
            raise ValueError("a price needs at least one version")
        days = [v.valid_from for v in self.versions]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("price versions must have distinct valid_from dates in ascending order")
        for v in self.versions:
            if v.price < 0:
                raise ValueError(f"negative price {v.price}")
        return self

    def at(self, day: date) -> Decimal:
        versions = self.versions
        if len(versions) == 1:  # the common case: one version, valid for every day
            return versions[0].price
        i = bisect.bisect_right([v.valid_from for v in versions], day) - 1
        return versions[max(i, 0)].price

    def change_days(self) -> list[date]:
        return [v.valid_from for v in self.versions]


class Assumed(Strict, Generic[T]):
    value: T
    assumption: bool = False
    note: str = ""


class HoursSpan(Strict):
    from_: str = Field(alias="from")
    to: str

    @field_validator("from_", "to")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        h, _, m = v.partition(":")
        if not (h.isdigit() and m.isdigit() and 0 <= int(h) <= 24 and 0 <= int(m) < 60):
            raise ValueError(f"not a time HH:MM: {v!r}")
        return v

    def seconds(self) -> tuple[int, int]:
        def s(t: str) -> int:
            h, m = t.split(":")
            return int(h) * 3600 + int(m) * 60
        lo, hi = s(self.from_), s(self.to)
        if hi <= lo:
            raise ValueError("hours must end after they start")
        return lo, hi


Weekday = Literal[0, 1, 2, 3, 4, 5, 6]  # Monday = 0, as Python's date.weekday()


class WeeklyHours(Strict):
    weekdays: tuple[Weekday, ...]
    spans: tuple[HoursSpan, ...]

    @cached_property
    def _span_seconds(self) -> tuple[tuple[int, int], ...]:
        return tuple(s.seconds() for s in self.spans)

    def contains(self, weekday: int, second_of_day: int) -> bool:
        return weekday in self.weekdays and any(lo <= second_of_day < hi for lo, hi in self._span_seconds)


class Tier(Strict):
    from_: int = Field(alias="from")
    to: int | None
    price: Price


def _check_tiers(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    if not tiers or tiers[0].from_ != 1:
        raise ValueError("tiers must start at 1")
    for a, b in zip(tiers, tiers[1:]):
        if a.to is None or b.from_ != a.to + 1:
            raise ValueError(f"tiers must be contiguous: {a.from_}–{a.to} then {b.from_}")
    if tiers[-1].to is not None:
        raise ValueError("the last tier must be open-ended (to: null)")
    for t in tiers:
        if t.to is not None and t.to < t.from_:
            raise ValueError(f"tier {t.from_}–{t.to} ends before it starts")
    return tiers


class Vat(Strict):
    country: Literal["NL", "BE", "DK"]
    rate: Decimal

    @field_validator("rate", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Decimal:
        return _fraction(v, "VAT rate")


class FamilyBase(Strict):
    family: str
    currency: Literal["EUR", "DKK"]
    vat: Vat
    price_valid_from: Assumed[date]
    payment_term_days: Assumed[int]

    @model_validator(mode="before")
    @classmethod
    def _prices(cls, data: Any) -> Any:
        """Turn every plain price string into a one-version Price valid from the
        catalog's `price_valid_from`, so all prices are versioned alike."""
        if not isinstance(data, dict):
            return data
        start = data.get("price_valid_from")
        start = start.get("value") if isinstance(start, dict) else start
        return _versioned(cls, data, start)


def _versioned(model: type[BaseModel], data: Any, start: Any) -> Any:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in out:
            continue
        out[key] = _convert(field.annotation, out[key], start)
    return out


def _convert(annotation: Any, value: Any, start: Any) -> Any:
    import typing
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Price:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return {"versions": [{"valid_from": start, "price": value}]}
        if isinstance(value, list):
            return {"versions": value}
        return value
    if origin is tuple and args and isinstance(value, list):
        return [_convert(args[0], v, start) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _convert(args[1], v, start) for k, v in value.items()}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for a in args:
            if a is not type(None):
                return _convert(a, value, start)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
        return _versioned(annotation, value, start)
    return value


# --- answering ---------------------------------------------------------------------

class AnsweringPlan(Strict):
    fee: Price
    hours: HoursSpan | None
    allowance: bool


class GraduatedService(Strict):
    allowance: Assumed[int]
    graduated: tuple[Tier, ...]
    over_allowance: Price

    @field_validator("graduated")
    @classmethod
    def _contiguous(cls, v: tuple[Tier, ...]) -> tuple[Tier, ...]:
        return _check_tiers(v)


class PhoneTariff(GraduatedService):
    talk_over_s: int
    talk_over_per_minute: Price
    transfer_attempt: Price
    transfer_talk_per_minute: Price
    outbound_attempt: Price
    outbound_talk_per_minute: Price
    foreign_per_minute: Price
    foreign_legs: Assumed[tuple[Literal["transfer", "outbound", "inbound"], ...]]


class MessagingTariff(GraduatedService):
    aht_threshold_s: int
    aht_per_minute: Price
    aht_deviation: Decimal
    aht_reestablish: Assumed[Literal["half_up_actual"]]  # fixed (M3), see FIXED_SETTINGS

    @field_validator("aht_deviation", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Decimal:
        return _fraction(v, "deviation")


class FeeOption(Strict):
    fee: Price
    sms: int | None = None


class DirectPackage(Strict):
    fee: Price
    hours: int


class Direct(Strict):
    per_hour: Price
    packages: dict[str, DirectPackage]


class Reports(Strict):
    mail_each: Price
    sms_each: Price


class AnsweringTariff(FamilyBase):
    family: Literal["answering"]
    plans: dict[AnsweringPlanName, AnsweringPlan]
    hours_weekdays: Assumed[tuple[Weekday, ...]]  # A1: the days the plans' hours apply
    phone: PhoneTariff
    messaging: MessagingTariff
    options: dict[str, FeeOption]
    reports: Reports
    training_per_hour: Price
    training_increment: Assumed[Literal["minute"]]  # fixed (T1)
    direct: Direct
    bundle_discount: Decimal

    @field_validator("bundle_discount", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Decimal:
        return _fraction(v, "discount")

    @model_validator(mode="after")
    def _complete(self) -> "AnsweringTariff":
        missing = {"BASIC", "SMART", "PLUS", "PREMIUM"} - set(self.plans)
        if missing:
            raise ValueError(f"plans missing: {sorted(missing)}")
        need = {"voice_response", "reports_mail_unlimited", "sms_bundle_75", "sms_bundle_200",
                "sms_bundle_500", "monthly_specification"}
        if set(self.options) != need:
            raise ValueError(f"options must be exactly {sorted(need)}, got {sorted(self.options)}")
        for name, opt in self.options.items():
            if name.startswith("sms_bundle") and not opt.sms:
                raise ValueError(f"options.{name}.sms: an SMS bundle needs its size")
        if set(self.direct.packages) != {"package_5h", "package_15h", "package_25h"}:
            raise ValueError("direct.packages must be package_5h, package_15h, package_25h")
        days = self.hours_weekdays.value
        if not days or len(set(days)) != len(days):
            raise ValueError("hours_weekdays.value: name each day once (Monday = 0 … Sunday = 6), at least one")
        return self


# --- service pack ------------------------------------------------------------------

class Pack(Strict):
    units: int = Field(gt=0)
    price: Price


class Travel(Strict):
    per_km: Price
    minimum_per_trip: Price


class ServicePackTariff(FamilyBase):
    family: Literal["service_pack"]
    unit_minutes: int = Field(gt=0)
    packs: dict[PackName, Pack]
    auto_renew_default: bool
    travel: Travel
    service_hours: WeeklyHours


# --- klippekort --------------------------------------------------------------------

class Card(Strict):
    klip: int = Field(gt=0)
    discount: Decimal

    @field_validator("discount", mode="before")
    @classmethod
    def _quoted(cls, v: Any) -> Decimal:
        return _fraction(v, "discount")


class KlipAddon(Strict):
    klip: int = Field(gt=0)
    every: Literal["month", "quarter"]
    assumption: bool = False


class Forfeiture(Strict):
    unused_years: int
    max_years: int
    warning_days: int


class KlippekortTariff(FamilyBase):
    family: Literal["klippekort"]
    hour_rate: Assumed[Price]
    cards: dict[CardSize, Card]
    onsite_travel_hours: Assumed[Decimal]
    auto_renew_default: Assumed[bool]
    overflow_at_full_rate: Assumed[Literal[True]]  # fixed (K5)
    addons: dict[KlipAddonName, KlipAddon]
    forfeiture: Forfeiture

    @model_validator(mode="before")
    @classmethod
    def _rate(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("hour_rate"), dict):
            start = data.get("price_valid_from")
            start = start.get("value") if isinstance(start, dict) else start
            hr = dict(data["hour_rate"])
            hr["value"] = _convert(Price, hr.get("value"), start)
            data = {**data, "hour_rate": hr}
        if isinstance(data, dict) and isinstance(data.get("onsite_travel_hours"), dict):
            ot = dict(data["onsite_travel_hours"])
            ot["value"] = _decimal(ot.get("value"))
            data = {**data, "onsite_travel_hours": ot}
        return data

    def card_price(self, size: str, day: date) -> Decimal:
        c = self.cards[size]
        return Decimal(c.klip) * self.hour_rate.value.at(day) * (1 - c.discount)


# --- interact ----------------------------------------------------------------------

class InteractPlan(Strict):
    seat: Price
    sla: bool


class InteractOption(Strict):
    fee: Price
    requires: Literal["generic_api", "chatbot_api"] | None = None  # I2: sold only together with that option


class OneOff(Strict):
    price: Price
    per_quantity: bool = False
    includes: tuple[str, ...] = ()


class InteractTariff(FamilyBase):
    family: Literal["interact"]
    plans: dict[InteractPlanName, InteractPlan]
    minimum_users: int
    options: dict[InteractOptionName, InteractOption]
    one_offs: dict[OneOffName, OneOff]
    term_months: int
    early_termination_default: Assumed[Literal["remaining_months_x_last_day_charge"]]  # fixed (I4)

    @model_validator(mode="after")
    def _requires_other_option(self) -> "InteractTariff":
        for name, option in self.options.items():
            if option.requires == name:
                raise ValueError(f"options.{name}.requires: an option cannot require itself")
            if option.requires is not None and option.requires not in self.options:
                raise ValueError(f"options.{name}.requires: {option.requires} is not an option of this tariff")
        return self


# --- remote support ----------------------------------------------------------------

class RemoteAddon(Strict):
    always_reachable: bool


class RemoteSupportTariff(FamilyBase):
    family: Literal["remote_support"]
    hour_rate: Price
    increment: Assumed[Literal["minute"]]  # fixed (L1)
    all_activities_at_rate: Assumed[Literal[True]]  # fixed (L1)
    session_minimum: Price
    invoice_minimum: Price
    business_hours: WeeklyHours
    outside_hours_same_rate: Assumed[Literal[True]]  # fixed (L3)
    addons: dict[RemoteAddonName, RemoteAddon]


# Settings that state an assumption pricing.md gives exactly one reading of: the file
# names it (so `ccmeter tariffs show` lists it), the model accepts that value only, and
# the code implements that reading. Another value would need a rule pricing.md does not
# have, so it fails validation instead of silently changing nothing.
FIXED_SETTINGS = {
    "training_increment": "T1: training is charged per minute of the work log",
    "aht_reestablish": "M3: the new AHT_pre is half-up(actual) seconds",
    "overflow_at_full_rate": "K5: missing klip are invoiced at the full hour rate",
    "early_termination_default": "I4: remaining whole months × the last day's seats-and-options charge",
    "increment": "L1: remote support is charged per minute of the work log",
    "all_activities_at_rate": "L1: every activity remote_support rates is at the hourly rate",
    "outside_hours_same_rate": "L3: sessions outside business hours are rated at the same rate",
}

RENAMED_SETTINGS = {"hours_every_day": "hours_weekdays (A1: the days the BASIC/SMART hours apply, Monday = 0)"}


MODELS: dict[str, type[FamilyBase]] = {
    "answering": AnsweringTariff,
    "service_pack": ServicePackTariff,
    "klippekort": KlippekortTariff,
    "interact": InteractTariff,
    "remote_support": RemoteSupportTariff,
}


# --- product codes -----------------------------------------------------------------

def product_codes() -> dict[str, str]:
    """Every product code of the data contract → its tariff family."""
    codes: dict[str, str] = {}
    for p in ("BASIC", "SMART", "PLUS", "PREMIUM"):
        codes[f"phone:{p}"] = "answering"
        codes[f"messaging:{p}"] = "answering"
    for o in ("voice_response", "reports_mail_unlimited", "sms_bundle_75", "sms_bundle_200",
              "sms_bundle_500", "monthly_specification"):
        codes[f"option:{o}"] = "answering"
    for d in ("package_5h", "package_15h", "package_25h"):
        codes[f"direct:{d}"] = "answering"
    for s in ("1h", "3h", "10h"):
        codes[f"servicepack:{s}"] = "service_pack"
    for k in ("10", "20", "30", "monthly_check", "quarterly_check", "phone_support",
              "callout_8h", "callout_6h", "callout_4h"):
        codes[f"klippekort:{k}"] = "klippekort"
    for i in ("HUB", "PRO", "users", "generic_api", "chatbot_api", "activation", "channel",
              "training", "integration", "api_activation"):
        codes[f"interact:{i}"] = "interact"
    for r in ("standard", "pager", "lpas"):
        codes[f"remote:{r}"] = "remote_support"
    return codes


PRODUCT_CODES = product_codes()


def family_of(product: str) -> str | None:
    return PRODUCT_CODES.get(product)


# --- loading -----------------------------------------------------------------------

def _format_error(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"] if x not in ("function-after", "function-before"))
        keys = [str(x) for x in e["loc"]]
        fixed = next((k for k in keys if k in FIXED_SETTINGS), None)
        hint = ""
        if e["type"] == "literal_error" and fixed:
            hint = f" (the only reading pricing.md gives, {FIXED_SETTINGS[fixed]}; another needs a new rule in code)"
        elif e["type"] == "extra_forbidden" and keys and keys[-1] in RENAMED_SETTINGS:
            hint = f" (renamed: {RENAMED_SETTINGS[keys[-1]]})"
        parts.append(f"  {loc or '(top)'}: {e['msg']}{hint}")
    return f"{path}: invalid tariff\n" + "\n".join(parts)


class _TariffLoader(yaml.SafeLoader):
    """YAML's safe loader, stricter: a date that does not exist (`2026-13-45`) stays its
    text, so the model names the field that holds it (YAML's own error names neither)."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_TariffLoader.add_constructor("tag:yaml.org,2002:timestamp", _TariffLoader.construct_yaml_timestamp)


def _duplicate_keys(node, where: tuple[str, ...] = (), seen_nodes: set | None = None):
    """(field path, line, first line) of every key that a mapping of the document repeats
    (YAML would silently keep the last value)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else f"<key at line {key.start_mark.line + 1}>"
            if name in first:
                yield ".".join((*where, name)), key.start_mark.line + 1, first[name]
            else:
                first[name] = key.start_mark.line + 1
            yield from _duplicate_keys(value, (*where, name), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from _duplicate_keys(value, (*where, str(i)), seen_nodes)


def _load_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=_TariffLoader)
    for field_path, line, first in _duplicate_keys(node):
        raise CatalogError(f"{path}: {field_path}: duplicated key (line {line}, first at line {first})")
    return yaml.load(text, Loader=_TariffLoader)


def load_family(family: str, directory: Path | None = None) -> FamilyBase:
    directory = directory or tariffs_dir()
    path = directory / f"{family}.yaml"
    if family not in MODELS:
        raise CatalogError(f"{path}: unknown tariff family {family!r}; known: {', '.join(FAMILIES)}")
    if not path.exists():
        raise CatalogError(f"{path}: tariff file missing")
    try:
        data = _load_yaml(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top")
    if data.get("family") != family:
        raise CatalogError(f"{path}: family: expected {family!r}, got {data.get('family')!r}")
    try:
        return MODELS[family].model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_format_error(path, exc)) from None
    except ValueError as exc:
        raise CatalogError(f"{path}: {exc}") from None


class Catalog:
    """All five families, loaded and validated together."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or tariffs_dir()
        self.families = {f: load_family(f, self.directory) for f in FAMILIES}

    def _family(self, family: str, model: type[F]) -> F:
        found = self.families[family]
        assert isinstance(found, model)  # load_family validated it with MODELS[family]
        return found

    @property
    def answering(self) -> AnsweringTariff:
        return self._family("answering", AnsweringTariff)

    @property
    def service_pack(self) -> ServicePackTariff:
        return self._family("service_pack", ServicePackTariff)

    @property
    def klippekort(self) -> KlippekortTariff:
        return self._family("klippekort", KlippekortTariff)

    @property
    def interact(self) -> InteractTariff:
        return self._family("interact", InteractTariff)

    @property
    def remote_support(self) -> RemoteSupportTariff:
        return self._family("remote_support", RemoteSupportTariff)

    def currency(self, family: str) -> str:
        return self.families[family].currency

    def vat_rate(self, family: str) -> Decimal:
        return self.families[family].vat.rate


def load_catalog(directory: str | None = None) -> Catalog:
    """The catalog of `directory` (default: $CCMETER_TARIFFS or tariffs/), loaded again
    whenever a tariff file changed, so a long-running process (the Dagster daemon, a
    re-rating after a tariff correction) never prices with stale files."""
    path = Path(directory) if directory else tariffs_dir()
    stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.glob("*.yaml"))) \
        if path.is_dir() else ()
    return _cached_catalog(path, stamp)


@lru_cache(maxsize=4)
def _cached_catalog(directory: Path, stamp: tuple) -> Catalog:
    return Catalog(directory)


def all_prices(model: BaseModel) -> list[Price]:
    """Every Price inside a tariff model (to find the days a price changes)."""
    found: list[Price] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, Price):
            found.append(obj)
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                walk(getattr(obj, name))
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)

    walk(model)
    return found


def price_change_days(model: BaseModel, start: date, end: date) -> list[date]:
    """Days in (start, end) on which some price of the family changes: usage is grouped
    by these epochs so each group is priced once."""
    return sorted({d for p in all_prices(model) for d in p.change_days() if start < d < end})
