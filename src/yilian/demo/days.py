"""How busy a day and an hour are: fewer visits on Sundays, a winter rise, the Spring Festival lull."""

import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
# Monday … Sunday: Monday is the busiest outpatient day, Sunday the quietest.
WEEKDAY = (1.25, 1.10, 1.05, 1.00, 1.00, 0.80, 0.55)
SEASON_AMPLITUDE = 0.18  # ±18 %, peaking in mid-January (respiratory season), lowest in mid-July
SPRING_FESTIVAL = (date(2024, 2, 10), date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26),
                   date(2029, 2, 13), date(2030, 2, 3), date(2031, 1, 23), date(2032, 2, 11))
# Outpatient sessions: (start, end, weight); village clinics also see people in the evening.
SESSIONS = ((time(8, 0), time(11, 30), 0.62), (time(14, 0), time(17, 30), 0.33), (time(17, 30), time(20, 0), 0.05))
VILLAGE_SESSIONS = ((time(7, 30), time(11, 30), 0.55), (time(14, 0), time(18, 0), 0.33),
                    (time(18, 0), time(21, 0), 0.12))
EMERGENCY_HOURS = (3, 2, 2, 1.5, 1.5, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 7, 6, 5, 4, 3.5)


def day_weight(d: date) -> float:
    weight = WEEKDAY[d.weekday()]
    weight *= 1 + SEASON_AMPLITUDE * math.cos(2 * math.pi * (d.timetuple().tm_yday - 15) / 365.25)
    for festival in SPRING_FESTIVAL:
        delta = (d - festival).days
        if -1 <= delta <= 6:  # 除夕 to 初六: clinics nearly empty
            weight *= 0.35
        elif -8 <= delta < -1:
            weight *= 0.85
        elif 7 <= delta <= 15:  # what was put off comes back
            weight *= 1.15
    if d.month == 10 and d.day <= 7:  # National Day holiday
        weight *= 0.75
    return weight


def period_days(start: date, end: date) -> tuple[list[date], list[float]]:
    """Days in [start, end) and their cumulative weights, for `random.choices`."""
    days, cum, total = [], [], 0.0
    d = start
    while d < end:
        total += day_weight(d)
        days.append(d)
        cum.append(total)
        d += timedelta(days=1)
    return days, cum


def _within(rng: random.Random, day: date, start: time, end: time) -> datetime:
    a = datetime.combine(day, start, tzinfo=TZ)
    b = datetime.combine(day, end, tzinfo=TZ)
    return a + timedelta(seconds=rng.randrange(int((b - a).total_seconds())))


def outpatient_time(rng: random.Random, day: date, village: bool) -> datetime:
    sessions = VILLAGE_SESSIONS if village else SESSIONS
    start, end, _w = rng.choices(sessions, weights=[s[2] for s in sessions])[0]
    return _within(rng, day, start, end)


def emergency_time(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(range(24), weights=EMERGENCY_HOURS)[0]
    return datetime.combine(day, time(hour), tzinfo=TZ) + timedelta(seconds=rng.randrange(3600))
