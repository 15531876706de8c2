"""ORU^R01: one report per OBR group, as `results.actions.Incoming` (mapping table: docs/hl7.md).

- identifier: (`<sender code>:filler`, OBR-3.1), so that a later message about the same order is a new
  version of the same report;
- the report's item: OBR-4.1 (or OBR-4.4) when it is a panel or exam code of the catalogue, else the
  sender's own code; its status from OBR-25 (P → preliminary, F → final, C → amended, X → cancelled), or
  from the OBX-11 of its results when OBR-25 is empty;
- times: ordered OBR-6, specimen/exam OBR-7 (else the first OBX-14), reported OBR-22 (else MSH-7);
- each OBX: the item by LOINC when OBX-3 is coded LN (or its alternate coding is), else by the catalogue
  code, else the sender's code kept; value OBX-5, unit OBX-6, range OBX-7, flag OBX-8, time OBX-14. OBX of
  type TX/FT (an exam's findings and conclusion) make up the report's conclusion. An OBX without a value,
  or with OBX-11 X/D/W (not done, deleted, wrong), is not a result and is left out.
"""

import time
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.interop.hl7_parse import (
    DATA_TYPE,
    REQUIRED_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE,
    Header,
    Reject,
    repetitions,
    timestamp,
    value,
)
from yilian.results.actions import Incoming, IncomingObservation
from yilian.results.models import ORDERABLE, Channel, Item, ReportStatus

STATUS = {"P": ReportStatus.PRELIMINARY, "R": ReportStatus.PRELIMINARY, "I": ReportStatus.PRELIMINARY,
          "S": ReportStatus.PRELIMINARY, "A": ReportStatus.PRELIMINARY, "F": ReportStatus.FINAL,
          "C": ReportStatus.AMENDED, "X": ReportStatus.CANCELLED}
NOT_RESULTS = {"X", "D", "W"}  # OBX-11: not done, deleted, wrong (replaced by another OBX)
TEXT_TYPES = {"TX", "FT"}
CODED_TYPES = {"CE", "CWE", "CNE"}
CACHE_SECONDS = 60


@dataclass(frozen=True)
class Catalogue:
    items: dict[str, tuple[str, str, str]]  # code → (kind, name, LOINC)
    by_loinc: dict[str, str]  # LOINC → lab item code


_cache: tuple[float, Catalogue] | None = None


def catalogue() -> Catalogue:
    """The catalogue's codes, read again every minute (a site adds its own items)."""
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > CACHE_SECONDS:
        rows = list(Item.objects.filter(active=True).values_list("code", "kind", "name", "loinc"))
        _cache = (now, Catalogue({c: (k, n, loinc) for c, k, n, loinc in rows},
                                 {loinc: c for c, k, _n, loinc in rows if loinc and k == "lab"}))
    return _cache[1]


def groups(message) -> list[tuple[object, list]]:
    """(OBR, its OBX segments) in order; an OBX before any OBR is a structure error."""
    out: list[tuple[object, list]] = []
    for n, segment in enumerate(message, start=1):
        name = str(segment[0])
        if name == "OBR":
            out.append((segment, []))
        elif name == "OBX":
            if not out:
                raise Reject(_("An OBX segment comes before any OBR segment."), SEGMENT_SEQUENCE, f"OBX^{n}")
            out[-1][1].append(segment)
    if not out:
        raise Reject(_("The message has no OBR segment."), REQUIRED_MISSING, "OBR^1")
    return out


def _obx_value(obx, kind: str) -> str:
    values = []
    for rep in range(1, repetitions(obx, 5) + 1):
        if kind in CODED_TYPES:
            values.append(value(obx, 5, 2, rep) or value(obx, 5, 1, rep))
        elif kind == "SN":  # comparator, number, separator/suffix, number: <^0.01, ^1^:^40
            values.append("".join(value(obx, 5, c, rep) for c in (1, 2, 3, 4)))
        else:
            values.append(value(obx, 5, 1, rep))
    return "; ".join(v for v in values if v)


def _item(obx, cat: Catalogue) -> tuple[str, str, str]:
    """(code, name, LOINC) of an OBX-3."""
    for first in (1, 4):  # the identifier, then the alternate identifier
        ident, text, system = (value(obx, 3, first + i) for i in range(3))
        if not ident:
            continue
        if system.upper() == "LN" and ident in cat.by_loinc:
            code = cat.by_loinc[ident]
            return code, text or cat.items[code][1], ident
        if ident in cat.items and cat.items[ident][0] == "lab":
            _kind, name, loinc = cat.items[ident]
            return ident, text or name, loinc
    ident, text, system = value(obx, 3, 1), value(obx, 3, 2), value(obx, 3, 3)
    return ident, text or ident, ident if system.upper() == "LN" else ""


