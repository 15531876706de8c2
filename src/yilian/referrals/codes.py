"""The ICD-10 codes a referral may carry: a subset of the national clinical edition (国家临床版 2.0) shipped
as data (`data/icd10.csv`), the diagnoses county referrals carry most. Read once per process."""

import csv
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "icd10.csv"


@cache
def diagnoses() -> dict[str, str]:
    with DATA.open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def name_of(code: str) -> str | None:
    return diagnoses().get((code or "").strip().upper())


def search(text: str, limit: int = 20) -> list[tuple[str, str]]:
    """Codes whose code starts with, or whose name contains, `text`."""
    text = (text or "").strip()
    if not text:
        return []
    upper = text.upper()
    return [(c, n) for c, n in diagnoses().items() if c.startswith(upper) or text in n][:limit]
