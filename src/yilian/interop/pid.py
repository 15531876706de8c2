"""The patient of a message (PID): the identifiers of PID-3, and the demographics an ADT message brings.

PID-3 repetitions are typed by CX.5 (HL7 table 0203, and the names of `IdentifierType` themselves):

| CX.5                    | identifier          | issuing system                                            |
|-------------------------|---------------------|-----------------------------------------------------------|
| NNCHN, NI, ID           | resident ID         | GB11643                                                   |
| MR, PI, PT, (none)      | record number (MRN) | CX.4 when it names another authority, else the sender's   |
| SS, MC, MI              | insurance card      | CX.4 when it is a 6-digit division code, else the county's |
| HC                      | e-health card       | CX.4, else EHC                                            |
| PPN                     | passport            | CX.4 (three-letter country); without it, ignored          |

Other types are ignored. Nothing here looks a patient up: `identity.find_patient` does.
"""

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from yilian.interop.hl7_parse import REQUIRED_MISSING, Reject, repetitions, timestamp, value
from yilian.interop.identity import Ident, mrn_system
from yilian.patients import residentid
from yilian.patients.identifiers import HEALTH_CARD_SYSTEM, PERMIT_SYSTEM, RESIDENT_ID_SYSTEM, normalise
from yilian.patients.models import IdentifierType as T

TYPES = {"NNCHN": T.RESIDENT_ID, "NI": T.RESIDENT_ID, "ID": T.RESIDENT_ID, "MR": T.MRN, "PI": T.MRN, "PT": T.MRN,
         "": T.MRN, "SS": T.INSURANCE, "MC": T.INSURANCE, "MI": T.INSURANCE, "HC": T.HEALTH_CARD,
         "PPN": T.PASSPORT} | {t.upper(): t for t in T.values if t != T.CONSORTIUM}
SEX = {"M": "1", "F": "2", "U": "0", "O": "9", "A": "9", "N": "9"}
CJK = re.compile(r"[\u3400-\u9fff]")
NULL = '""'  # HL7's explicit "no value": the receiver deletes what it holds


@dataclass
class Person:
    """PID-5, 7, 8, 11 and 13 as Yilian keeps them ("" when not sent; `cleared` names the fields sent as
    HL7 null `""`)."""

    name: str
    sex: str
    birth_date: date | None
    phone: str
    address: str
    cleared: frozenset[str] = frozenset()


def pid_segment(message):
    try:
        segments = message.segments("PID")
    except KeyError:
        raise Reject(_("The message has no PID segment."), REQUIRED_MISSING, "PID^1") from None
    if len(segments) > 1:
        raise Reject(_("One patient per message: the message has several PID segments."), 100, "PID^2")
    return segments[0]


def _system(kind: str, authority: str, sender) -> str | None:
    if kind == T.RESIDENT_ID:
        return RESIDENT_ID_SYSTEM
    if kind == T.MRN:
        own = {sender.mrn_authority, sender.institution.code, ""}
        return mrn_system(sender) if authority in own else authority[:64]
    if kind == T.INSURANCE:
        return authority if re.fullmatch(r"\d{6}", authority) else sender.institution.consortium.division_code
    if kind == T.HEALTH_CARD:
        return authority[:64] or HEALTH_CARD_SYSTEM
    if kind in (T.HKMO_PERMIT, T.TW_PERMIT):
        return PERMIT_SYSTEM
    return authority if re.fullmatch(r"[A-Z]{3}", authority) else None  # a passport names its country


def identifiers(pid, sender) -> list[Ident]:
    """The typed identifiers of PID-3's repetitions (PID-2 and PID-4 are not read: senders put anything
    there)."""
    out: list[Ident] = []
    for rep in range(1, repetitions(pid, 3) + 1):
        raw = value(pid, 3, 1, rep)
        kind = TYPES.get(value(pid, 3, 5, rep).upper()) if raw else None
        if kind is None:
            continue
        system = _system(kind, normalise(value(pid, 3, 4, rep)), sender)
        if system is None:
            continue
        number = residentid.normalise(raw) if kind == T.RESIDENT_ID else normalise(raw)
        ident = Ident(kind, system, number[:64])
        if ident not in out:
            out.append(ident)
    return out


def _name(pid) -> str:
    family, given = value(pid, 5, 1), value(pid, 5, 2)
    if NULL in (family, given):
        return NULL
    parts = [p for p in (family, given) if p]
    return "".join(parts) if any(CJK.search(p) for p in parts) else " ".join(reversed(parts))


def _phone(pid) -> str:
    raw = value(pid, 13, 12) or value(pid, 13, 1) or (value(pid, 13, 6) + value(pid, 13, 7))
    if raw == NULL:
        return NULL
    raw = re.sub(r"[\s()]", "", raw)
    return raw[3:] if raw.startswith("+86") else raw


def _address(pid) -> str:
    parts = [value(pid, 11, c) for c in (4, 3, 9, 1, 2)]  # province, city, county, street, other
    if NULL in parts:
        return NULL
    return "".join(p for p in parts if p)


def person(pid) -> Person:
    name, phone, address = _name(pid), _phone(pid), _address(pid)
    born = timestamp(value(pid, 7), "PID^1^7")
    cleared = frozenset(k for k, v in (("name", name), ("phone", phone), ("address", address)) if v == NULL)
    return Person(name="" if name == NULL else name, sex=SEX.get(value(pid, 8).upper(), ""),
                  birth_date=born.date() if born else None, phone="" if phone == NULL else phone,
                  address="" if address == NULL else address, cleared=cleared)