def _report_item(obr, n: int, cat: Catalogue) -> tuple[str, str, str]:
    """(code, name, kind): the kind when the code is the catalogue's (`store_report` looks it up otherwise)."""
    code, text = value(obr, 4, 1), value(obr, 4, 2)
    if not code:
        raise Reject(_("The report names no test or exam (OBR-4)."), REQUIRED_MISSING, f"OBR^{n}^4")
    for candidate in (code, value(obr, 4, 4)):
        if candidate in cat.items and cat.items[candidate][0] in ORDERABLE:
            return candidate, text or cat.items[candidate][1], cat.items[candidate][0]
    if len(code) > 20:
        raise Reject(_("The test or exam code (OBR-4) is longer than 20 characters."), DATA_TYPE, f"OBR^{n}^4")
    return code, text or code, ""


def _status(obr, n: int, results: list) -> str:
    sent = value(obr, 25).upper()
    if sent:
        if sent not in STATUS:
            raise Reject(_("Unknown result status (OBR-25): use P, F, C or X."), TABLE_VALUE, f"OBR^{n}^25")
        return STATUS[sent]
    codes = {value(obx, 11).upper() for obx in results} - {""}
    for code, status in (("C", ReportStatus.AMENDED), ("P", ReportStatus.PRELIMINARY),
                         ("R", ReportStatus.PRELIMINARY), ("F", ReportStatus.FINAL), ("X", ReportStatus.CANCELLED)):
        if code in codes:
            return status
    raise Reject(_("The report has no result status (OBR-25 or OBX-11)."), REQUIRED_MISSING, f"OBR^{n}^25")


def _report(obr, n: int, results: list, head: Header, sender, cat: Catalogue) -> Incoming:
    filler = value(obr, 3)
    if not filler:
        raise Reject(_("The report has no filler order number (OBR-3)."), REQUIRED_MISSING, f"OBR^{n}^3")
    if len(filler) > 64:
        raise Reject(_("The filler order number (OBR-3) is longer than 64 characters."), DATA_TYPE, f"OBR^{n}^3")
    code, name, item_kind = _report_item(obr, n, cat)
    observations, conclusion = [], []
    for obx in results:
        if value(obx, 11).upper() in NOT_RESULTS:
            continue
        kind = value(obx, 2).upper()
        at = timestamp(value(obx, 14), f"OBX^{value(obx, 1) or 1}^14")
        if kind in TEXT_TYPES:
            text = "\n".join(value(obx, 5, 1, r) for r in range(1, repetitions(obx, 5) + 1)).strip()
            label = value(obx, 3, 2)
            if text:
                conclusion.append(f"{label}：{text}" if label else text)
            continue
        shown = _obx_value(obx, kind)
        if not shown:
            continue
        item, item_name, loinc = _item(obx, cat)
        observations.append(IncomingObservation(
            code=item, name=item_name, value=shown, unit=value(obx, 6, 1) or value(obx, 6, 2),
            reference=value(obx, 7), flag=value(obx, 8), observed_at=at, loinc=loinc))
    collected = timestamp(value(obr, 7), f"OBR^{n}^7") or next(
        (o.observed_at for o in observations if o.observed_at), None)
    if collected is None:
        raise Reject(_("The report has no specimen or exam time (OBR-7)."), REQUIRED_MISSING, f"OBR^{n}^7")
    reported = timestamp(value(obr, 22), f"OBR^{n}^22") or head.sent_at or timezone.now()
    return Incoming(institution_id=sender.institution_id, channel=Channel.HL7,
                    identifier_system=f"{sender.code}:filler", identifier_value=filler, code=code, name=name,
                    status=_status(obr, n, results), collected_at=collected, reported_at=reported,
                    ordered_at=timestamp(value(obr, 6), f"OBR^{n}^6"), conclusion="\n".join(conclusion),
                    observations=observations, kind=item_kind)


def reports(message, head: Header, sender) -> list[Incoming]:
    cat = catalogue()
    return [_report(obr, n, results, head, sender, cat)
            for n, (obr, results) in enumerate(groups(message), start=1)]
