"""The indicator registry: every figure Yilian reports is an Indicator computed from recorded events.

An indicator's `compute(scope)` returns its value over a period and a set of institutions; `series`
optionally splits it by month and institution for charts.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings


@dataclass(frozen=True)
class Scope:
    """A half-open period [start, end) of local dates and the institutions it covers (None = all)."""

    start: date
    end: date
    institution_ids: frozenset[int] | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))

    def months(self) -> list[date]:
        first, out = self.start.replace(day=1), []
        while first < self.end:
            out.append(first)
            first = (first + timedelta(days=32)).replace(day=1)
        return out


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str  # "count", "ratio" (0–1), "yuan", "minutes"
    formula: str
    source: str
    direction: str  # "up" (higher is better), "down", "none"
    compute: Callable[[Scope], Decimal | int | float | None]
    target: Decimal | None = None
    tags: tuple[str, ...] = field(default=())


REGISTRY: dict[str, Indicator] = {}


def register(indicator: Indicator) -> Indicator:
    if indicator.code in REGISTRY and REGISTRY[indicator.code] is not indicator:
        raise ValueError(f"indicator {indicator.code} registered twice")
    REGISTRY[indicator.code] = indicator
    return indicator


def get(code: str) -> Indicator:
    return REGISTRY[code]


def mean_minutes(seconds) -> Decimal | None:
    """The mean of durations given in seconds, in minutes to 2 places (half up), or None without any."""
    seconds = list(seconds)
    if not seconds:
        return None
    return (Decimal(sum(seconds)) / Decimal(60 * len(seconds))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ratio(numerator, denominator) -> Decimal | None:
    """numerator ÷ denominator to 4 places, or None when the denominator is zero."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))
