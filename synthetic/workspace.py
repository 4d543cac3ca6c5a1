"""The demo profile of the generator (`ccmeter demo`, `ccmeter demo-data`): a deterministic
demo workspace: subscribers of all five tariff families, contracts
that exercise the pricing rules, and a month (or more) of realistic usage in the inbox
formats of data-contract.md — plus, on request, a few deliberately bad files.

    generate_workspace(Path("workspace"), months=["2026-10"], size="small")

Everything is drawn from NumPy generators seeded by (seed, feed, month, chunk), so the
same arguments give the same files byte for byte (each month and chunk draws from its
own stream). Call legs and interactions are generated
vectorised, at most `CHUNK` rows at a time (one file per chunk), so tens of millions of
legs per month fit in memory.

What the demo contains (ids are stable; `D` = first day of the demo month, the last
month listed; contracts otherwise start 1-12 months before the first month listed):

answering (NL, EUR)
  NL-ANS-0001  phone BASIC + option:reports_mail_unlimited; few calls (tiers 1-3)
  NL-ANS-0002  phone SMART + messaging SMART (aht_s 240): allowances, bundle discount
  NL-ANS-0003  phone PLUS + option:voice_response + option:sms_bundle_75; training
  NL-ANS-0004  phone PREMIUM + messaging PREMIUM (aht_s 200) + option:monthly_specification
  NL-ANS-0005  phone BASIC until D+14, then phone PLUS (the end date arrives in a later
               file); messaging BASIC (aht_s 300)
  NL-ANS-0006  phone SMART + direct:package_5h; admin work beyond the package, training
  NL-ANS-0007  messaging PLUS (aht_s 190) then PREMIUM (a later aht_s, to be ignored)
  NL-ANS-0008  new customer from D+11: phone BASIC, messaging SMART, monthly spec
  NL-ANS-0009  phone PREMIUM + option:reports_mail_unlimited; admin without a package
  NL-ANS-0010… generated phone/messaging plans and options
service_pack (BE, EUR)
  BE-SP-0001   1h pack bought on D (auto-renew on)
  BE-SP-0002   3h pack {"auto_renew": false}: the balance goes negative
  BE-SP-0003   10h pack
  BE-SP-0004   1h pack, then a 3h pack bought D+9
klippekort (DK, DKK)
  DK-KK-0001   30-klip card + klippekort:monthly_check
  DK-KK-0002   20-klip card {"auto_renew": true} + klippekort:quarterly_check, heavy use
  DK-KK-0003   10-klip card, heavy use, no auto-renew: overflow
  DK-KK-0004   10-klip card bought ~3 years before D, used once (last use D+1 month+14
               days-3 years): forfeits the month after D (a warning on D's
               specification); a new card bought D+19
interact (BE, EUR)
  BE-IX-0001   PRO from D, 2 users, generic API, activation, 2 channels, API activation
  BE-IX-0002   HUB, 4 users + 3 more from D+11, generic API + chatbot API
  BE-IX-0003   HUB from D-5 months, 5 users, generic API, valid_to D+20 (early
               termination; the end date arrives in a later file)
remote_support (NL, EUR)
  NL-RS-0001   remote:standard
  NL-RS-0002   remote:standard + remote:pager {"unit_price": "25.00"}; night sessions
  NL-RS-0003   remote:standard; one 10-minute session a month (invoice minimum)

E-invoice data (street, city, postcode, company_id, peppol_id, buyer_reference) for
NL-ANS-0002, NL-RS-0002 (KVK 0106), BE-IX-0001 (0208), DK-KK-0003, DK-KK-0004 (CVR
0184); BE-SP-0001 has a company id failing its mod-97 check (einvoice.skipped).

"tiny" keeps 12 of these; an int size above ~40,000 legs adds generated ("bulk")
subscribers of every family, one per 1,000 legs, so a 10 M-leg month has ~10 k
subscribers, ~2 M interactions and ~50 k work logs.
"""
from __future__ import annotations

import csv
import io
import json
import pathlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic.common import COLUMNS, add_months, days_in, numbered_ids, parse_month, write_atomically

__all__ = ["generate_workspace", "CHUNK", "SIZES"]

CHUNK = 1_000_000
SIZES = {"tiny": 300, "small": 20_000}
TIMEZONES = {"NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "DK": "Europe/Copenhagen"}
ZONES = ("NL", "BE", "DK")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%:z"
EPOCH = date(1970, 1, 1)

_TS = pa.timestamp("us", tz="UTC")
PARQUET_SCHEMAS = {
    "calls": pa.schema([("call_id", pa.string()), ("subscriber_id", pa.string()), ("call_type", pa.string()),
                        ("parent_call_id", pa.string()), ("started_at", _TS), ("answered_at", _TS),
                        ("ended_at", _TS), ("talk_s", pa.int64()), ("caller_number", pa.string()),
                        ("destination_country", pa.string()), ("report", pa.string())]),
    "interactions": pa.schema([("interaction_id", pa.string()), ("subscriber_id", pa.string()),
                               ("channel", pa.string()), ("started_at", _TS), ("ended_at", _TS),
                               ("handle_s", pa.int64()), ("agent_id", pa.string())]),
    "worklogs": pa.schema([("worklog_id", pa.string()), ("subscriber_id", pa.string()),
                           ("activity", pa.string()), ("started_at", _TS), ("minutes", pa.int64()),
                           ("km", pa.string()), ("consultant", pa.string()), ("description", pa.string())]),
}

# Stream codes for the seed sequence: (seed, stream, yyyymm, chunk).
_S_ROSTER, _S_BULK, _S_CALLS, _S_INTER, _S_WORK = 1, 2, 3, 4, 5

# Local hour-of-day profiles (relative weights, hour 0..23).
CALL_PROFILE = np.array([0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.3, 0.9, 2.0, 3.2, 3.3, 2.6,
                         1.4, 1.8, 2.9, 3.0, 2.4, 1.3, 0.7, 0.45, 0.25, 0.15, 0.1, 0.07])
MSG_PROFILE = np.array([0.1, 0.05, 0.03, 0.03, 0.05, 0.1, 0.3, 0.8, 1.6, 2.4, 2.6, 2.2,
                        1.6, 1.8, 2.3, 2.4, 2.0, 1.5, 1.1, 1.0, 0.9, 0.7, 0.4, 0.2])
WORK_PROFILE = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.3, 2.0, 3.0, 3.0, 2.5,
                         0.8, 2.2, 2.8, 2.6, 1.8, 0.5, 0.08, 0.04, 0.02, 0.01, 0.0, 0.0])
NIGHT_PROFILE = np.array([1.0, 0.8, 0.7, 0.6, 0.6, 0.8, 1.0, 0.6, 0.0, 0.0, 0.0, 0.0,
                          0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8, 1.2, 1.5, 1.5, 1.4, 1.2])
# Day-of-week weights (Mon..Sun).
CALL_DOW = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.35, 0.2])
SUPPORT_DOW = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.05, 0.03])

# Caller numbers: (prefix, digits after it, country).
PHONE_PREFIXES = [("+316", 8, "NL"), ("+3120", 7, "NL"), ("+3130", 7, "NL"), ("+324", 8, "BE"),
                  ("+322", 7, "BE"), ("+49151", 8, "DE"), ("+4520", 6, "DK"), ("+4530", 6, "DK"),
                  ("+447", 9, "GB")]
PHONE_MIX = {  # per subscriber country: weights over PHONE_PREFIXES
    "NL": [0.55, 0.2, 0.1, 0.04, 0.02, 0.05, 0.01, 0.0, 0.03],
    "BE": [0.08, 0.02, 0.0, 0.5, 0.3, 0.05, 0.0, 0.0, 0.05],
    "DK": [0.02, 0.0, 0.0, 0.0, 0.0, 0.08, 0.45, 0.4, 0.05],
}
ABROAD = {"NL": ["DE", "BE", "GB", "FR"], "BE": ["NL", "FR", "DE", "LU"], "DK": ["SE", "DE", "NO", "GB"]}
COUNTRIES = sorted({c for v in ABROAD.values() for c in v} | set(ZONES) | {p[2] for p in PHONE_PREFIXES})

