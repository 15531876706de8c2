"""On a phone: a registrar searches before creating, takes over a record, sees its QR code; the desk reviews a
pair side by side. Nothing is wider than the screen."""

from datetime import date

import pytest

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.patients import matching
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TOO_WIDE = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""


def log_in(page, live_server, membership):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", membership.staff.user.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")


def test_search_before_create_and_review_on_a_phone(live_server, page):
    net = f.make_network()
    desk = f.make_membership(net.county, Role.REGISTRAR, username="county.desk")
    village = f.make_membership(net.village, Role.REGISTRAR, username="village.desk")
    original = f.register_patient(village, born=date(1956, 3, 2))
    ours = f.second_record(desk, original, phone="13800000003")
    matching.do_index_patients([original.pk, ours.pk])
    pair = f.link_candidate(original, ours, weight=24)

    page.set_viewport_size(PHONE)
    log_in(page, live_server, desk)
    page.goto(f"{live_server.url}/patients/new/")
    page.fill("input[name=name]", ours.name)
    page.select_option("select[name=sex]", ours.sex)
    page.fill("input[name=birth_date]", ours.birth_date.isoformat())
    page.fill("input[name=address]", ours.address)
    page.click("[data-testid=search]")
    page.wait_for_selector("[data-testid=results]")
    assert page.locator("[data-testid=candidate]").count() == 1
    assert page.locator("[data-testid=elsewhere]").count() == 1
    assert original.name not in page.content()
    page.screenshot(path=str(OUTPUT / "register-search-phone.png"), full_page=True)
    assert page.evaluate(TOO_WIDE) == []

    page.click("[data-testid=claim]")
    page.wait_for_selector("[data-testid=qr] svg")
    assert page.evaluate(TOO_WIDE) == []
    page.screenshot(path=str(OUTPUT / "patient-qr-phone.png"), full_page=True)

    page.goto(f"{live_server.url}/patients/links/{pair.pk}/")
    page.wait_for_selector("[data-testid=same]")
    assert page.evaluate(TOO_WIDE) == []
    page.screenshot(path=str(OUTPUT / "link-review-phone.png"), full_page=True)
    page.click("[data-testid=different]")
    page.wait_for_url("**/patients/links/")
    pair.refresh_from_db()
    assert pair.status == "different"
