"""The staff's result pages: the patient's timeline across institutions (newest first, by day, status badges,
abnormal and critical marks, filters, pages), one report with the values its corrections replaced, and who
may open them — the care relationship and a grant see, an outsider and a missing id get the same 404 with
nothing of the patient in it, and every page view is exactly one audit row."""

import re

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent, Basis, Outcome
from yilian.network.roles import Role
from yilian.results.models import Report
from yilian.results.tests.timeline_data import at, exam, lab, potassium
from yilian.testing import factories as f
from yilian.testing.checks import contains, is_english


@pytest.fixture
def history(net, patient):
    """A township check-up, a critical potassium at the county two days later, a preliminary one corrected
    (amended), a cancelled panel and a head CT."""
    return {
        "first": potassium(patient, net.township, at(1), "4.0"),
        "critical": potassium(patient, net.county, at(3), "6.8"),
        "amended": [potassium(patient, net.county, at(5), "5.9", status="preliminary", identifier="K-5"),
                    potassium(patient, net.county, at(5), "5.5", status="amended", identifier="K-5")][-1],
        "cancelled": lab(patient, net.county, at(5, 9), [("GLU", "葡萄糖", "30", "mmol/L")], code="GLYC",
                         name="血糖", status="cancelled"),
        "ct": exam(patient, net.county, at(6, 15), "左侧基底节区腔隙性脑梗死。"),
    }


def audit_rows(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=mark).order_by("pk"))


def last_audit() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def cards(resp) -> list[str]:
    """The report names on the timeline, in page order."""
    return re.findall(r'href="/results/report/\d+/"><strong>([^<]+)</strong>', resp.content.decode())


def test_the_timeline_lists_every_members_reports_newest_first_by_day(client_as, owner, patient, net, history):
    mark = last_audit()
    resp = client_as(owner).get(reverse("results:timeline", args=[patient.pk]))
    assert resp.status_code == 200 and contains(resp, patient.name)
    assert cards(resp) == ["头颅CT平扫", "血糖", "电解质", "电解质", "电解质"]
    days = [day for day, _reports in resp.context["days"]]
    assert [d.isoformat() for d in days] == ["2026-11-06", "2026-11-05", "2026-11-03", "2026-11-01"]
    assert contains(resp, net.township.name) and contains(resp, net.county.name)
    html = resp.content.decode()
    for status in ("final", "amended", "cancelled"):
        assert f'class="badge status-{status}"' in html
    assert "status-preliminary" not in html  # the preliminary version became the amended one
    assert contains(resp, "左侧基底节区腔隙性脑梗死。")
    critical = next(r for _d, rows in resp.context["days"] for r in rows if r.pk == history["critical"].pk)
    assert critical.summary["critical"] and [o.value for o in critical.summary["abnormal"]] == ["6.8"]
    assert html.count('class="result-card has-critical') == 1 and 'data-testid="critical"' in html
    rows = audit_rows(mark)
    assert [(r.patient_id, r.object_type, r.outcome, r.basis, r.membership_id) for r in rows] == [
        (patient.pk, "result_timeline", Outcome.SUCCESS, Basis.CARE, owner.pk)]


def test_filter_by_kind_and_item(client_as, owner, patient, net, history):
    client = client_as(owner)
    url = reverse("results:timeline", args=[patient.pk])
    assert cards(client.get(url, {"kind": "exam"})) == ["头颅CT平扫"]
    assert cards(client.get(url, {"kind": "lab"})) == ["血糖", "电解质", "电解质", "电解质"]
    by_item = client.get(url, {"item": "K"})
    assert cards(by_item) == ["电解质", "电解质", "电解质"]
    assert by_item.context["query"] == "item=K" and contains(by_item, 'data-testid="focus"')  # the normal 4.0
    assert cards(client.get(url, {"kind": "exam", "item": "K"})) == []
    bad = client.get(url, {"item": "NOPE", "kind": "x"})
    assert bad.status_code == 400 and set(bad.context["form"].errors) == {"item", "kind"}
    assert len(cards(bad)) == 5  # unfiltered, with the errors shown