CONSULTANTS = {
    "remote_support": ["Anouk de Vries", "Daan Bakker", "Sanne Jansen", "Thijs van den Berg"],
    "service_pack": ["Lotte Peeters", "Wout Claes", "Élise Dubois", "Bram Maes"],
    "klippekort": ["Mette Sørensen", "Jens Ølgaard", "Freja Christensen"],
    "answering": ["Fatima El Amrani", "Ruben de Groot", "Iris Hendriks"],
}
DESCRIPTIONS = {
    "remote": ["Outlook profile rebuilt, mailbox re-synced", 'Printer "HP-2" driver reinstalled',
               "VPN client updated to 5.2; tested", "<b>Urgent</b>: backup job failed, restarted",
               "Password reset, MFA re-enrolled", "Disk cleanup on server <SRV01>"],
    "onsite": ["Replaced switch in meter cupboard, tested all ports", "New workstation installed, data migrated",
               'Wi-Fi access point moved to "kantine"'],
    "phone": ["Question about invoice, explained prorated fee", "How to share a calendar?",
              'Customer said "it\'s broken" - screen cable loose'],
    "email": ["Answered mail about licences, 3 seats", "Forwarded quote & conditions"],
    "webticket": ["Ticket #4711: shared drive slow", "Ticket: new user account <nieuw>"],
    "office": ["Prepared laptop image, 2 devices", "Ordered toner & spare cables"],
    "training": ["Agent training: new call script, 2 agents", "Onboarding: greeting & transfer rules"],
    "admin": ["Appointments entered in agenda", "Order list updated, supplier mails sent", "Invoices scanned & filed"],
    "*": ["Line 1: checked logs\nLine 2: no errors found", "<script>alert('x')</script> pasted by customer",
          "Ærø-kontoret: forbindelse genoprettet, 50% færdig", 'See "ticket 4711", part 2 of 3', ""],
}
ACTIVITY_MINUTES = {  # (median, sigma, min, max) of a lognormal, minutes
    "remote": (35, 0.6, 5, 180), "onsite": (75, 0.45, 20, 180), "phone": (12, 0.5, 5, 45),
    "email": (10, 0.5, 5, 30), "webticket": (15, 0.5, 5, 60), "office": (40, 0.5, 10, 120),
    "training": (90, 0.25, 45, 180), "admin": (40, 0.6, 10, 150),
}
ACTIVITIES = tuple(ACTIVITY_MINUTES)
WORK_MIX = {
    "remote_support": {"remote": 0.7, "phone": 0.15, "email": 0.1, "office": 0.05},
    "service_pack": {"remote": 0.35, "phone": 0.2, "email": 0.1, "onsite": 0.15, "webticket": 0.05,
                     "office": 0.15},
    "klippekort": {"onsite": 0.4, "remote": 0.35, "office": 0.15, "phone": 0.1},
}


# --- the roster ----------------------------------------------------------------------

@dataclass
class Row:
    product: str
    valid_from: date
    valid_to: date | None = None
    quantity: int = 1
    params: dict | None = None
    # the version first written (contracts file); when it differs, the final version
    # arrives in the changes file (same identity: subscriber, product, valid_from)
    first_valid_to: date | None = None
    in_changes: bool = False  # a row that only arrives with the changes file


@dataclass
class Sub:
    id: str
    name: str
    country: str
    family: str
    rows: list[Row] = field(default_factory=list)
    call_w: float = 0.0          # share of the answering inbound calls (weight)
    msg_w: float = 0.0           # share of the answering interactions (weight)
    sp_calls: float = 0.0        # service pack: mean inbound calls a month
    sp_inter: float = 0.0        # service pack: mean interactions a month
    aht_factor: float = 1.0      # mean handle_s = aht_s × factor
    p_mail: float = 0.05
    p_sms: float = 0.01
    work: dict[str, float] = field(default_factory=dict)  # activity → mean count a month
    night: float = 0.03          # share of work logs outside business hours
    fixed_work: tuple[str, int] | None = None  # exactly one (activity, minutes) a month
    bulk: bool = False           # generated for a large int size
    tiny: bool = False
    address: str = ""
    vat_id: str = ""
    email: str = ""

    def days(self, kind: str, first: date, ndays: int) -> np.ndarray:
        """Which days of the month (from `first`) usage of `kind` is rated for this subscriber."""
        out = np.zeros(ndays, dtype=bool)
        for r in self.rows:
            span = self._span(kind, r)
            if span is None:
                continue
            lo = max(0, (r.valid_from - first).days)
            hi = ndays if span == "open" or r.valid_to is None else min(ndays, (r.valid_to - first).days)
            if lo < hi:
                out[lo:hi] = True
        return out

    @staticmethod
    def _span(kind: str, r: Row) -> str | None:
        """How a row makes usage of `kind` rateable: "active" (valid_from ≤ day <
        valid_to), "open" (from valid_from on: a purchase) or not at all (None)."""
        group = r.product.split(":")[0]
        if kind == "phone":
            return "active" if group == "phone" else None
        if kind == "messaging":
            return "active" if group == "messaging" else None
        if kind == "answering":
            return "active" if group in ("phone", "messaging", "option", "direct") else None
        if kind == "service_pack":
            return "open" if group == "servicepack" else None
        if kind == "klippekort":
            if r.product in ("klippekort:10", "klippekort:20", "klippekort:30"):
                return "open"
            return "active" if group == "klippekort" else None
        if kind == "remote_support":
            return "active" if r.product == "remote:standard" else None
        raise ValueError(kind)


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, *stream]))


def _contact(rng: np.random.Generator, sub: Sub) -> None:
    streets = {"NL": ["Kerkstraat", "Stationsweg", "Dorpsstraat", "Molenlaan", "Keizersgracht"],
               "BE": ["Kerkstraat", "Stationsstraat", "Grote Markt", "Rue de la Loi", "Meir"],
               "DK": ["Vesterbrogade", "Nørrebrogade", "Strandvejen", "Algade", "Østergade"]}
    towns = {"NL": ["1017 GC Amsterdam", "3511 AB Utrecht", "8011 PK Zwolle", "6811 AA Arnhem"],
             "BE": ["1000 Brussel", "2000 Antwerpen", "9000 Gent", "3000 Leuven"],
             "DK": ["1620 København V", "8000 Aarhus C", "5000 Odense C", "9990 Skagen"]}
    c = sub.country
    sub.address = f"{rng.choice(streets[c])} {int(rng.integers(1, 240))}, {rng.choice(towns[c])}"
    digits = int(rng.integers(10**8, 10**9))
    sub.vat_id = {"NL": f"NL{digits:09d}B01", "BE": f"BE0{digits:09d}", "DK": f"DK{digits % 10**8:08d}"}[c]
    slug = re.sub(r"[^a-z0-9]+", "-", sub.name.lower().encode("ascii", "ignore").decode()).strip("-") or "klant"
    sub.email = f"facturen@{slug}.{c.lower()}" if c != "DK" else f"faktura@{slug}.dk"


# E-invoice data of some demo subscribers (data-contract.md): company id, Peppol id,
# buyer reference; street, postcode and city come from the generated address. Valid
# identifiers for NL (KVK 0106), BE (enterprise number 0208, mod 97) and DK (CVR 0184,
# mod 11); BE-SP-0001's company id fails its mod-97 check, so its e-invoice is skipped
# (`einvoice.skipped`) while its specification is issued as usual.
EINVOICE = {
    "NL-ANS-0002": ("34567890", "0106:34567890", "PO-2026-0042"),
    "NL-RS-0002": ("56789012", "0106:56789012", "Inkoop 7731"),
    "BE-IX-0001": ("0123456749", "0208:0123456749", ""),
    "BE-SP-0001": ("0123.456.748", "0208:0123456749", ""),
    "DK-KK-0004": ("12345674", "0184:12345674", "Ordre 2026/118"),
    "DK-KK-0003": ("29710007", "0184:29710007", ""),
}


def _einvoice_fields(sub: "Sub") -> list[str]:
    """street, city, postcode, company_id, peppol_id, buyer_reference of a demo
    subscriber (empty for those without an e-invoice)."""
    if sub.id not in EINVOICE:
        return ["", "", "", "", "", ""]
    street, _, town = sub.address.partition(", ")
    parts = town.split(" ")
    cut = 2 if sub.country == "NL" else 1  # NL postcodes are "1234 AB"
    postcode, city = " ".join(parts[:cut]), " ".join(parts[cut:])
    return [street, city, postcode, *EINVOICE[sub.id]]


