"""The order pages: the form (items grouped as panels and exams, circumstances), the recognition panel
(candidates with their values and marks, accept, override with a coded reason, cancel; htmx swaps the panel
in place), the patient's orders, and 404 for a doctor who may not see the patient."""

import pytest
from django.urls import reverse

from yilian.network.roles import Role
from yilian.results.models import Order, OrderStatus
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f
from yilian.testing.checks import contains


@pytest.fixture
def world(db):
    return make_world()


def test_order_then_accept_on_the_panel(client_as, world):
    earlier = report(world.patient, world.net.township, "ELEC", days_ago=1)
    client = client_as(world.county_doctor)
    url = reverse("results:order_new", args=[world.patient.pk])
    page = client.get(url)
    assert page.status_code == 200 and contains(page, world.patient.name)
    assert contains(page, "<optgroup") and contains(page, 'value="CT-HEAD"') and contains(page, 'value="ELEC"')
    assert not contains(page, 'value="K"')  # lab items are ordered through their panel
    assert contains(page, 'name="circumstances" value="emergency"')
    assert contains(page, 'name="viewport"')
    bad = client.post(url, {"item": "NOPE"})
    assert bad.status_code == 400 and "item" in bad.context["form"].errors and not Order.objects.exists()

    sent = client.post(url, {"item": "ELEC"})
    order = Order.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("results:order", args=[order.pk])
    panel = client.get(sent["Location"])
    assert panel.status_code == 200 and contains(panel, 'data-testid="candidate"')
    assert contains(panel, world.net.township.short_name) and contains(panel, "6.8") and contains(panel, "↑↑")
    assert contains(panel, 'data-testid="accept"') and contains(panel, 'data-testid="override"')
    step = reverse("results:order_step", args=[order.pk, "accept"])
    done = client.post(step, {"report_id": earlier.pk}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and not contains(done, "<html") and contains(done, 'id="order-panel"')
    assert not contains(done, 'data-testid="accept"') and contains(done, 'data-testid="saving"')
    order.refresh_from_db()
    assert order.status == OrderStatus.RECOGNISED
    again = client.post(step, {"report_id": earlier.pk}, follow=True)
    assert [str(m) for m in again.context["messages"]]  # told it was decided meanwhile


def test_override_errors_then_override_and_the_excluded_circumstance(client_as, world):
    report(world.patient, world.net.township, days_ago=1)
    client = client_as(world.county_doctor, language="en")
    client.post(reverse("results:order_new", args=[world.patient.pk]), {"item": "CBC", "circumstances": ["emergency"]})
    excluded = Order.objects.get()
    page = client.get(reverse("results:order", args=[excluded.pk]))
    assert contains(page, 'data-testid="why-none"') and contains(page, "Emergency")
    assert not contains(page, 'data-testid="candidate"') and not contains(page, 'data-testid="override"')

    client.post(reverse("results:order_new", args=[world.patient.pk]), {"item": "CBC"})
    order = Order.objects.latest("pk")
    step = reverse("results:order_step", args=[order.pk, "override"])
    bad = client.post(step, {"reason": "other", "note": ""})
    assert bad.status_code == 400 and contains(bad, 'id="note-errors"')
    assert client.post(step, {"reason": "patient_request"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.override_reason) == (OrderStatus.OVERRIDDEN, "patient_request")
    assert client.post(reverse("results:order_step", args=[excluded.pk, "cancel"])).status_code == 302
    assert client.post(reverse("results:order_step", args=[excluded.pk, "fly"])).status_code == 404

    listing = client.get(reverse("results:patient_orders", args=[world.patient.pk]))
    assert listing.status_code == 200 and contains(listing, 'data-testid="new-order"')
    assert contains(listing, "New test (not recognised)") and contains(listing, "Cancelled")


def test_outsiders_get_404(client_as, world):
    report(world.patient, world.net.township, days_ago=1)
    client_as(world.county_doctor).post(reverse("results:order_new", args=[world.patient.pk]), {"item": "CBC"})
    order = Order.objects.get()
    outsider = client_as(f.make_membership(world.net.village, Role.DOCTOR))
    for resp in (outsider.get(reverse("results:order_new", args=[world.patient.pk])),
                 outsider.post(reverse("results:order_new", args=[world.patient.pk]), {"item": "CBC"}),
                 outsider.get(reverse("results:order", args=[order.pk])),
                 outsider.get(reverse("results:patient_orders", args=[world.patient.pk])),
                 outsider.post(reverse("results:order_step", args=[order.pk, "cancel"]))):
        assert resp.status_code == 404 and f.leaked(resp.content, world.patient) == []
    assert Order.objects.count() == 1 and Order.objects.get().status == OrderStatus.OPEN
    nurse = client_as(f.make_membership(world.net.county, Role.NURSE))
    assert nurse.get(reverse("results:order_new", args=[world.patient.pk])).status_code == 403
    page = nurse.get(reverse("results:order", args=[order.pk]))
    assert page.status_code == 200 and not contains(page, 'data-testid="accept"')
