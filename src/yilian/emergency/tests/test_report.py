"""The monthly quality report and the per-case export, on the hand-computed January of
`test_indicators` (cases across midnight and the month end included)."""

import csv
import io

from django.urls import reverse

from yilian.access.models import AuditEvent
from yilian.analytics.registry import REGISTRY
from yilian.emergency import report
from yilian.emergency.indicators import report as indicator_report
from yilian.emergency.tests.test_indicators import FEBRUARY, JANUARY, month  # noqa: F401 - the fixture
from yilian.network.roles import Role
from yilian.testing import factories as f


def test_monthly_values_agree_with_the_indicators(month):  # noqa: F811
    months = report.monthly("chest_pain", JANUARY.start, FEBRUARY.end, None)
    assert [m.first for m in months] == [JANUARY.start, FEBRUARY.start]
    for code in report.codes_of("chest_pain"):
        for m, scope in zip(months, (JANUARY, FEBRUARY), strict=True):
            assert m.values[code] == REGISTRY[code].compute(scope), code
            assert m.excluded[code] == indicator_report(code, scope).excluded, code
    assert "stroke.dnt" not in report.codes_of("chest_pain")
    assert "ems.prearrival_notice_rate" in report.codes_of("stroke")
    chart = report.chart("chest_pain", months)
    d2b = next(s for s in chart["minutes"] if s["code"] == "chest_pain.d2b")
    assert chart["months"] == ["2026-01", "2026-02"] and d2b["target"] == 90.0
    assert d2b["data"][0] == float(REGISTRY["chest_pain.d2b"].compute(JANUARY))
    rate = next(s for s in chart["ratio"] if s["code"] == "chest_pain.d2b_90_rate")
    assert rate["data"][0] == round(float(REGISTRY["chest_pain.d2b_90_rate"].compute(JANUARY)) * 100, 2)


def test_export_has_the_platform_columns_local_times_and_no_identity(month, owner, patient):  # noqa: F811
    text, rows = report.export_csv("chest_pain", JANUARY)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = table[0], table[1:]
    for column in ("病例编号", "到达医院大门", "首次医疗接触", "导丝通过", "绕行急诊", "院前预警时间"):
        assert column in header
    assert len(body) == len(rows) == 7  # A, B, C, D, E, F, H (G is February)
    wire = header.index("导丝通过")
    assert "2026-02-01 00:09" in [r[wire] for r in body]  # case B: door 31 Jan 23:50 counts in January
    assert "2026-01-10 09:05" in [r[wire] for r in body]
    assert patient.name not in text and patient.resident_id not in text


def test_pages(client_as, month, net):  # noqa: F811
    manager = client_as(f.make_membership(net.county, Role.MANAGER))
    page = manager.get(reverse("emergency:report"), {"centre": "chest_pain", "start": "2026-01", "end": "2026-02"})
    assert page.status_code == 200 and len(page.context["months"]) == 2
    d2b = next(r for r in page.context["rows"] if r["code"] == "chest_pain.d2b")
    january = indicator_report("chest_pain.d2b", JANUARY)
    assert d2b["cells"][0][1:3] == (january.included, sum(january.excluded.values()))
    assert 'id="data-report"' in page.content.decode()
    bad = manager.get(reverse("emergency:report"), {"start": "2026-13", "end": "2025-01", "centre": "x"})
    assert bad.status_code == 400 and set(bad.context["errors"]) == {"start", "centre", "end"}
    mark = AuditEvent.objects.count()
    exported = manager.get(reverse("emergency:export"), {"centre": "chest_pain", "start": "2026-01", "end": "2026-01"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").strip().splitlines()
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert len(rows) == len(lines) - 1 > 0 and {r.action for r in rows} == {"export"}
    assert manager.get(reverse("emergency:export"), {"start": "nope"}).status_code == 400
    registrar = client_as(f.make_membership(net.county, Role.REGISTRAR, username="gc_registrar"))
    assert registrar.get(reverse("emergency:report")).status_code == 403
