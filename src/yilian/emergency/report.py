"""The monthly quality report of a centre (胸痛中心 / 卒中中心 月度质控报告) and the per-case export whose
columns follow the national data platforms' time nodes.

The report computes each of the centre's indicators month by month (`indicators.reports`, the cases loaded
once per month), with the cases counted and excluded by reason, for the run charts. The export writes one
row per case of the period: the case number, de-identified facts (sex, age band), arrival mode, onset in
hospital, transfer, then every time node of the centre under its Chinese platform name (local time,
`YYYY-MM-DD HH:MM`, the current value — a correction replaces the original), then the bypass and the
pre-arrival notice. No name, resident ID or phone is exported.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from yilian.analytics.registry import REGISTRY, Scope
from yilian.emergency.indicators import MEASURES, META, facts, reports
from yilian.emergency.models import CentreType
from yilian.emergency.nodes import nodes_of
from yilian.patients.models import Patient, age_on

REPORTED = (CentreType.CHEST_PAIN, CentreType.STROKE)
SEX = {"1": "男", "2": "女"}  # GB/T 2261.1 codes, as the patient index and the provisional sex store them


@dataclass
class Month:
    first: date
    values: dict[str, object]  # code → value
    included: dict[str, int]
    excluded: dict[str, dict[str, int]]


def codes_of(centre: str) -> list[str]:
    """The centre's indicators (and the pre-arrival notice rate, which every centre reports)."""
    return [code for code, m in MEASURES.items() if m.centre in (centre, None)]


def monthly(centre: str, start: date, end: date, institution_ids: frozenset[int] | None) -> list[Month]:
    out = []
    for first in Scope(start=start, end=end).months():
        last = min((first + timedelta(days=32)).replace(day=1), end)
        scope = Scope(start=max(first, start), end=last, institution_ids=institution_ids)
        done = reports(scope, codes_of(centre))
        out.append(Month(first, {c: r.value for c, r in done.items()}, {c: r.included for c, r in done.items()},
                         {c: r.excluded for c, r in done.items()}))
    return out


def chart(centre: str, months: list[Month]) -> dict:
    """ECharts data: minutes and shares apart (two charts), each with its target line where one exists."""
    series = {"minutes": [], "ratio": []}
    for code in codes_of(centre):
        indicator = REGISTRY[code]
        scale = 100 if indicator.unit == "ratio" else 1
        data = [None if m.values[code] is None else round(float(m.values[code]) * scale, 2) for m in months]
        target = META[code][6] if len(META[code]) > 6 else None
        series["ratio" if indicator.unit == "ratio" else "minutes"].append({
            "code": code, "name": indicator.name_zh, "name_en": indicator.name_en, "data": data,
            "target": None if target is None else float(target) * (100 if indicator.unit == "ratio" else 1)})
    return {"months": [m.first.strftime("%Y-%m") for m in months], **series}


def _local(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


def _age_band(age) -> str:
    if age is None:
        return ""
    low = (int(age) // 10) * 10
    return f"{low}-{low + 9}"


def export_csv(centre: str, scope: Scope) -> tuple[str, list]:
    """The CSV text (UTF-8 with BOM, for spreadsheet programs) and the cases it holds."""
    nodes = nodes_of(centre)
    rows = facts(scope, centre)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["病例编号", "中心", "性别", "年龄段", "来院方式", "院内发病", "转院来源机构编号",
                     *[n.zh for n in nodes], "绕行急诊", "院前预警时间", "结案时间", "转归"])
    people = Patient.objects.in_bulk([f.case.patient_id for f in rows if f.case.patient_id])
    for f in rows:
        case = f.case
        person = people.get(case.patient_id)
        sex = SEX.get((person.sex if person else case.provisional_sex) or "", "")
        age = case.provisional_age
        if person is not None and person.birth_date:
            age = age_on(person.birth_date, timezone.localdate(case.opened_at))
        bypass = "、".join(sorted({to for to, _at in f.bypasses}))
        writer.writerow([case.pk, case.get_centre_display(), sex, _age_band(age), case.get_arrival_mode_display(),
                         "是" if case.in_hospital_onset else "否", case.transferred_from_id or "",
                         *[_local(f.nodes.get(n.code)) for n in nodes], bypass,
                         _local(min(f.notices)) if f.notices else "", _local(case.closed_at),
                         case.get_disposition_display() if case.disposition else ""])
    return out.getvalue(), rows
