"""A green channel on a ward tablet (1024 × 768, touch): the doctor opens a stroke channel from the board,
taps the arrival and the CT start, a second tap of a node already recorded shows the conflict; the buttons
are glove-sized and the clock is large; the board lists the case."""

import pytest

from tests.browser.conftest import OUTPUT
from yilian.emergency.models import Case, NodeTime
from yilian.network.roles import Role
from yilian.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tablet_records_nodes_with_one_tap(live_server, browser):
    net = f.make_network()
    f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="gc.doc")
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(
        ("http://localhost", "http://127.0.0.1", "data:")) else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "gc.doc")
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=acting]")

    page.goto(f"{live_server.url}/emergency/")
    page.select_option("[data-testid=open-form] select[name=centre]", "stroke")
    page.click("[data-testid=open-form] button[type=submit]")
    page.wait_for_selector("[data-testid=next-nodes]")
    case = Case.objects.get()
    buttons = page.locator("[data-testid=next-nodes] button")
    assert buttons.count() >= 3
    box = buttons.first.bounding_box()
    assert box["height"] >= 60 and box["width"] >= 120  # a gloved finger
    clock = page.evaluate("parseFloat(getComputedStyle(document.querySelector('[data-testid=clock]')).fontSize)")
    assert clock >= 48

    page.click("[data-testid=tap-door]")
    page.wait_for_selector("[data-testid=done-door]")
    page.click("[data-testid=tap-ct_start]")
    page.wait_for_selector("[data-testid=done-ct_start]")
    assert set(NodeTime.objects.filter(case=case).values_list("node", flat=True)) == {"door", "ct_start"}
    page.screenshot(path=str(OUTPUT / "emergency-tablet.png"), full_page=True)

    page.goto(f"{live_server.url}/emergency/")
    page.wait_for_selector(f"[data-testid=board-row-{case.pk}]")
    page.screenshot(path=str(OUTPUT / "emergency-board.png"), full_page=True)

    page.click("[data-testid=report-link]")
    page.wait_for_selector("body[data-charts-drawn=true]")
    assert page.locator("#chart-minutes canvas").count() >= 1 and page.locator("#chart-ratio canvas").count() >= 1
    page.screenshot(path=str(OUTPUT / "emergency-report.png"), full_page=True)
    context.close()
    assert external == []