def _roster(D: date, F: date, history: date | None, tiny: bool, n_bulk: int, seed: int) -> list[Sub]:
    """The subscribers and their contracts. D: first day of the demo month (the last usage
    month: contract events happen in it); F: first day of the first usage month."""
    rng = _rng(seed, _S_ROSTER)

    def S(k: int) -> date:  # contract start: the history start, else k months before F
        return history if history is not None else add_months(F, -k)

    def day(n: int) -> date:
        return D + timedelta(days=n)

    def R(product, valid_from, valid_to=None, quantity=1, params=None, **kw) -> Row:
        return Row(product, valid_from, valid_to, quantity, params, **kw)

    subs: list[Sub] = []
    add = subs.append
    # answering — NL
    add(Sub("NL-ANS-0001", "Bakkerij Jansen B.V.", "NL", "answering",
            [R("phone:BASIC", S(6)), R("option:reports_mail_unlimited", S(6))],
            call_w=0.3, p_mail=0.7, tiny=True))
    add(Sub("NL-ANS-0002", "Van Dijk Installatietechniek", "NL", "answering",
            [R("phone:SMART", S(4)), R("messaging:SMART", S(4), params={"aht_s": 240})],
            call_w=1.0, msg_w=0.6, aht_factor=1.0, tiny=True))
    add(Sub("NL-ANS-0003", "Huisartsenpraktijk De Linde", "NL", "answering",
            [R("phone:PLUS", S(9)), R("option:voice_response", S(9)), R("option:sms_bundle_75", S(9))],
            call_w=1.5, p_sms=0.06, work={"training": 1}))
    add(Sub("NL-ANS-0004", "Advocatenkantoor Mulder & Bos", "NL", "answering",
            [R("phone:PREMIUM", S(3)), R("messaging:PREMIUM", S(3), params={"aht_s": 200}),
             R("option:monthly_specification", S(3))],
            call_w=2.5, msg_w=1.5, aht_factor=1.3, tiny=True))
    plan_change = day(14)
    add(Sub("NL-ANS-0005", "Fysio Centrum Oost", "NL", "answering",
            [R("phone:BASIC", S(5), plan_change),
             R("phone:PLUS", plan_change, in_changes=True),
             R("messaging:BASIC", S(5), params={"aht_s": 300})],
            call_w=1.0, msg_w=0.5, aht_factor=0.8, tiny=True))
    add(Sub("NL-ANS-0006", "Kuipers Logistiek", "NL", "answering",
            [R("phone:SMART", S(2)), R("direct:package_5h", S(2))],
            call_w=0.8, work={"admin": 9, "training": 1}, tiny=True))
    msg_switch = add_months(D, -2)
    add(Sub("NL-ANS-0007", "Webshop Tulpenhuis", "NL", "answering",
            [R("messaging:PLUS", add_months(D, -5), msg_switch, params={"aht_s": 190}),
             R("messaging:PREMIUM", msg_switch, params={"aht_s": 150})],
            msg_w=1.2, aht_factor=1.05))
    add(Sub("NL-ANS-0008", "Tandartspraktijk Smit", "NL", "answering",
            [R("phone:BASIC", day(11)), R("messaging:SMART", day(11), params={"aht_s": 260}),
             R("option:monthly_specification", day(11))],
            call_w=0.6, msg_w=0.5))
    add(Sub("NL-ANS-0009", "Makelaardij Visser", "NL", "answering",
            [R("phone:PREMIUM", S(7)), R("option:reports_mail_unlimited", S(7))],
            call_w=1.2, p_mail=0.5, work={"admin": 2}))
    plans = ["BASIC", "SMART", "PLUS", "PREMIUM"]
    surnames = ["de Jong", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
                "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra"]
    trades = ["Installatiebedrijf", "Praktijk", "Kantoor", "Garage", "Studio", "Atelier", "Schoonmaak",
              "Verhuizingen", "Hoveniers"]
    for i in range(10, 27):
        plan = plans[(i - 10) % 4]
        rows = [R(f"phone:{plan}", S(int(rng.integers(1, 12))))]
        msg_w = 0.0
        if rng.random() < 0.35:
            rows.append(R(f"messaging:{plans[int(rng.integers(0, 4))]}", rows[0].valid_from,
                          params={"aht_s": int(rng.choice([180, 210, 240, 270, 300]))}))
            msg_w = float(rng.lognormal(-0.5, 0.6))
        p_mail, p_sms = 0.05, 0.01
        for opt, p in (("voice_response", 0.15), ("reports_mail_unlimited", 0.15), ("sms_bundle_75", 0.1),
                       ("monthly_specification", 0.1)):
            if rng.random() < p:
                rows.append(R(f"option:{opt}", rows[0].valid_from))
                p_mail = 0.4 if opt == "reports_mail_unlimited" else p_mail
                p_sms = 0.05 if opt == "sms_bundle_75" else p_sms
        add(Sub(f"NL-ANS-{i:04d}", f"{trades[int(rng.integers(0, len(trades)))]} {surnames[(i * 7) % len(surnames)]}",
                "NL", "answering", rows, call_w=float(rng.lognormal(0.0, 0.8)), msg_w=msg_w,
                aht_factor=float(rng.choice([0.85, 1.0, 1.0, 1.2])), p_mail=p_mail, p_sms=p_sms))
    # service_pack — BE
    add(Sub("BE-SP-0001", "Brasserie Het Anker", "BE", "service_pack", [R("servicepack:1h", D)],
            sp_calls=6, sp_inter=3, work={"remote": 1.5, "onsite": 1, "phone": 0.5}, tiny=True))
    add(Sub("BE-SP-0002", "Notariaat Claes", "BE", "service_pack",
            [R("servicepack:3h", S(3) + timedelta(days=4), params={"auto_renew": False})],
            sp_calls=8, sp_inter=4, work={"remote": 2, "onsite": 1}))
    add(Sub("BE-SP-0003", "Garage Peeters & Zonen", "BE", "service_pack", [R("servicepack:10h", S(6))],
            sp_calls=10, sp_inter=5, work={k: v * 5 for k, v in WORK_MIX["service_pack"].items()}))
    add(Sub("BE-SP-0004", "Bloemen Maes", "BE", "service_pack",
            [R("servicepack:1h", S(2)), R("servicepack:3h", day(9))],
            sp_calls=5, sp_inter=2, work={"remote": 1, "webticket": 1}))
    # klippekort — DK
    add(Sub("DK-KK-0001", "Nørgaard Rådgivning ApS", "DK", "klippekort",
            [R("klippekort:30", S(2)), R("klippekort:monthly_check", S(2))],
            work={"remote": 2, "onsite": 1}, tiny=True))
    add(Sub("DK-KK-0002", "Holm & Søn A/S", "DK", "klippekort",
            [R("klippekort:20", S(4), params={"auto_renew": True}), R("klippekort:quarterly_check", S(4))],
            work={k: v * 12 for k, v in WORK_MIX["klippekort"].items()}))
    add(Sub("DK-KK-0003", "Bageriet Lindholm", "DK", "klippekort", [R("klippekort:10", S(5))],
            work={"onsite": 3, "remote": 4, "phone": 1}))
    old_purchase, _ = _old_card_dates(D)
    add(Sub("DK-KK-0004", "Fiskehuset Skagen I/S", "DK", "klippekort",
            [R("klippekort:10", old_purchase), R("klippekort:10", day(19))], tiny=True))
    # interact — BE
    add(Sub("BE-IX-0001", "Studio Verbeke", "BE", "interact",
            [R("interact:PRO", D), R("interact:users", D, quantity=2), R("interact:generic_api", D),
             R("interact:activation", D), R("interact:channel", D, quantity=2), R("interact:api_activation", D)],
            tiny=True))
    add(Sub("BE-IX-0002", "Reisbureau Wouters", "BE", "interact",
            [R("interact:HUB", S(3)), R("interact:users", S(3), quantity=4), R("interact:users", day(11), quantity=3),
             R("interact:generic_api", S(3)), R("interact:chatbot_api", S(3))]))
    ix_start, ix_end = add_months(D, -5), day(20)
    add(Sub("BE-IX-0003", "Fietsen Janssens", "BE", "interact",
            [R("interact:HUB", ix_start, ix_end),
             R("interact:users", ix_start, ix_end, quantity=5),
             R("interact:generic_api", ix_start, ix_end),
             R("interact:activation", ix_start), R("interact:training", ix_start)], tiny=True))
    # remote_support — NL
    add(Sub("NL-RS-0001", "IT Partners Zwolle", "NL", "remote_support", [R("remote:standard", S(6))],
            work={k: v * 12 for k, v in WORK_MIX["remote_support"].items()}))
    add(Sub("NL-RS-0002", "Zorggroep Veluwe", "NL", "remote_support",
            [R("remote:standard", S(4)), R("remote:pager", S(4), params={"unit_price": "25.00"})],
            work={k: v * 10 for k, v in WORK_MIX["remote_support"].items()}, night=0.3, tiny=True))
    add(Sub("NL-RS-0003", "Kapsalon Anja", "NL", "remote_support", [R("remote:standard", S(1))],
            fixed_work=("remote", 10), tiny=True))
    # rows whose end date arrives later (changes file): first written open-ended
    late_end = {("NL-ANS-0005", "phone:BASIC"), ("BE-IX-0003", "interact:HUB"),
                ("BE-IX-0003", "interact:users"), ("BE-IX-0003", "interact:generic_api")}
    for s in subs:
        for r in s.rows:
            r.first_valid_to = None if (s.id, r.product) in late_end else r.valid_to
    if tiny:
        subs = [s for s in subs if s.tiny]
    for s in subs:
        _contact(rng, s)
    subs.extend(_bulk(F, history, n_bulk, seed))
    return subs