def test_the_timeline_is_paginated(client_as, owner, patient, net):
    for day in range(1, 26):
        potassium(patient, net.township, at(day, month=10), "4.2")
    client = client_as(owner)
    url = reverse("results:timeline", args=[patient.pk])
    first = client.get(url)
    assert len(cards(first)) == 20 and contains(first, 'data-testid="older"')
    second = client.get(url, {"page": 2})
    assert len(cards(second)) == 5 and not contains(second, 'data-testid="older"')
    assert client.get(url, {"page": "x"}).status_code == 200


def test_the_report_shows_current_values_and_the_corrected_ones_as_history(client_as, owner, patient, history):
    mark = last_audit()
    report = history["amended"]
    resp = client_as(owner).get(reverse("results:report", args=[report.pk]))
    assert resp.status_code == 200
    detail = resp.context["detail"]
    assert [(o.code, o.value, o.flag) for o in detail.current] == [("K", "5.5", "H"), ("NA", "140", "N")]
    assert [(o.code, o.value) for o in detail.earlier] == [("K", "5.9"), ("NA", "140")]
    assert contains(resp, 'data-testid="earlier-values"') and contains(resp, "<s>5.9</s>")
    assert contains(resp, 'data-testid="version">2<') and contains(resp, "3.5-5.3")
    assert detail.trend_codes == {"K", "NA"}  # both have values in other reports: linked to their trends
    assert contains(resp, reverse("results:trend", args=[patient.pk, "K"]))
    rows = audit_rows(mark)
    assert [(r.patient_id, r.object_type, r.object_id, r.outcome) for r in rows] == [
        (patient.pk, "result_report", str(report.pk), Outcome.SUCCESS)]


def test_an_exam_shows_its_conclusion_and_a_cancelled_report_says_so(client_as, owner, patient, history):
    client = client_as(owner, language="en")
    ct = client.get(reverse("results:report", args=[history["ct"].pk]))
    assert contains(ct, 'data-testid="conclusion"') and contains(ct, "左侧基底节区腔隙性脑梗死。")
    assert not contains(ct, 'data-testid="values"')
    cancelled = client.get(reverse("results:report", args=[history["cancelled"].pk]))
    assert contains(cancelled, "The sender cancelled this report")
    assert contains(cancelled, 'class="badge status-cancelled"')


# --- who may open the pages ---

PAGES = {
    "timeline": ("result_timeline", lambda patient, report: reverse("results:timeline", args=[patient])),
    "trend": ("result_trend", lambda patient, report: reverse("results:trend", args=[patient, "K"])),
    "report": ("result_report", lambda patient, report: reverse("results:report", args=[report])),
}
CSRF = re.compile(r'(value="|"X-CSRFToken": ")[A-Za-z0-9]{32,}')


@pytest.fixture
def glass(outsider, patient):
    """The outsider broke the glass for the patient."""
    f.break_glass(outsider, patient)
    return outsider


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("who", ["owner", "colleague", "glass"])
def test_the_care_relationship_a_grant_and_break_glass_see(request, client_as, patient, history, page, who):
    membership = request.getfixturevalue(who)
    object_type, url = PAGES[page]
    mark = last_audit()
    resp = client_as(membership).get(url(patient.pk, history["critical"].pk))
    assert resp.status_code == 200 and contains(resp, patient.name)
    (row,) = audit_rows(mark)
    expected = {"owner": (Basis.CARE, None), "glass": (Basis.BREAK_GLASS, None)}
    if who == "colleague":
        expected[who] = (Basis.GRANT, membership.grant.pk)
    assert (row.basis, row.grant_id) == expected[who]
    assert (row.patient_id, row.object_type, row.outcome, row.membership_id, row.user_id) == (
        patient.pk, object_type, Outcome.SUCCESS, membership.pk, membership.staff.user_id)


