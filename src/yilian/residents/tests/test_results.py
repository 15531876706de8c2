"""The patient's own results on the residents' pages: the family's final and amended reports (not
preliminary or cancelled ones, not another family's), abnormal and critical marks, nothing only staff see;
another family's report, a preliminary one and a missing id answer the same 404; every page audited with
the basis `self`."""

import re

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent, Basis, Outcome
from yilian.residents.tests.conftest import PHONE
from yilian.residents.tests.test_pages import log_in
from yilian.results.tests.timeline_data import at, exam, potassium
from yilian.testing import factories as f
from yilian.testing.checks import contains

CSRF = re.compile(r'(value="|"X-CSRFToken": ")[A-Za-z0-9]{32,}')


@pytest.fixture
def results(net, family, stranger):
    mother, son = family
    return {
        "mother": potassium(mother, net.township, at(1), "6.8"),  # critical
        "amended": [potassium(mother, net.county, at(3), "3.0", identifier="K-3"),
                    potassium(mother, net.county, at(3), "3.2", identifier="K-3", status="amended")][-1],
        "preliminary": potassium(mother, net.county, at(5), "5.9", status="preliminary"),
        "cancelled": potassium(son, net.county, at(6), "4.4", status="cancelled"),
        "son": exam(son, net.county, at(7), "胸部未见明显异常。", code="DR-CHEST", name="胸部正位片"),
        "stranger": potassium(stranger, net.county, at(8), "4.1"),
    }


def rows_since(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=mark).order_by("pk"))


def last() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def listed(resp) -> list[str]:
    return re.findall(r'href="/m/results/(\d+)/"', resp.content.decode())


def test_the_results_pages_ask_for_a_log_in(client, results):
    for url in (reverse("residents:results"), reverse("residents:result", args=[results["mother"].pk])):
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith(reverse("residents:login"))


def test_the_family_sees_its_confirmed_results_only(client, family, stranger, results):
    mother, son = family
    log_in(client)
    home = client.get(reverse("residents:home"))
    assert contains(home, 'data-testid="my-results"') and contains(home, reverse("residents:results"))
    mark = last()
    resp = client.get(reverse("residents:results"))
    assert resp.status_code == 200
    assert listed(resp) == [str(results[k].pk) for k in ("son", "amended", "mother")]
    assert contains(resp, 'data-testid="results-note"') and contains(resp, "胸部正位片")
    assert not contains(resp, stranger.name) and f.leaked(resp.content, stranger) == []
    assert contains(resp, 'class="critical"')  # the mother's 6.8
    rows = rows_since(mark)
    assert sorted(r.patient_id for r in rows) == sorted([mother.pk, son.pk])
    assert {(r.object_type, r.basis, r.outcome, r.username, r.membership_id) for r in rows} == {
        ("resident_results", Basis.SELF, Outcome.SUCCESS, "resident", None)}
    assert all(PHONE not in r.source for r in rows)
    only_son = client.get(reverse("residents:results"), {"patient": son.pk})
    assert listed(only_son) == [str(results["son"].pk)]
    foreign = client.get(reverse("residents:results"), {"patient": stranger.pk})  # not theirs: everyone's
    assert listed(foreign) == listed(resp) and f.leaked(foreign.content, stranger) == []


def test_a_report_page_shows_the_values_and_marks_and_nothing_for_staff_only(client, family, results):
    mother, _son = family
    log_in(client)
    report = results["amended"]
    mark = last()
    resp = client.get(reverse("residents:result", args=[report.pk]))
    assert resp.status_code == 200
    assert contains(resp, ">3.2 <small>") and not contains(resp, ">3.0 <small>")  # corrected, not the one replaced
    assert contains(resp, 'data-testid="amended-note"') and contains(resp, "3.5-5.3")
    assert contains(resp, 'class="flag low"') and contains(resp, net_name(report))
    for internal in (report.identifier_value, report.identifier_system, "/results/report/", "/results/patient/"):
        assert not contains(resp, internal)
    (row,) = rows_since(mark)
    assert (row.patient_id, row.object_type, row.object_id, row.basis, row.outcome) == (
        mother.pk, "result_report", str(report.pk), Basis.SELF, Outcome.SUCCESS)
    critical = client.get(reverse("residents:result", args=[results["mother"].pk]))
    assert contains(critical, 'data-testid="critical"')
    chest = client.get(reverse("residents:result", args=[results["son"].pk]))
    assert contains(chest, 'data-testid="conclusion"') and contains(chest, "胸部未见明显异常。")


def net_name(report) -> str:
    return report.institution.name


def test_another_familys_preliminary_cancelled_and_missing_reports_are_the_same_404(client, family, stranger,
                                                                                    results):
    log_in(client)
    missing = results["stranger"].pk + 1000
    bodies = []
    for report_id in (results["stranger"].pk, results["preliminary"].pk, results["cancelled"].pk, missing):
        mark = last()
        url = reverse("residents:result", args=[report_id])
        resp = client.get(url)
        assert resp.status_code == 404 and f.leaked(resp.content, stranger) == []
        (row,) = rows_since(mark)
        assert (row.patient_id, row.object_type, row.object_id, row.outcome, row.basis) == (
            None, "result_report", str(report_id), Outcome.DENIED, Basis.NONE)
        bodies.append(CSRF.sub(r"\1", resp.content.decode().replace(url, "")))
    assert len(set(bodies)) == 1


def test_english_and_chinese(client, family, results, settings):
    log_in(client)
    zh = client.get(reverse("residents:result", args=[results["mother"].pk]))
    assert 'lang="zh-hans"' in zh.content.decode() and contains(zh, "危急值") and contains(zh, "钾")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = client.get(reverse("residents:results"))
    assert 'lang="en"' in en.content.decode() and contains(en, "My results")
    assert contains(en, "Only confirmed reports are shown")
    page = client.get(reverse("residents:result", args=[results["mother"].pk]))
    assert contains(page, "Reference interval") and contains(page, "Critical value")
