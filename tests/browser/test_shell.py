"""A township doctor logs in, switches membership, and sees the dashboard with its chart drawn."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from tests.browser.conftest import OUTPUT
from yilian.care.actions import Charge, Visit, do_record_visits
from yilian.network.acting import actor_for_membership
from yilian.network.models import Consortium, Department, Institution, Membership, Staff
from yilian.patients.actions import NewPatient, do_register_patient
from yilian.patients.residentid import make

PASSWORD = "Yilian-demo-2026"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _consortium():
    c = Consortium.objects.create(name="杏林县医共体", short_name="杏林", division_code="130499")
    county = Institution.objects.create(consortium=c, code="H01", name="杏林县人民医院", short_name="县医院",
                                        kind="general_2", grade="2A", division_code="130499")
    town = Institution.objects.create(consortium=c, code="T01", name="杏林县城关镇卫生院", short_name="城关镇卫生院",
                                      kind="township", division_code="130499", parent=county)
    village = Institution.objects.create(consortium=c, code="V01", name="城关镇东关村卫生室", short_name="东关村卫生室",
                                         kind="village", division_code="130499", parent=town)
    depts = {i: Department.objects.create(institution=i, subject_code="02", name="全科医疗科")
             for i in (county, town, village)}
    user = User.objects.create_user("township.doctor")
    user.set_password(PASSWORD)
    user.save()
    staff = Staff.objects.create(user=user, name="赵医生", title="attending")
    mine = Membership.objects.create(staff=staff, institution=town, department=depts[town], role="doctor")
    Membership.objects.create(staff=staff, institution=village, department=depts[village], role="doctor")
    seq = 100
    for inst, n in ((county, 5), (town, 8), (village, 3)):
        reg_user = User.objects.create_user(f"reg.{inst.code}")
        reg = Membership.objects.create(staff=Staff.objects.create(user=reg_user, name="登记员", title="administrator"),
                                        institution=inst, role="registrar")
        actor = actor_for_membership(reg)
        visits = []
        for k in range(n):
            seq += 1
            patient = do_register_patient(actor, NewPatient(
                name="测试患者", resident_id=make("130499", date(1950 + k, 1 + k % 12, 1 + k), seq)))
            for months_ago in range(3):
                visits.append(Visit(patient_id=patient.pk, department_id=depts[inst].pk,
                                    start=timezone.now() - timedelta(days=30 * months_ago + 1),
                                    charges=[Charge("registration", "10"), Charge("western_drug", "35.5")]))
        do_record_visits(actor, visits)
    return mine


def test_township_doctor_logs_in_switches_and_sees_dashboard(live_server, page):
    mine = _consortium()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "township.doctor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    # Two memberships: the chooser comes first.
    page.wait_for_url("**/acting/")
    page.click(f"[data-testid=membership-{mine.pk}]")
    page.wait_for_selector("[data-testid=acting]")
    assert "城关镇卫生院" in page.inner_text("[data-testid=acting]")

    # Switch to the village clinic from the header, then back.
    other = Membership.objects.exclude(pk=mine.pk).get(staff=mine.staff)
    with page.expect_navigation():
        page.select_option("[data-testid=acting-select]", str(other.pk))
    assert "东关村卫生室" in page.inner_text("[data-testid=acting]")
    with page.expect_navigation():
        page.select_option("[data-testid=acting-select]", str(mine.pk))
    assert "城关镇卫生院" in page.inner_text("[data-testid=acting]")

    page.click("nav.main-nav a[href=\"/indicators/\"]")
    page.wait_for_selector("body[data-charts-drawn=true]")
    assert page.locator("#chart-visits canvas").count() >= 1
    assert page.locator("#chart-trend canvas").count() >= 1
    assert page.locator("#chart-outpatient canvas").count() >= 1
    # The chart has drawn something: the canvas is not blank.
    blank = page.evaluate("""() => {
        const c = document.querySelector('#chart-visits canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return false; }
        return true;
    }""")
    assert not blank
    page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)

    # A phone-sized screen gets the same page without horizontal scrolling of the whole body.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("body[data-charts-drawn=true]")
    page.screenshot(path=str(OUTPUT / "dashboard-phone.png"), full_page=True)
    widest = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
    assert widest == [], f"wider than a phone screen: {widest}"
