"""Real parallel connections on PostgreSQL: doctors deciding one order at once leave one decision (run with
DATABASE_URL=postgres://… and `-m postgres`; on any other database these tests fail, never skip)."""

import pytest
from django.utils import translation

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.results import orders
from yilian.results.models import Order, OrderStatus
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_doctors_deciding_one_order_at_once_leave_one_decision():
    """Eight doctors at the county press accept or override at the same moment: one decision, one saving,
    one audit row of a decision; the seven others are told the order was decided meanwhile."""
    world = make_world()
    earlier = report(world.patient, world.net.township, days_ago=2)
    doctors = [f.actor(world.county_doctor), f.actor(world.county_doctor2)]
    n = 8
    for _round in range(3):
        placed = orders.do_order(doctors[0], orders.NewOrder(world.patient.pk, "CBC"))

        def decide(i, order_id=placed.order.pk):
            with translation.override("en"):
                if i % 2:
                    return orders.do_override(doctors[i % 2], order_id, "clinical_need").status
                return orders.do_accept(doctors[i % 2], order_id, earlier.pk).status

        results = in_parallel(n, decide)
        won = [r for kind, r in results if kind == "ok"]
        lost = [e for kind, e in results if kind == "error"]
        assert len(won) == 1 and len(lost) == n - 1, results
        assert all(isinstance(e, ActionError) and set(e.errors) == {"status"} for e in lost), lost
        order = Order.objects.get(pk=placed.order.pk)
        assert order.status == won[0] and order.status in (OrderStatus.RECOGNISED, OrderStatus.OVERRIDDEN)
        assert (order.saving is not None) == (order.status == OrderStatus.RECOGNISED)
        assert AuditEvent.objects.filter(object_type="result_order", object_id=str(order.pk), action="update").count() == 1
