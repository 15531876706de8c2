"""Queue and calling in a real browser: the desk checks a patient in, the doctor calls them on a phone, and
the waiting-room display (opened before the call) shows the masked name once it polls."""

from datetime import date

import pytest

from tests.browser.conftest import OUTPUT
from yilian.network.roles import Role
from yilian.scheduling.actions import do_set_fee
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(browser, live_server, membership, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", membership.staff.user.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")
    return context, page, external


def test_check_in_call_and_display(live_server, browser):
    net = f.make_network()
    internal = net.department(net.county)
    desk = f.make_membership(net.county, Role.REGISTRAR, username="queue.desk")
    doctor = f.make_membership(net.county, Role.DOCTOR, department=internal, username="queue.doctor")
    do_set_fee(f.actor(desk), "ordinary", "10")
    patient = f.register_patient(desk, name="张小伟", born=date(1985, 5, 5))

    # The waiting room's screen is opened first, by any member of the institution.
    screen_ctx, screen, screen_external = log_in(browser, live_server, desk, {"width": 1920, "height": 1080})
    screen.goto(f"{live_server.url}/scheduling/queue/display/{internal.pk}/")
    screen.wait_for_selector("[data-testid=called]")

    # The desk checks the patient in by resident ID as a walk-in to internal medicine.
    desk_ctx, page, desk_external = log_in(browser, live_server, desk, {"width": 1024, "height": 768})
    page.goto(f"{live_server.url}/scheduling/queue/desk/")
    page.fill("input[name=code]", patient.resident_id)
    page.select_option("select[name=department]", str(internal.pk))
    page.click("[data-testid=desk-form] button[type=submit]")
    page.wait_for_selector("[data-testid=ticket-number]")
    assert page.inner_text("[data-testid=ticket-number]").strip() == "1"
    page.screenshot(path=str(OUTPUT / "queue-desk.png"), full_page=True)
    # A bad code answers in place (400 swapped by htmx) with the field's message.
    page.fill("input[name=code]", "not-a-token!")
    page.click("[data-testid=desk-form] button[type=submit]")
    page.wait_for_selector("#code-errors")

    # The doctor calls on a phone-sized screen.
    doc_ctx, phone, doc_external = log_in(browser, live_server, doctor, {"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/scheduling/queue/doctor/")
    assert "张*伟" in phone.inner_text("[data-testid=waiting]")
    button = phone.locator("[data-testid=call-next]")
    assert button.bounding_box()["height"] >= 44  # a large touch target
    button.click()
    phone.wait_for_selector("[data-testid=current-1]")
    phone.screenshot(path=str(OUTPUT / "queue-doctor-phone.png"), full_page=True)
    widest = phone.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
    assert widest == [], f"wider than a phone screen: {widest}"

    # The screen picks the call up by itself within its 5-second poll.
    screen.wait_for_function("document.querySelector('[data-testid=called]').innerText.includes('张*伟')",
                             timeout=12000)
    size = screen.evaluate("parseFloat(getComputedStyle(document.querySelector('.board-name')).fontSize)")
    assert size >= 48, size
    html = screen.content()
    assert f.leaked(html, patient) == []
    screen.screenshot(path=str(OUTPUT / "queue-display.png"), full_page=True)

    for ctx in (screen_ctx, desk_ctx, doc_ctx):
        ctx.close()
    assert screen_external == desk_external == doc_external == []
