"""Results on a phone (390 × 844, touch): a doctor opens a patient's result timeline with HbA1c values from
two members and sees the trend drawn (the canvas is not blank) on a page that fits the screen; a county
doctor orders a blood count for a patient referred from the township centre, whose township result two
days old is recognisable, taps "use this result" and sees the order recognised with the saving. Nothing is
requested from outside the machine."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.results.models import Order, OrderStatus
from yilian.results.tests.ordering import quality_pass, report
from yilian.results.tests.timeline_data import lab
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# Elements of the page's main part wider than the screen (a table may scroll sideways inside its wrapper).
WIDER = """() => [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""

# The first canvas of an element has drawn something: some pixel is not transparent.
DRAWN = """(selector) => {
    const c = document.querySelector(selector + ' canvas');
    if (!c) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }
    return false;
}"""


def _phone(browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)
    return context, page, external


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")


def _fits(page) -> None:
    assert page.evaluate(WIDER) == [], "wider than a phone screen"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_timeline_trend_of_hba1c_from_two_members_on_a_phone(live_server, browser):
    net = f.make_network()
    desk = f.make_membership(net.county, Role.REGISTRAR, username="res.desk")
    f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="res.doc")
    patient = f.register_patient(desk)  # the county cares for the patient
    now = timezone.now()
    for days_ago, institution, hba1c, glucose in ((170, net.township, "8.1", "9.4"), (110, net.county, "7.4", "8.0"),
                                                  (60, net.township, "6.9", "7.1"), (7, net.county, "6.4", "6.6")):
        lab(patient, institution, now - timedelta(days=days_ago),
            [("HBA1C", "糖化血红蛋白", hba1c, "%"), ("GLU", "空腹血糖", glucose, "mmol/L")],
            code="GLYC", name="血糖与糖化血红蛋白")

    context, page, external = _phone(browser)
    _log_in(page, live_server, "res.doc")
    response = page.goto(f"{live_server.url}/results/patient/{patient.pk}/?item=HBA1C")
    assert response.status == 200
    page.wait_for_selector("body[data-charts-drawn=true]")
    charts = page.locator("[data-testid=trends] [data-trend-chart]")
    assert charts.count() == 2  # HbA1c (the filtered item, first) and glucose
    assert page.evaluate(DRAWN, "[data-trend-chart='0']"), "the HbA1c chart is blank"
    assert "糖化血红蛋白" in page.inner_text("[data-testid=trends] .trend-card >> nth=0")
    box = charts.first.bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] > 100
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-timeline-phone.png"), full_page=True)

    # The item's own trend page: the chart and every value with its source member.
    page.click("[data-testid=trends] .trend-card >> nth=0 >> header a")
    page.wait_for_selector("body[data-charts-drawn=true]")
    assert page.evaluate(DRAWN, "[data-testid=trend-chart]"), "the trend page's chart is blank"
    table = page.inner_text("[data-testid=trend-values]")
    assert net.county.name in table and net.township.name in table and "8.1" in table and "6.4" in table
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-trend-phone.png"), full_page=True)
    context.close()
    assert external == []


def test_county_doctor_accepts_a_township_result_on_a_phone(live_server, browser):
    net = f.make_network()
    township_desk = f.make_membership(net.township, Role.REGISTRAR, username="town.desk")
    f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="rec.doc")
    patient = f.register_patient(township_desk)  # a township patient …
    f.grant(patient, to_institution=net.county)  # … referred to the county hospital
    quality_pass(net.township)  # the township laboratory passed its external quality assessment
    earlier = report(patient, net.township, "CBC", days_ago=2)

    context, page, external = _phone(browser)
    _log_in(page, live_server, "rec.doc")
    response = page.goto(f"{live_server.url}/results/patient/{patient.pk}/orders/new/")
    assert response.status == 200
    page.select_option("[data-testid=order-form] select[name=item]", "CBC")
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-order-form-phone.png"), full_page=True)
    page.locator("[data-testid=order-submit]").tap()
    page.wait_for_selector("[data-testid=order-panel]")

    order = Order.objects.get()
    assert (order.institution_id, order.status, order.offered) == (net.county.pk, OrderStatus.OPEN, 1)
    candidate = page.locator("[data-testid=candidate]")
    assert candidate.count() == 1
    card = candidate.first.inner_text()
    assert net.township.short_name in card and "12.5" in card and "↑" in card  # WBC 12.5, high
    accept = candidate.first.locator("[data-testid=accept]")
    box = accept.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 200  # a thumb-sized button
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-recognition-phone.png"), full_page=True)

    accept.tap()
    page.wait_for_selector("[data-testid=saving]")  # htmx swaps the panel in place
    order.refresh_from_db()
    assert order.status == OrderStatus.RECOGNISED and order.answered_by_id == earlier.pk
    assert order.saving is not None and order.saving > 0
    assert page.inner_text("[data-testid=saving]").strip() == f"¥{order.saving}"
    assert "互认" in page.inner_text("[data-testid=order-status]")  # answered by an earlier result (互认)
    assert page.locator("[data-testid=accept]").count() == 0
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-recognised-phone.png"), full_page=True)

    # The patient's orders list the order as recognised, with the saving.
    page.goto(f"{live_server.url}/results/patient/{patient.pk}/orders/")
    row = page.inner_text("[data-testid=orders] tbody tr >> nth=0")
    assert f"¥{order.saving}" in row and net.township.short_name in row
    page.screenshot(path=str(OUTPUT / "results-orders-phone.png"), full_page=True)
    context.close()
    assert external == []


def test_manager_records_a_quality_pass_on_a_phone(live_server, browser):
    """The management centre's page (not one of the two required journeys, but it must work on a phone too):
    a wrong period is named beside its field, then the pass is recorded and listed; the rules page fits."""
    net = f.make_network()
    f.make_membership(net.county, Role.MANAGER, username="qc.manager")
    context, page, external = _phone(browser)
    _log_in(page, live_server, "qc.manager")
    page.goto(f"{live_server.url}/results/quality/")
    page.locator("[data-testid=record] summary").tap()
    page.select_option("select[name=institution]", str(net.township.pk))
    page.select_option("select[name=item]", "CBC")
    today = timezone.localdate()
    page.fill("input[name=valid_from]", (today - timedelta(days=30)).isoformat())
    page.fill("input[name=valid_to]", (today - timedelta(days=31)).isoformat())
    page.fill("input[name=issuer]", "县临床检验中心")
    _fits(page)
    page.locator("[data-testid=pass-submit]").tap()
    page.wait_for_selector("[data-field-errors=valid_to]")
    assert page.get_attribute("input[name=valid_to]", "aria-invalid") == "true"
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-quality-error-phone.png"), full_page=True)
    page.fill("input[name=valid_to]", (today + timedelta(days=335)).isoformat())
    page.locator("[data-testid=pass-submit]").tap()
    page.wait_for_selector("[data-testid=current-passes] tbody tr[data-testid^=pass-]")
    assert net.township.short_name in page.inner_text("[data-testid=current-passes]")
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-quality-phone.png"), full_page=True)
    page.click("[data-testid=rules-link]")
    page.wait_for_selector("[data-testid=rules]")
    _fits(page)
    page.screenshot(path=str(OUTPUT / "results-rules-phone.png"), full_page=True)
    context.close()
    assert external == []
