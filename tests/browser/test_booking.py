"""The booking window in a real browser, on a phone-sized screen: the registrar finds the patient by resident
ID, picks a day (the free slots come through htmx), books a slot that another desk takes at that moment, is
shown the "slot taken" message with the nearest free slots, books one of those by phone and prints the slip."""

from datetime import date

import pytest

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.scheduling.actions import do_book, do_set_fee
from yilian.scheduling.models import Booking
from yilian.scheduling.tests.clinics import make_clinic, slots_on
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def wider_than_the_screen(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")


def test_book_on_a_phone_with_the_slot_taken(live_server, browser):
    net = f.make_network()
    internal = net.department(net.county)
    desk = f.make_membership(net.county, Role.REGISTRAR, username="booking.desk")
    doctor = f.make_membership(net.county, Role.DOCTOR, department=internal, username="booking.doctor")
    do_set_fee(f.actor(desk), "ordinary", "10")
    clinic = make_clinic(desk, internal, doctor_id=doctor.staff_id)
    patient = f.register_patient(desk, name="张小伟", born=date(1985, 5, 5))
    rival = f.register_patient(desk)
    wanted = slots_on(clinic, 3)[1]

    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "booking.desk")
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")

    # Find the patient by resident ID.
    page.goto(f"{live_server.url}/scheduling/book/")
    page.fill("input[name=code]", patient.resident_id)
    page.click("[data-testid=find-form] button[type=submit]")
    page.wait_for_selector("[data-testid=patient]")
    assert "张小伟" in page.inner_text("[data-testid=patient]")

    # Choose the day: the free slots come through htmx, the page is not reloaded.
    page.evaluate("window.notReloaded = true")
    page.fill("[data-testid=slot-search] input[name=date]", wanted.date.isoformat())
    page.click("[data-testid=slot-search] button[type=submit]")
    page.wait_for_selector(f"[data-testid=slot-{wanted.pk}]")
    assert page.evaluate("window.notReloaded === true")
    assert wider_than_the_screen(page) == []

    # Another desk takes the slot's one ordinary place while this registrar is choosing.
    page.click(f"[data-testid=slot-{wanted.pk}]")
    do_book(f.actor(desk), rival.pk, wanted.pk)
    page.check("input[name=channel][value=phone]")
    page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=alternatives]")
    assert "#" in page.inner_text("[data-testid=slot-error]")
    page.screenshot(path=str(OUTPUT / "booking-slot-taken-phone.png"), full_page=True)
    assert wider_than_the_screen(page) == []

    # Book the nearest alternative, by phone.
    page.click("[data-testid=alternatives] label >> nth=0")
    page.check("input[name=channel][value=phone]")
    page.click("[data-testid=book-submit]")
    page.wait_for_selector("[data-testid=ticket]")
    booking = Booking.objects.get(patient=patient)
    assert booking.channel == "phone" and booking.slot_id != wanted.pk
    assert page.inner_text("[data-testid=booking-number]").strip() == booking.number
    assert page.locator("[data-testid=book-submit]").bounding_box()["height"] >= 44  # a large touch target
    page.screenshot(path=str(OUTPUT / "booking-done-phone.png"), full_page=True)
    assert wider_than_the_screen(page) == []

    # The printed slip: the number, the name masked.
    page.click("[data-testid=print-slip]")
    page.wait_for_selector("[data-testid=slip]")
    assert booking.number in page.inner_text("[data-testid=slip]")
    assert f.leaked(page.content(), patient) == []
    page.screenshot(path=str(OUTPUT / "booking-slip-phone.png"), full_page=True)
    context.close()
    assert external == []
