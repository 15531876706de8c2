"""A resident on a phone (360 × 740): logs in with the code the demo site shows, finds internal medicine,
books for a family member, sees the booking number, and cancels; nothing wider than the screen, the big
buttons are big, and no request leaves the machine."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.scheduling.actions import do_set_fee
from yilian.scheduling.models import Booking, BookingStatus, Channel
from yilian.scheduling.tests.clinics import make_clinic
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"
WIDER = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className).slice(0, 5)"""


def test_resident_books_and_cancels_on_a_phone(live_server, browser, settings):
    settings.YILIAN_SMS_SHOW_CODES = True
    net = f.make_network()
    desk = f.make_membership(net.county, Role.REGISTRAR, username="res.desk")
    doctor = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="res.doc")
    do_set_fee(f.actor(desk), "ordinary", "10")
    make_clinic(desk, net.department(net.county), doctor_id=doctor.staff_id, referral_reserved=0)
    f.register_patient(desk, name="王秀兰", phone=PHONE, born=date(1958, 4, 2))
    son = f.register_patient(desk, name="王小军", phone=PHONE, born=date(1988, 9, 9))

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)

    page.goto(f"{live_server.url}/m/")
    page.fill("input[name=phone]", PHONE)
    page.click("[data-testid=send-code]")
    code = page.inner_text("[data-testid=shown-code] .code-shown").strip()
    page.fill("input[name=code]", code)
    button = page.locator("[data-testid=verify]")
    assert button.bounding_box()["height"] >= 44
    button.click()
    page.wait_for_selector("[data-testid=find-doctor]")
    assert "王小军" in page.inner_text("main")

    page.click("[data-testid=find-doctor]")
    page.fill("input[name=q]", "内科")
    page.click("[data-testid=search]")
    page.wait_for_selector("[data-testid=clinic]")
    assert page.evaluate(WIDER) == []
    page.screenshot(path=str(OUTPUT / "residents-find-phone.png"), full_page=True)
    page.locator("[data-testid=day]").nth(2).click()
    page.get_by_label("王小军").check()
    page.locator("input[name=slot]").first.check()
    page.screenshot(path=str(OUTPUT / "residents-book-phone.png"), full_page=True)
    page.click("[data-testid=book]")
    page.wait_for_selector("[data-testid=booking-number]")
    booking = Booking.objects.get()
    assert (booking.patient_id, booking.channel) == (son.pk, Channel.SELF_SERVICE)
    assert booking.slot.date > timezone.localdate() + timedelta(days=1)
    assert page.inner_text("[data-testid=booking-number]").strip() == booking.number
    assert page.evaluate(WIDER) == []

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=cancel]")
    page.wait_for_selector(".message.success")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    page.screenshot(path=str(OUTPUT / "residents-booking-phone.png"), full_page=True)
    context.close()
    assert external == []
