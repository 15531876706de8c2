"""Load the shipped catalogue into the database: panels, lab items, exams (`data/*.csv`), the default
recognition rules (`data/rules.csv`) and prices per institution by its grade (`data/prices.csv`: the
reference price at a grade III, II and I/ungraded institution; a site overrides a member's row).

Idempotent: run by a data migration and again by `yilian demo`; a row a site has changed is left alone
(items and rules are created when missing, never overwritten).
"""

import csv
from decimal import Decimal

from django.db import transaction

from yilian.results import catalogue
from yilian.results.models import Item, ItemKind, Price, Rule

GRADE_COLUMN = {"3A": "grade3", "3B": "grade3", "2A": "grade2", "2B": "grade2"}  # others: grade1


def _rows(name: str) -> list[dict]:
    with (catalogue.DATA / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def item_rows() -> list[Item]:
    out = [Item(code=p.code, kind=ItemKind.PANEL, name=p.name, name_en=p.name_en)
           for p in catalogue.panels().values()]
    out += [Item(code=i.code, kind=ItemKind.LAB, name=i.name, panel=i.panel, loinc=i.loinc, unit=i.unit)
            for i in catalogue.items().values()]
    out += [Item(code=r["code"], kind=ItemKind.EXAM, name=r["name"], name_en=r["name_en"], modality=r["modality"],
                 body_part=r["body_part"]) for r in _rows("exams.csv")]
    return out


def reference_prices() -> dict[str, dict[str, Decimal]]:
    return {r["code"]: {k: Decimal(r[k]) for k in ("grade3", "grade2", "grade1")} for r in _rows("prices.csv")}


def reference_price(code: str, grade: str) -> Decimal | None:
    prices = reference_prices().get(code)
    return prices[GRADE_COLUMN.get(grade, "grade1")] if prices else None


@transaction.atomic
def load(institutions=()) -> None:
    """Create the missing catalogue items and rules, and the missing prices of `institutions`."""
    Item.objects.bulk_create(item_rows(), ignore_conflicts=True)
    items = {i.code: i for i in Item.objects.all()}
    rules = []
    for r in _rows("rules.csv"):
        rules.append(Rule(item=items[r["code"]], recognisable=r["recognisable"] == "1",
                          validity_days=int(r["validity_days"]), min_grade=r["min_grade"],
                          requires_quality=r["requires_quality"] == "1",
                          exclusions=[e for e in r["exclusions"].split(";") if e], note=r["note"]))
    Rule.objects.bulk_create(rules, ignore_conflicts=True)
    prices = reference_prices()
    Price.objects.bulk_create([
        Price(institution=inst, item=items[code], amount=by_grade[GRADE_COLUMN.get(inst.grade, "grade1")])
        for inst in institutions for code, by_grade in prices.items()
    ], ignore_conflicts=True)