def _old_card_dates(D: date) -> tuple[date, date]:
    """A card bought ~3 years before D and used once, so that it forfeits (3 years after
    its last use) between D's issue date and 90 days after it."""
    purchase = add_months(D, -35) + timedelta(days=1)
    last_use = purchase + timedelta(days=13)
    return purchase, last_use


def _bulk(first: date, history: date | None, n: int, seed: int) -> list[Sub]:
    """Generated subscribers for large int sizes (one per 1,000 call legs)."""
    if n <= 0:
        return []
    rng = _rng(seed, _S_BULK)
    fam = rng.choice(5, size=n, p=[0.8, 0.07, 0.04, 0.06, 0.03])
    prefix = {0: ("NL-ANS", "NL", "answering", 27), 1: ("BE-SP", "BE", "service_pack", 5),
              2: ("DK-KK", "DK", "klippekort", 5), 3: ("NL-RS", "NL", "remote_support", 4),
              4: ("BE-IX", "BE", "interact", 4)}
    counters = {k: v[3] for k, v in prefix.items()}
    width = max(4, len(str(n + 30)))
    names = ["Alfa", "Berk", "Ceder", "Duin", "Eik", "Fjord", "Gaard", "Haven", "Iris", "Jade", "Kaap", "Linde"]
    kinds = {"answering": "Praktijk", "service_pack": "Bureau", "klippekort": "Værksted",
             "remote_support": "Systems", "interact": "Studio"}
    plans = ["BASIC", "SMART", "PLUS", "PREMIUM"]
    out: list[Sub] = []
    starts = rng.integers(1, 13, size=n)
    weights = rng.lognormal(0.0, 0.8, size=n)
    u = rng.random((n, 6))
    for i in range(n):
        f = int(fam[i])
        pfx, country, family, _ = prefix[f]
        k = counters[f]
        counters[f] += 1
        sid = f"{pfx}-{k:0{width}d}"
        start = history if history is not None else add_months(first, -int(starts[i]))
        name = f"{names[i % len(names)]} {kinds[family]} {k}"
        s = Sub(sid, name, country, family, bulk=True)
        if family == "answering":
            s.rows = [Row(f"phone:{plans[i % 4]}", start)]
            s.call_w = float(weights[i])
            if u[i, 0] < 0.4:
                s.rows.append(Row(f"messaging:{plans[int(u[i, 1] * 4)]}", start,
                                  params={"aht_s": int(180 + 30 * int(u[i, 2] * 5))}))
                s.msg_w = float(weights[i]) * 0.5
                s.aht_factor = 0.85 + 0.4 * float(u[i, 3])
            if u[i, 4] < 0.15:
                s.rows.append(Row("option:reports_mail_unlimited", start))
                s.p_mail = 0.4
            if u[i, 5] < 0.1:
                s.rows.append(Row("option:voice_response", start))
        elif family == "service_pack":
            s.rows = [Row(f"servicepack:{['1h', '3h', '10h'][i % 3]}", start)]
            s.sp_calls, s.sp_inter = 10, 4
            s.work = dict(WORK_MIX["service_pack"])
        elif family == "klippekort":
            s.rows = [Row(f"klippekort:{[10, 20, 30][i % 3]}", start,
                          params={"auto_renew": True} if u[i, 0] < 0.5 else None)]
            if u[i, 1] < 0.3:
                s.rows.append(Row("klippekort:monthly_check", start))
            s.work = dict(WORK_MIX["klippekort"])
        elif family == "remote_support":
            s.rows = [Row("remote:standard", start)]
            if u[i, 0] < 0.1:
                s.rows.append(Row("remote:pager", start, params={"unit_price": "25.00"}))
                s.night = 0.2
            s.work = dict(WORK_MIX["remote_support"])
        else:
            s.rows = [Row(f"interact:{['HUB', 'PRO'][i % 2]}", start),
                      Row("interact:users", start, quantity=int(3 + u[i, 0] * 18))]
            if u[i, 1] < 0.3:
                s.rows.append(Row("interact:generic_api", start))
        for r in s.rows:
            r.first_valid_to = r.valid_to
        town = {"NL": "3511 AB Utrecht", "BE": "1000 Brussel", "DK": "8000 Aarhus C"}[country]
        s.address = f"Demoweg {i % 200 + 1}, {town}"
        s.email = f"billing@{sid.lower()}.example"
        out.append(s)
    return out


# --- time ------------------------------------------------------------------------------

def _cum_table(weights: np.ndarray) -> np.ndarray:
    """Row-wise cumulative distribution, offset by row index, flattened: row t's values lie
    in (t, t+1], so one searchsorted picks a column for every row at once."""
    w = np.asarray(weights, dtype=np.float64)
    tot = w.sum(axis=1, keepdims=True)
    tot[tot == 0] = 1.0
    cum = np.cumsum(w / tot, axis=1)
    cum[:, -1] = 1.0
    return (cum + np.arange(w.shape[0])[:, None]).ravel()


def _pick(rng: np.random.Generator, group: np.ndarray, table: np.ndarray, ncols: int,
          last: np.ndarray) -> np.ndarray:
    """For each row, a column of its group's distribution (see _cum_table)."""
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.searchsorted(table, group + rng.random(group.size), side="right")
    col = pos - group * ncols
    return np.clip(col, 0, last[group])


def _hours(rng: np.random.Generator, n: int, profile: np.ndarray) -> np.ndarray:
    cum = np.cumsum(profile) / profile.sum()
    cum[-1] = 1.0
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), 23)


def _local_to_utc(local_s: np.ndarray, zone: np.ndarray) -> np.ndarray:
    """Local wall-clock seconds (naive epoch) → UTC epoch seconds, per zone index. An
    ambiguous time takes the earlier instant; a non-existent one moves an hour on."""
    out = np.empty_like(local_s)
    for z, country in enumerate(ZONES):
        sel = np.flatnonzero(zone == z)
        if sel.size == 0:
            continue
        loc = local_s[sel]
        s = pl.Series(loc * 1_000_000).cast(pl.Datetime("us"))
        a = s.dt.replace_time_zone(TIMEZONES[country], ambiguous="earliest", non_existent="null")
        if a.null_count():
            b = pl.Series((loc + 3600) * 1_000_000).cast(pl.Datetime("us")).dt.replace_time_zone(
                TIMEZONES[country], ambiguous="earliest", non_existent="null")
            a = pl.select(pl.coalesce(a, b)).to_series()
        out[sel] = a.dt.epoch("s").to_numpy()
    return out


def _sample_local(rng, tgt, day_table, ndays, last_day, month_first: date, profile, zone_of) -> np.ndarray:
    """UTC epoch seconds for rows of targets `tgt`: a day from the target's day weights,
    an hour from `profile`, a second within it, in the target's local time."""
    day = _pick(rng, tgt, day_table, ndays, last_day)
    sod = _hours(rng, tgt.size, profile) * 3600 + rng.integers(0, 3600, size=tgt.size)
    local = ((month_first - EPOCH).days + day) * 86400 + sod
    return _local_to_utc(local.astype(np.int64), zone_of[tgt])


_SOD = None


