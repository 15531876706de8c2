"""The consortium's shared-care pages on a phone (390 × 844): a township doctor opens the referral form, the
consultation request form and the diagnostic submission form for a patient of the township, and the
in-boxes; every page renders, fits the screen and loads nothing from outside the machine."""

import pytest

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDER = """() => [...document.querySelectorAll('main *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""


def test_shared_care_pages_fit_a_phone(live_server, browser):
    net = f.make_network()
    desk = f.make_membership(net.township, Role.REGISTRAR, username="net.desk")
    f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township), username="net.doc")
    patient = f.register_patient(desk)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "net.doc")
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")
    pages = {"referral-form": f"/referrals/new/{patient.pk}/", "referrals": "/referrals/",
             "consult-form": f"/consults/new/{patient.pk}/", "consults": "/consults/",
             "diagnostics-form": f"/diagnostics/new/{patient.pk}/", "diagnostics": "/diagnostics/",
             "patient": f"/patients/{patient.pk}/"}
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, (name, response.status)
        assert page.evaluate(WIDER) == [], name
        page.screenshot(path=str(OUTPUT / f"{name}-phone.png"), full_page=True)
    context.close()
    assert external == []
