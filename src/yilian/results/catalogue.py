"""The starter catalogue of lab items and panels (issue 6, part 1), shipped as data: `data/panels.csv` (the
common panels: blood routine, liver and kidney function, lipids, glucose and HbA1c, electrolytes,
coagulation, cardiac markers, urine routine) and `data/lab_items.csv` (one row per item and reference
interval: local code, Chinese name, LOINC, unit, the interval by sex (GB/T 2261.1: 1 male, 2 female, empty
both) and age band in years [from, to), low and high, critical limits (危急值), and the interval's source —
the national reference intervals WS/T 404 / WS/T 405 where one exists, otherwise the guideline or
"实验室自定" for reagent-dependent items, which each member's laboratory overrides).

LOINC codes are the moles/volume codes where Chinese laboratories report in SI units (mmol/L, µmol/L).
Imaging and exam items are the diagnostic centres' catalogue (`diagnostics.catalogue`). Read once per
process; the results app's models will load these rows.
"""

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
LOINC = re.compile(r"^\d{1,7}-\d$")


@dataclass(frozen=True)
class Panel:
    code: str
    name: str
    name_en: str
    specimen: str


@dataclass(frozen=True)
class Interval:
    """A reference interval of an item for a sex and an age band ([age_from, age_to) years; None: open)."""

    sex: str  # "1", "2" or "" for both
    age_from: int
    age_to: int | None
    low: Decimal | None
    high: Decimal | None
    critical_low: Decimal | None
    critical_high: Decimal | None
    source: str


@dataclass(frozen=True)
class Item:
    code: str
    panel: str
    name: str
    loinc: str
    unit: str
    intervals: tuple[Interval, ...]


def _dec(raw: str) -> Decimal | None:
    return Decimal(raw) if raw.strip() else None


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check digit, as the LOINC users' guide computes it: the digits in odd positions from
    the right, read right to left as one number, doubled; the digits in even positions prepended; the digits
    of that summed; the check digit brings the sum to the next multiple of 10 (12345 → 12345-5)."""
    if not LOINC.match(code):
        return False
    body, check = code.split("-")
    reversed_digits = body[::-1]
    odd = int(reversed_digits[0::2]) * 2
    even = reversed_digits[1::2]
    total = sum(int(c) for c in f"{even}{odd}")
    return (10 - total % 10) % 10 == int(check)


@cache
def panels() -> dict[str, Panel]:
    with (DATA / "panels.csv").open(encoding="utf-8") as f:
        return {r["code"]: Panel(r["code"], r["name"], r["name_en"], r["specimen"]) for r in csv.DictReader(f)}


@cache
def items() -> dict[str, Item]:
    rows: dict[str, list[dict]] = {}
    with (DATA / "lab_items.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["code"], []).append(r)
    out = {}
    for code, group in rows.items():
        first = group[0]
        out[code] = Item(code, first["panel"], first["name"], first["loinc"], first["unit"], tuple(
            Interval(r["sex"], int(r["age_from"] or 0), int(r["age_to"]) if r["age_to"] else None, _dec(r["low"]),
                     _dec(r["high"]), _dec(r["critical_low"]), _dec(r["critical_high"]), r["source"])
            for r in group))
    return out


def interval_for(item: Item, sex: str, age: int) -> Interval | None:
    """The interval for a patient: the sex's own before the one for both; None outside every age band."""
    fitting = [i for i in item.intervals if i.age_from <= age and (i.age_to is None or age < i.age_to)
               and i.sex in (sex, "")]
    fitting.sort(key=lambda i: i.sex == "")
    return fitting[0] if fitting else None