def _sod_strings() -> pl.Series:
    """"HH:MM:SS" for every second of a day (built once)."""
    global _SOD
    if _SOD is None:
        _SOD = pl.Series([f"{h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60) for x in range(60)],
                         dtype=pl.String)
    return _SOD


def _fmt_ts(utc_s: np.ndarray, zone: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """ISO 8601 text with the local offset of each row's zone ("2026-10-05T09:13:07+02:00").

    Vectorised by lookup: the offset of a zone is constant within a UTC hour, so it is
    looked up per (zone, hour) with zoneinfo, then date, time of day and offset texts
    are gathered from small tables and concatenated."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    utc_s = np.asarray(utc_s, dtype=np.int64)
    n = utc_s.size
    if n == 0 or (null is not None and null.all()):
        return pl.Series([None] * n, dtype=pl.String)
    if null is not None and null.any():
        utc_s = np.where(null, utc_s[np.argmin(null)], utc_s)  # any real value: keeps the hour range small
    hour = utc_s // 3600
    h0 = int(hour.min())
    hour = hour - h0
    nh = int(hour.max()) + 1
    table = np.zeros((len(ZONES), nh), dtype=np.int64)
    for z in np.unique(zone):
        tz = ZoneInfo(TIMEZONES[ZONES[int(z)]])
        # the offset changes only at transitions: evaluate each hour, a few thousand at most
        table[z] = [int(datetime.fromtimestamp((h0 + k) * 3600, timezone.utc).astimezone(tz)
                        .utcoffset().total_seconds()) for k in range(nh)]
    off = table[zone, hour]
    local = utc_s + off
    day = local // 86400
    d0 = int(day.min())
    days = pl.Series([(EPOCH + timedelta(days=d0 + k)).isoformat() + "T" for k in range(int(day.max()) - d0 + 1)],
                     dtype=pl.String)
    offs, off_idx = np.unique(off, return_inverse=True)
    off_txt = pl.Series([f"{'+' if o >= 0 else '-'}{abs(o) // 3600:02d}:{abs(o) % 3600 // 60:02d}"
                         for o in offs.tolist()], dtype=pl.String)
    out = pl.select(pl.concat_str([days.gather(day - d0), _sod_strings().gather(local % 86400),
                                   off_txt.gather(off_idx.reshape(-1))])).to_series()
    if null is not None and null.any():
        out = out.scatter(np.flatnonzero(null), None)
    return out


def _ts_typed(col: str) -> pl.Expr:
    return (pl.col(col) * 1_000_000).cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias(col)


def _ts_text(df: pl.DataFrame, col: str) -> pl.Series:
    v = df[col]
    return _fmt_ts(v.fill_null(0).to_numpy(), df["_zone"].to_numpy(), v.is_null().to_numpy()).alias(col)


# --- targets --------------------------------------------------------------------------

@dataclass
class Targets:
    subs: list[Sub]
    weight: np.ndarray      # float, expected share or mean count
    table: np.ndarray       # _cum_table of day weights
    last: np.ndarray        # last usable day per target
    zone: np.ndarray        # zone index per target
    ids: pl.Series

    @property
    def n(self) -> int:
        return len(self.subs)


def _targets(subs: list[Sub], kind: str, weight_of, first: date, ndays: int, dow: np.ndarray) -> Targets:
    chosen, weights, days = [], [], []
    wd = np.array([dow[(first + timedelta(days=i)).weekday()] for i in range(ndays)])
    for s in subs:
        w = weight_of(s)
        if w <= 0:
            continue
        mask = s.days(kind, first, ndays)
        if not mask.any():
            continue
        chosen.append(s)
        weights.append(w)
        days.append(mask * wd)
    if not chosen:
        return Targets([], np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64),
                       pl.Series([], dtype=pl.String))
    dw = np.array(days)
    last = np.array([np.flatnonzero(r)[-1] for r in dw], dtype=np.int64)
    return Targets(chosen, np.array(weights, dtype=np.float64), _cum_table(dw), last,
                   np.array([ZONES.index(s.country) for s in chosen], dtype=np.int64),
                   pl.Series([s.id for s in chosen], dtype=pl.String))


def _chunks(total: int) -> int:
    return max(1, -(-total // CHUNK))


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _lognormal_int(rng, median, sigma, lo, hi, n) -> np.ndarray:
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, size=n)), lo, hi).astype(np.int64)


# --- calls --------------------------------------------------------------------------

def _calls_month(seed: int, subs: list[Sub], first: date, legs: int, tiny: bool):
    """Yields one DataFrame per chunk of ≤ CHUNK call legs for the month."""
    ndays = days_in(first)
    ym = first.year * 100 + first.month
    ans = _targets(subs, "phone", lambda s: s.call_w, first, ndays, CALL_DOW)
    sp = _targets(subs, "service_pack", lambda s: s.sp_calls, first, ndays, SUPPORT_DOW)
    if not ans.n and not sp.n:
        return
    sizes = _split(legs, _chunks(legs))
    rng0 = _rng(seed, _S_CALLS, ym, 999_999)
    # service-pack subscribers get their few calls a month in the first chunk
    sp_counts = rng0.poisson(sp.weight * (0.5 if tiny else 1.0)) if sp.n else np.zeros(0, np.int64)
    while sp_counts.sum() > min(legs // 20, sizes[0] // 2):  # keep them a small share
        sp_counts = sp_counts // 2
    base = 0
    for k, size in enumerate(sizes):
        rng = _rng(seed, _S_CALLS, ym, k)
        if not ans.n:  # only service-pack subscribers can take calls this month
            sp_k = rng.multinomial(size, sp.weight / sp.weight.sum())
        else:
            sp_k = sp_counts if k == 0 else np.zeros(sp.n, np.int64)
        rest = size - int(sp_k.sum())
        n_child = int(round(rest * 0.10)) if ans.n else 0
        df = _calls_chunk(rng, ans, sp, rest - n_child, sp_k, n_child, first, ndays, ym, base)
        base += df.height
        yield df


def _phone_numbers(rng, zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Caller numbers as (prefix index into PHONE_PREFIXES, number with a leading 1 above
    its digits), drawn by the subscriber's country."""
    mix = np.array([PHONE_MIX[c] for c in ZONES])
    last = np.full(len(ZONES), len(PHONE_PREFIXES) - 1)
    p = _pick(rng, zone, _cum_table(mix), len(PHONE_PREFIXES), last)
    digits = np.array([d for _, d, _ in PHONE_PREFIXES], dtype=np.int64)[p]
    return p, rng.integers(0, 10**digits) + 10**digits


def _phone_text(p: np.ndarray, number: np.ndarray, null: np.ndarray) -> pl.Series:
    prefixes = pl.Series([x for x, _, _ in PHONE_PREFIXES], dtype=pl.String).gather(p)
    out = pl.select(pl.concat_str([prefixes, pl.Series(number).cast(pl.String).str.slice(1)])).to_series()
    return out.scatter(np.flatnonzero(null), None) if null.any() else out


def _calls_chunk(rng, ans: Targets, sp: Targets, n_in: int, sp_counts, n_child: int, first: date,
                 ndays: int, ym: int, base: int) -> pl.DataFrame:
    """One chunk of call legs, sorted by start, ids `C<yyyymm>-<base+1…>`. Everything is
    drawn as numbers first; texts are built once, in file order."""
    # inbound legs to answering subscribers, then to service-pack subscribers
    tgt_a = np.repeat(np.arange(ans.n), rng.multinomial(n_in, ans.weight / ans.weight.sum())) \
        if ans.n and n_in else np.zeros(0, np.int64)
    tgt_s = np.repeat(np.arange(sp.n), sp_counts) if sp.n else np.zeros(0, np.int64)
    na, ns = tgt_a.size, tgt_s.size
    start = np.concatenate([
        _sample_local(rng, tgt_a, ans.table, ndays, ans.last, first, CALL_PROFILE, ans.zone),
        _sample_local(rng, tgt_s, sp.table, ndays, sp.last, first, CALL_PROFILE, sp.zone)])
    n1 = na + ns
    answered = rng.random(n1) < np.concatenate([np.full(na, 0.87), np.full(ns, 0.9)])
    if n_child and na and not answered[:na].any():
        answered[0] = True  # child legs need an answered parent
    ring = np.where(answered, 2 + rng.gamma(2.0, 4.0, n1), 5 + rng.gamma(2.0, 12.0, n1))
    ring = np.minimum(np.rint(ring), 120).astype(np.int64)
    talk = np.concatenate([_lognormal_int(rng, 70, 0.75, 4, 3600, na),
                           _lognormal_int(rng, 240, 0.7, 20, 3600, ns)])
    talk = np.where(answered, talk, 0)
    ans_at = start + ring
    end = ans_at + talk
    who = np.concatenate([tgt_a, tgt_s + ans.n])  # index into ans.ids ++ sp.ids
    zone = np.concatenate([ans.zone[tgt_a], sp.zone[tgt_s]]).astype(np.int64)
    prefix, number = _phone_numbers(rng, zone)
    withheld = rng.random(n1) < 0.03
    # reports on answered inbound calls, by the subscriber's habits
    p_mail = np.concatenate([np.array([s.p_mail for s in ans.subs] or [0.0])[tgt_a], np.zeros(ns)])
    p_sms = np.concatenate([np.array([s.p_sms for s in ans.subs] or [0.0])[tgt_a], np.zeros(ns)])
    u = rng.random(n1)
    report = np.where(u < p_mail, 1, np.where(u < p_mail + p_sms, 2, 0))
    report = np.where(answered | (rng.random(n1) < 0.01), report, 0)
    ctype = np.zeros(n1, np.int64)
    parent = np.full(n1, -1, np.int64)
    country_of_prefix = np.array([COUNTRIES.index(c) for _, _, c in PHONE_PREFIXES], dtype=np.int64)
    dest = np.where(withheld, -1, country_of_prefix[prefix])

    # transfer and outbound legs, children of answered inbound calls to answering subscribers
    eligible = np.flatnonzero(answered[:na])
    if n_child and eligible.size:
        par = eligible[rng.integers(0, eligible.size, size=n_child)]
        n_tr = int(round(n_child * 0.7))
        kind = np.where(np.arange(n_child) < n_tr, 1, 2)
        frac = rng.uniform(0.2, 0.95, n_child)
        c_start = np.where(kind == 1, ans_at[par] + np.floor(frac * talk[par]).astype(np.int64),
                           end[par] + rng.integers(30, 3600, n_child))
        c_answered = rng.random(n_child) < np.where(kind == 1, 0.85, 0.75)
        c_ring = np.where(c_answered, 3 + rng.integers(0, 22, n_child), 10 + rng.integers(0, 40, n_child))
        c_talk = np.where(kind == 1, _lognormal_int(rng, 60, 0.8, 3, 3600, n_child),
                          _lognormal_int(rng, 90, 0.8, 3, 3600, n_child))
        c_talk = np.where(c_answered, c_talk, 0)
        c_zone = zone[par]
        own = np.array([COUNTRIES.index(c) for c in ZONES])[c_zone]
        abroad_tab = np.array([[COUNTRIES.index(x) for x in ABROAD[c]] for c in ZONES])
        abroad = abroad_tab[c_zone, rng.integers(0, 4, n_child)]
        v = rng.random(n_child)
        c_dest = np.where(v < 0.78, own, np.where(v < 0.92, abroad, -1))
        start = np.concatenate([start, c_start])
        answered = np.concatenate([answered, c_answered])
        ans_at = np.concatenate([ans_at, c_start + c_ring])
        talk = np.concatenate([talk, c_talk])
        end = np.concatenate([end, c_start + c_ring + c_talk])
        who = np.concatenate([who, who[par]])
        zone = np.concatenate([zone, c_zone])
        prefix = np.concatenate([prefix, prefix[par]])
        number = np.concatenate([number, number[par]])
        # a transfer shows the caller's number; an outbound leg has none
        withheld = np.concatenate([withheld, withheld[par] | (kind == 2)])
        report = np.concatenate([report, np.zeros(n_child, np.int64)])
        ctype = np.concatenate([ctype, kind])
        parent = np.concatenate([parent, par])
        dest = np.concatenate([dest, c_dest])
    n = start.size
    order = np.argsort(start, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    parent = parent[order]
    has_parent = parent >= 0
    parent_seq = np.where(has_parent, base + rank[np.maximum(parent, 0)] + 1, 0)
    parent_ids = numbered_ids(f"C{ym}-", parent_seq, 9)
    if (~has_parent).any():
        parent_ids = parent_ids.scatter(np.flatnonzero(~has_parent), None)
    answered = answered[order]
    ids = pl.concat([ans.ids, sp.ids])
    return pl.DataFrame({
        "call_id": numbered_ids(f"C{ym}-", base + np.arange(1, n + 1), 9),
        "subscriber_id": ids.gather(who[order]),
        "call_type": pl.Series(["inbound", "transfer", "outbound"]).gather(ctype[order]),
        "parent_call_id": parent_ids,
        "started_at": start[order],
        "answered_at": pl.Series(ans_at[order]).scatter(np.flatnonzero(~answered), None)
        if (~answered).any() else ans_at[order],
        "ended_at": end[order],
        "talk_s": talk[order],
        "caller_number": _phone_text(prefix[order], number[order], withheld[order]),
        "destination_country": pl.Series([None] + COUNTRIES, dtype=pl.String).gather(dest[order] + 1),
        "report": pl.Series([None, "mail", "sms"], dtype=pl.String).gather(report[order]),
        "_zone": zone[order],
    })


# --- interactions -------------------------------------------------------------------

def _aht_of(s: Sub) -> int:
    for r in sorted(s.rows, key=lambda r: r.valid_from):
        if r.product.startswith("messaging:") and r.params and "aht_s" in r.params:
            return int(r.params["aht_s"])
    return 240


def _interactions_month(seed: int, subs: list[Sub], first: date, total: int, tiny: bool):
    ndays = days_in(first)
    ym = first.year * 100 + first.month
    ans = _targets(subs, "messaging", lambda s: s.msg_w, first, ndays, CALL_DOW)
    sp = _targets(subs, "service_pack", lambda s: s.sp_inter, first, ndays, SUPPORT_DOW)
    if not ans.n and not sp.n:
        return
    sizes = _split(total, _chunks(total))
    rng0 = _rng(seed, _S_INTER, ym, 999_999)
    sp_counts = rng0.poisson(sp.weight * (0.5 if tiny else 1.0)) if sp.n else np.zeros(0, np.int64)
    while sp_counts.sum() > min(total // 10, sizes[0] // 2):
        sp_counts = sp_counts // 2
    base = 0
    for k, size in enumerate(sizes):
        rng = _rng(seed, _S_INTER, ym, k)
        if not ans.n:
            sp_k = rng.multinomial(size, sp.weight / sp.weight.sum())
        else:
            sp_k = sp_counts if k == 0 else np.zeros(sp.n, np.int64)
        df = _interactions_chunk(rng, ans, sp, size - int(sp_k.sum()), sp_k, first, ndays, ym, base)
        base += df.height
        yield df


def _interactions_chunk(rng, ans: Targets, sp: Targets, n_ans: int, sp_counts, first, ndays, ym, base):
    tgt_a = np.repeat(np.arange(ans.n), rng.multinomial(n_ans, ans.weight / ans.weight.sum())) \
        if ans.n and n_ans else np.zeros(0, np.int64)
    tgt_s = np.repeat(np.arange(sp.n), sp_counts) if sp.n else np.zeros(0, np.int64)
    na, ns = tgt_a.size, tgt_s.size
    n = na + ns
    start = np.concatenate([
        _sample_local(rng, tgt_a, ans.table, ndays, ans.last, first, MSG_PROFILE, ans.zone),
        _sample_local(rng, tgt_s, sp.table, ndays, sp.last, first, WORK_PROFILE, sp.zone)])
    sigma = 0.5
    mean_a = np.array([_aht_of(s) * s.aht_factor for s in ans.subs])[tgt_a] if na else np.zeros(0)
    median = np.concatenate([mean_a / np.exp(sigma**2 / 2), np.full(ns, 300 / np.exp(sigma**2 / 2))])
    handle = np.clip(np.rint(median * rng.lognormal(0.0, sigma, n)), 15, 3600).astype(np.int64)
    # channels: email, chat, whatsapp, webticket
    u = rng.random(n)
    ch_a = np.where(u[:na] < 0.45, 0, np.where(u[:na] < 0.8, 1, 2))
    ch_s = np.where(u[na:] < 0.5, 0, np.where(u[na:] < 0.85, 3, 1))
    channel = np.concatenate([ch_a, ch_s])
    span = np.floor(handle * rng.uniform(0.6, 1.0, n)).astype(np.int64)
    span = np.where(channel == 0, span + rng.integers(0, 600, n), span)  # e-mails stay open a while
    end = start + span
    agent = rng.integers(1, 61, n)
    agent = np.where(rng.random(n) < 0.03, 0, agent)
    zone = np.concatenate([ans.zone[tgt_a], sp.zone[tgt_s]]).astype(np.int64)
    who = np.concatenate([tgt_a, tgt_s + ans.n])
    o = np.argsort(start, kind="stable")
    return pl.DataFrame({
        "interaction_id": numbered_ids(f"I{ym}-", base + np.arange(1, n + 1), 8),
        "subscriber_id": pl.concat([ans.ids, sp.ids]).gather(who[o]),
        "channel": pl.Series(["email", "chat", "whatsapp", "webticket"]).gather(channel[o]),
        "started_at": start[o],
        "ended_at": end[o],
        "handle_s": handle[o],
        "agent_id": pl.Series([None] + [f"AGT-{i:03d}" for i in range(1, 61)], dtype=pl.String).gather(agent[o]),
        "_zone": zone[o],
    })


# --- work logs ----------------------------------------------------------------------

def _worklogs_month(seed: int, subs: list[Sub], first: date, tiny: bool, bulk_mean: float) -> pl.DataFrame | None:
    ndays = days_in(first)
    ym = first.year * 100 + first.month
    rng = _rng(seed, _S_WORK, ym, 0)
    kind_of = {"remote_support": "remote_support", "service_pack": "service_pack", "klippekort": "klippekort",
               "answering": "answering"}
    scale = 0.5 if tiny else 1.0
    rows_sub, rows_act, rows_fixed = [], [], []
    tsubs = []
    for s in subs:
        work = s.work
        if not work and not s.fixed_work:
            continue
        mask = s.days(kind_of[s.family], first, ndays)
        if not mask.any():
            continue
        t = len(tsubs)
        tsubs.append((s, mask))
        if s.fixed_work:
            rows_sub.append(t)
            rows_act.append(ACTIVITIES.index(s.fixed_work[0]))
            rows_fixed.append(s.fixed_work[1])
            continue
        for act, mean in sorted(work.items()):
            m = mean * (bulk_mean if s.bulk else scale)
            c = int(rng.poisson(m)) if m > 0 else 0
            if tiny and mean >= 1 and c == 0:
                c = 1
            rows_sub += [t] * c
            rows_act += [ACTIVITIES.index(act)] * c
            rows_fixed += [0] * c
    if not rows_sub:
        return None
    tgt = np.array(rows_sub, np.int64)
    act = np.array(rows_act, np.int64)
    fixed = np.array(rows_fixed, np.int64)
    n = tgt.size
    wd = np.array([SUPPORT_DOW[(first + timedelta(days=i)).weekday()] for i in range(ndays)])
    dw = np.array([m * wd for _, m in tsubs])
    last = np.array([np.flatnonzero(r)[-1] for r in dw], np.int64)
    zone_of = np.array([ZONES.index(s.country) for s, _ in tsubs], np.int64)
    night_of = np.array([s.night for s, _ in tsubs])
    day = _pick(rng, tgt, _cum_table(dw), ndays, last)
    # a fixed session falls on a working day (its point is the invoice minimum, not hours)
    weekday = np.array([(first + timedelta(days=i)).weekday() < 5 for i in range(ndays)])
    dw_work = dw * weekday
    has_work = dw_work.any(axis=1)
    dw_work[~has_work] = dw[~has_work]
    last_work = np.array([np.flatnonzero(r)[-1] for r in dw_work], np.int64)
    day = np.where(fixed > 0, _pick(rng, tgt, _cum_table(dw_work), ndays, last_work), day)
    night = (rng.random(n) < night_of[tgt]) & (fixed == 0)
    hour = np.where(night, _hours(rng, n, NIGHT_PROFILE), _hours(rng, n, WORK_PROFILE))
    hour = np.where(fixed > 0, 10, hour)
    sod = hour * 3600 + rng.integers(0, 3600, n)
    local = ((first - EPOCH).days + day) * 86400 + sod
    start = _local_to_utc(local.astype(np.int64), zone_of[tgt])
    minutes = np.zeros(n, np.int64)
    for a, (med, sig, lo, hi) in ACTIVITY_MINUTES.items():
        sel = act == ACTIVITIES.index(a)
        minutes[sel] = _lognormal_int(rng, med, sig, lo, hi, int(sel.sum()))
    minutes = np.where(fixed > 0, fixed, minutes)
    onsite = act == ACTIVITIES.index("onsite")
    km10 = rng.integers(8, 180, n) * 5  # tenths of km, multiples of 0.5
    km_missing = rng.random(n) < 0.05
    km = pl.Series(km10 // 10).cast(pl.String)
    km = pl.select(pl.when(pl.Series(km10 % 10 == 5)).then(pl.concat_str([km, pl.lit(".5")])).otherwise(km)).to_series()
    km = pl.select(pl.when(pl.Series(onsite & ~km_missing)).then(km).otherwise(None)).to_series()
    fam = [s.family for s, _ in tsubs]
    cons_names = [c for f in CONSULTANTS for c in CONSULTANTS[f]]
    cons_off = {f: (sum(len(CONSULTANTS[g]) for g in list(CONSULTANTS)[:i]), len(CONSULTANTS[f]))
                for i, f in enumerate(CONSULTANTS)}
    off = np.array([cons_off[f][0] for f in fam], np.int64)[tgt]
    cnt = np.array([cons_off[f][1] for f in fam], np.int64)[tgt]
    cons = off + (rng.random(n) * cnt).astype(np.int64) + 1
    cons = np.where(rng.random(n) < 0.05, 0, cons)
    desc_list, desc_off = [], []
    for a in ACTIVITIES:
        desc_off.append((len(desc_list), len(DESCRIPTIONS[a])))
        desc_list += DESCRIPTIONS[a]
    generic0 = len(desc_list)
    desc_list += DESCRIPTIONS["*"]
    d_off = np.array([o for o, _ in desc_off], np.int64)[act]
    d_cnt = np.array([c for _, c in desc_off], np.int64)[act]
    desc = d_off + (rng.random(n) * d_cnt).astype(np.int64)
    generic = rng.random(n) < 0.15
    desc = np.where(generic, generic0 + rng.integers(0, len(DESCRIPTIONS["*"]), n), desc)
    desc_s = pl.Series(desc_list, dtype=pl.String).gather(desc)
    desc_s = pl.select(pl.when(desc_s == "").then(None).otherwise(desc_s)).to_series()
    order = np.argsort(start, kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    ids = pl.Series([s.id for s, _ in tsubs], dtype=pl.String)
    df = pl.DataFrame({
        "worklog_id": numbered_ids(f"W{ym}-", rank + 1, 7),
        "subscriber_id": ids.gather(tgt),
        "activity": pl.Series(list(ACTIVITIES)).gather(act),
        "started_at": start,
        "minutes": minutes,
        "km": km,
        "consultant": pl.Series([None] + cons_names, dtype=pl.String).gather(cons),
        "description": desc_s,
        "_zone": zone_of[tgt],
    })
    return df[order]


def _archive_worklog(D: date) -> pl.DataFrame:
    """The one task ever done on DK-KK-0004's old card."""
    _, last_use = _old_card_dates(D)
    local = ((last_use - EPOCH).days * 86400 + 10 * 3600 + 15 * 60)
    start = _local_to_utc(np.array([local], np.int64), np.array([ZONES.index("DK")]))
    return pl.DataFrame({
        "worklog_id": [f"W{last_use.year * 100 + last_use.month}-A0001"], "subscriber_id": ["DK-KK-0004"],
        "activity": ["onsite"], "started_at": start, "minutes": np.array([85], np.int64), "km": [None],
        "consultant": ["Jens Ølgaard"], "description": ["Kasseapparat opsat, net testet"],
        "_zone": np.array([ZONES.index("DK")], np.int64)},
        schema_overrides={"km": pl.String})


# --- writing ------------------------------------------------------------------------

class _Writer:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.files: list[pathlib.Path] = []

    def _path(self, feed: str, name: str) -> pathlib.Path:
        d = self.root / "inbox" / feed
        d.mkdir(parents=True, exist_ok=True)
        return d / name

    def _write(self, path: pathlib.Path, write) -> None:
        self.files.append(write_atomically(path, write))

    def text(self, feed: str, name: str, rows: list[list[str]] | None = None, raw: bytes | None = None) -> None:
        if raw is None:
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerows(rows)
            raw = buf.getvalue().encode("utf-8")
        data = raw
        self._write(self._path(feed, name), lambda tmp: tmp.write_bytes(data))

    def frame(self, feed: str, stem: str, df: pl.DataFrame, fmt: str) -> None:
        ts_cols = [c for c in ("started_at", "answered_at", "ended_at") if c in df.columns]
        if fmt == "parquet":
            out = df.with_columns([_ts_typed(c) for c in ts_cols]).select(COLUMNS[feed])
            table = out.to_arrow().cast(PARQUET_SCHEMAS[feed])
            self._write(self._path(feed, f"{stem}.parquet"),
                        lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=256 * 1024))
        else:
            out = df.with_columns([_ts_text(df, c) for c in ts_cols]).select(COLUMNS[feed])
            self._write(self._path(feed, f"{stem}.csv"),
                        lambda tmp: out.write_csv(tmp, include_header=True, separator=",", line_terminator="\n",
                                                  quote_style="necessary"))


def _params_text(p: dict | None) -> str:
    return json.dumps(p, ensure_ascii=False) if p else ""


def _sub_row(s: Sub, r: Row, valid_to: date | None) -> list[str]:
    return [s.id, r.product, str(r.quantity), r.valid_from.isoformat(),
            valid_to.isoformat() if valid_to else "", _params_text(r.params)]


# --- bad files ----------------------------------------------------------------------

def _bad_files(w: _Writer, D: date, first_call: dict | None, second_call: dict | None) -> dict[str, int]:
    d = D + timedelta(days=6)
    off = "+02:00" if 4 <= D.month <= 10 else "+01:00"  # Amsterdam/Copenhagen on day 7 of the month

    def t(h: int, m: int, s: int = 0, off: str = off) -> str:
        return f"{d.isoformat()}T{h:02d}:{m:02d}:{s:02d}{off}"

    hdr = COLUMNS["calls"]
    rows = [hdr,
            ["CBAD-0001", "NL-ANS-0001", "inbound", "", t(10, 0, 0, off), t(10, 0, 6, off), t(10, 1, 6, off), "60",
             "+31612345678", "NL", ""],
            ["CBAD-0002", "NL-ANS-0001", "inbound", "", f"{d.isoformat()}T10:15:00", f"{d.isoformat()}T10:15:05",
             f"{d.isoformat()}T10:16:05", "60", "+31612345679", "NL", ""],
            ["CBAD-0003", "NL-ANS-0001", "conference", "", t(11, 0, 0, off), t(11, 0, 4, off), t(11, 2, 4, off),
             "120", "+31612345680", "NL", ""],
            ["CBAD-0004", "NL-ANS-0001", "inbound", "", t(12, 0, 0, off), t(12, 0, 4, off), t(12, 1, 4, off), "-12",
             "+31612345681", "NL", "mail"]]
    if first_call:
        rows.append([first_call.get(c) or "" for c in hdr])  # the same record again: a duplicate
    if second_call:
        changed = dict(second_call)
        changed["report"] = "sms" if changed.get("report") != "sms" else "mail"
        rows.append([changed.get(c) or "" for c in hdr])  # same call_id, other content: a conflict
    rows.append(["CBAD-0001", "NL-ANS-0001", "inbound", "", t(13, 0, 0, off), t(13, 0, 6, off), t(13, 1, 6, off),
                 "60", "+31612345682", "NL", ""])  # call_id repeated within the file
    w.text("calls", "zz-bad-calls.csv", rows)
    semi = ";".join(COLUMNS["interactions"]) + "\n" + "".join(
        f"IBAD-{i:04d};NL-ANS-0002;email;{t(9 + i, 0)};{t(9 + i, 4)};240;AGT-001\n" for i in range(1, 4))
    w.text("interactions", "zz-bad-semicolon.csv", raw=semi.encode("utf-8"))
    latin = (",".join(COLUMNS["worklogs"]) + "\n"
             + f"WBAD-0001,DK-KK-0001,remote,{t(9, 30, 0, off)},45,,Mette Sørensen,Opdatering af printer\n"
             + f"WBAD-0002,DK-KK-0001,onsite,{t(13, 0, 0, off)},90,24,Jens Ølgaard,Kabler skiftet på kontoret\n")
    w.text("worklogs", "zz-bad-latin1.csv", raw=latin.encode("latin-1"))
    w.text("subscriptions", "zz-bad-subscriptions.csv", [
        COLUMNS["subscriptions"],
        ["NL-ANS-0001", "phone:GOLD", "1", D.isoformat(), "", ""],
        ["NL-ANS-0002", "option:voice_response", "1", D.isoformat(), "", "{aht_s: 240, 'auto_renew': no}"],
    ])
    return {"calls": len(rows) - 1, "interactions": 3, "worklogs": 2, "subscriptions": 2}


# --- the entry point ----------------------------------------------------------------

def generate_workspace(root: pathlib.Path, months: list[str] = ["2026-10"], size: str | int = "small",  # noqa: B006
                       fmt: str = "csv", seed: int = 7, bad_files: bool = True,
                       history_from: str | None = None) -> dict:
    """Writes a demo inbox under `root/inbox/` and returns what it wrote.

    months        usage months ("YYYY-MM"). The last is the demo month: contract events
                  (a plan change, rising users, an early termination, purchases, a
                  card about to forfeit) happen in it; earlier months are history.
                  Contracts start before the first month.
    size          "tiny" (12 subscribers, 300 call legs a month), "small" (40 subscribers,
                  20,000 call legs a month) or an int: call legs per month exactly;
                  interactions are 20 % of that, and above ~40,000 legs generated
                  subscribers are added (one per 1,000 legs).
    fmt           "csv" or "parquet" (calls, interactions and work logs; subscribers
                  and subscriptions are always CSV). CSV timestamps carry the
                  subscriber's local offset; Parquet timestamps are typed UTC.
    seed          same arguments, same bytes.
    bad_files     also write zz-bad-* files that the ingestion must quarantine.
    history_from  "YYYY-MM" ≤ the first month: contracts start on its first day (by
                  default each starts 1-12 months before the first month) and usage is
                  also generated for every month from it up to the first listed one.

    Returns {"subscribers": n, "subscriptions": n, "calls": n, "interactions": n,
    "worklogs": n} (good records written), plus "bad_records" (records in bad files, per
    feed), "months" (the usage months) and "files" (every file written, as Paths, in
    the order written). Existing files of the same names are replaced; others are left.
    """
    root = pathlib.Path(root)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if isinstance(size, bool) or not isinstance(size, (str, int)):
        raise ValueError(f"size must be 'tiny', 'small' or a number of call legs, not {size!r}")
    if isinstance(size, str):
        if size not in SIZES:
            raise ValueError(f"size must be 'tiny', 'small' or a number of call legs, not {size!r}")
        legs = SIZES[size]
    else:
        if size < 0:
            raise ValueError(f"size must be ≥ 0 call legs, not {size}")
        legs = size
    tiny = size == "tiny"
    if isinstance(months, str):
        months = [months]
    if not months:
        raise ValueError("months: at least one month (YYYY-MM) is needed")
    firsts = sorted({parse_month(m) for m in months})
    history = None
    if history_from is not None:
        history = parse_month(history_from)
        if history > firsts[0]:
            raise ValueError(f"history_from {history_from} is after the first month {firsts[0]:%Y-%m}")
        m = history
        while m < firsts[0]:
            firsts.append(m)
            m = add_months(m, 1)
        firsts = sorted(set(firsts))
    F, D = firsts[0], firsts[-1]  # first usage month; the demo month
    n_inter = 80 if tiny else int(round(legs * 0.2))
    n_bulk = 0 if isinstance(size, str) else max(0, legs // 1000 - 40)
    subs = _roster(D, F, history, tiny, n_bulk, seed)
    bulk_work_subs = sum(1 for s in subs if s.bulk and s.family in WORK_MIX)
    bulk_mean = legs * 0.005 / bulk_work_subs if bulk_work_subs else 0.0  # work logs a month each

    w = _Writer(root)
    counts = {"subscribers": 0, "subscriptions": 0, "calls": 0, "interactions": 0, "worklogs": 0}
    w.text("subscribers", "subscribers.csv",
           [COLUMNS["subscribers"]] + [[s.id, s.name, s.country, s.address, s.vat_id, s.email, *_einvoice_fields(s)]
                                  for s in subs])
    counts["subscribers"] = len(subs)
    contract_rows, change_rows = [], []
    for s in subs:
        for r in s.rows:
            if r.in_changes:
                change_rows.append(_sub_row(s, r, r.valid_to))
                continue
            contract_rows.append(_sub_row(s, r, r.first_valid_to))
            if r.first_valid_to != r.valid_to:
                change_rows.append(_sub_row(s, r, r.valid_to))
    w.text("subscriptions", "subscriptions-a-contracts.csv", [COLUMNS["subscriptions"]] + contract_rows)
    counts["subscriptions"] = len(contract_rows)
    if change_rows:
        w.text("subscriptions", f"subscriptions-b-changes-{D:%Y-%m}.csv", [COLUMNS["subscriptions"]] + change_rows)
        counts["subscriptions"] += len(change_rows)

    first_calls: list[dict] = []
    for first in firsts:
        ym = f"{first:%Y-%m}"
        # one chunk at a time: generated, written, dropped
        parts = _chunks(legs)
        for k, df in enumerate(_calls_month(seed, subs, first, legs, tiny) if legs else ()):
            stem = f"calls-{ym}" if parts == 1 else f"calls-{ym}-p{k + 1:03d}"
            w.frame("calls", stem, df, fmt)
            counts["calls"] += df.height
            if first == D and k == 0 and df.height >= 2 and not first_calls:
                head = df.head(2)
                txt = head.with_columns([_ts_text(head, c) for c in ("started_at", "answered_at", "ended_at")]) \
                    .select(COLUMNS["calls"]).with_columns(pl.col("talk_s").cast(pl.String))
                first_calls = txt.to_dicts()
        parts = _chunks(n_inter)
        for k, df in enumerate(_interactions_month(seed, subs, first, n_inter, tiny) if n_inter else ()):
            stem = f"interactions-{ym}" if parts == 1 else f"interactions-{ym}-p{k + 1:03d}"
            w.frame("interactions", stem, df, fmt)
            counts["interactions"] += df.height
        wl = _worklogs_month(seed, subs, first, tiny, bulk_mean)
        if wl is not None and wl.height:
            w.frame("worklogs", f"worklogs-{ym}", wl, fmt)
            counts["worklogs"] += wl.height
    if any(s.id == "DK-KK-0004" for s in subs):
        arch = _archive_worklog(D)
        _, last_use = _old_card_dates(D)
        w.frame("worklogs", f"worklogs-{last_use:%Y-%m}-archive", arch, fmt)
        counts["worklogs"] += arch.height
    bad = {}
    if bad_files:
        bad = _bad_files(w, D, first_calls[0] if first_calls else None,
                         first_calls[1] if len(first_calls) > 1 else None)
    return {**counts, "bad_records": bad, "months": [f"{m:%Y-%m}" for m in firsts], "files": list(w.files)}