@pytest.mark.parametrize("page", PAGES)
def test_an_outsider_and_a_missing_id_get_the_same_404(client_as, outsider, revoked_colleague, expired_colleague,
                                                       patient, history, page):
    object_type, url = PAGES[page]
    missing = Report.objects.order_by("-pk").first().pk + 1000
    bodies = []
    for membership, target in ((outsider, url(patient.pk, history["critical"].pk)),
                               (revoked_colleague, url(patient.pk, history["critical"].pk)),
                               (expired_colleague, url(patient.pk, history["critical"].pk)),
                               (outsider, url(patient.pk + 1000, missing))):
        mark = last_audit()
        resp = client_as(membership).get(target)
        assert resp.status_code == 404 and f.leaked(resp.content, patient) == []
        assert not contains(resp, "电解质") and not contains(resp, "6.8")
        (row,) = audit_rows(mark)
        assert (row.object_type, row.outcome, row.membership_id) == (object_type, Outcome.DENIED, membership.pk)
        bodies.append(CSRF.sub(r"\1", resp.content.decode().replace(target, "")))
    assert bodies[0] == bodies[3]  # the outsider: the same page whether the id exists or not


def test_a_grant_for_result_reports_opens_a_report_not_the_timeline(client_as, net, patient, history):
    lab_doctor = f.make_membership(net.village, Role.DOCTOR)
    f.grant(patient, to_staff=lab_doctor.staff, scope="result_report")
    client = client_as(lab_doctor)
    assert client.get(reverse("results:report", args=[history["critical"].pk])).status_code == 200
    assert client.get(reverse("results:timeline", args=[patient.pk])).status_code == 404


def test_roles_without_the_clinical_capability_are_refused(client_as, manager, patient, history):
    client = client_as(manager)
    assert client.get(reverse("results:timeline", args=[patient.pk])).status_code == 403
    assert client.get(reverse("results:report", args=[history["ct"].pk])).status_code == 403


def test_english_and_chinese(client_as, owner, patient, history):
    en = client_as(owner, language="en").get(reverse("results:timeline", args=[patient.pk]))
    html = en.content.decode()
    assert 'lang="en"' in html and "Reports by day" in html and "Trends" in html
    assert is_english(re.search(r"<h2>([^<]+)</h2>", html).group(1))
    zh = client_as(owner).get(reverse("results:timeline", args=[patient.pk]))
    assert 'lang="zh-hans"' in zh.content.decode()
    assert contains(zh, "危急值") and contains(zh, "查看") and contains(zh, "类别")  # already translated words
    report = client_as(owner).get(reverse("results:report", args=[history["amended"].pk]))
    assert contains(report, "版本") and contains(report, "电解质")


def test_the_patient_page_links_to_the_timeline(client_as, owner, patient):
    resp = client_as(owner).get(reverse("patients:detail", args=[patient.pk]))
    assert contains(resp, 'data-testid="results-timeline"')
    assert contains(resp, reverse("results:timeline", args=[patient.pk]))


def test_the_pages_read_a_fixed_number_of_queries(client_as, owner, patient, net):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(owner)
    url = reverse("results:timeline", args=[patient.pk])
    potassium(patient, net.township, at(1), "4.0")
    potassium(patient, net.township, at(2), "4.1")
    client.get(url)  # the session's first write out of the way
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for day in range(3, 23):
        potassium(patient, net.county if day % 2 else net.township, at(day), "5.8")
        exam(patient, net.county, at(day, 12), "未见异常。")
    with CaptureQueriesContext(connection) as many:
        assert len(cards(client.get(url))) == 20
    assert len(many) == len(few) and len(many) < 30


def test_a_merged_records_results_are_on_the_survivors_timeline(client_as, owner, registrar, patient, net):
    from yilian.patients.merging import do_merge

    second = f.second_record(registrar, patient)
    moved = potassium(second, net.township, at(2), "4.4")
    do_merge(f.actor(registrar), patient.pk, second.pk, "same person", confirm=True)
    client = client_as(owner)
    resp = client.get(reverse("results:timeline", args=[second.pk]))
    assert resp.status_code == 302 and resp["Location"] == reverse("results:timeline", args=[patient.pk])
    trend = client.get(reverse("results:trend", args=[second.pk, "K"]))
    assert trend["Location"] == reverse("results:trend", args=[patient.pk, "K"])
    assert [r.pk for r in client.get(resp["Location"]).context["page"]] == [moved.pk]
