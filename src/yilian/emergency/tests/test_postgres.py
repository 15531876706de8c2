"""Real parallel connections on PostgreSQL: tablets recording the same node at once, correcting the same
value at once, desks opening the same patient's channel at once (run with DATABASE_URL=postgres://…;
on any other database these tests fail, never skip)."""

import pytest

from yilian.access.models import AuditEvent
from yilian.emergency.actions import NewCase, NodeConflict, do_correct_node, do_open_case, do_record_node
from yilian.emergency.models import Case, NodeTime
from yilian.emergency.queries import current_nodes
from yilian.emergency.tests.conftest import ago
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SLOW = {"wait": 60, "join": 120}



@pytest.fixture
def tablets(net):
    return [f.make_membership(net.county, Role.NURSE, username=f"tablet{i}") for i in range(8)]


def test_eight_tablets_recording_the_door_keep_one_value(tablets, chest_case):
    times = [ago(30 + i) for i in range(len(tablets))]
    results = in_parallel(len(tablets),
                          lambda i: do_record_node(f.actor(tablets[i]), chest_case.pk, "door", times[i]).pk, **SLOW)
    won = [r for kind, r in results if kind == "ok"]
    lost = [r for kind, r in results if kind == "error"]
    assert len(won) == 1 and len(lost) == len(tablets) - 1
    assert all(isinstance(e, NodeConflict) for e in lost), {type(e).__name__ for e in lost}
    kept = NodeTime.objects.get(pk=won[0])
    assert all(e.kept.pk == kept.pk and e.kept.at == kept.at for e in lost)
    assert NodeTime.objects.filter(case=chest_case).count() == 1
    assert current_nodes(chest_case.pk)["door"].pk == kept.pk
    assert AuditEvent.objects.filter(object_type="green-channel-node", action="create").count() == 1


def test_eight_tablets_correcting_one_value_keep_one_correction(tablets, chest_case):
    first = do_record_node(f.actor(tablets[0]), chest_case.pk, "door", ago(30))
    times = [ago(31 + i) for i in range(len(tablets))]
    results = in_parallel(len(tablets), lambda i: do_correct_node(
        f.actor(tablets[i]), chest_case.pk, "door", times[i], "时钟错误", supersedes_id=first.pk).pk, **SLOW)
    won = [r for kind, r in results if kind == "ok"]
    lost = [r for kind, r in results if kind == "error"]
    assert len(won) == 1
    assert all(isinstance(e, NodeConflict) and e.kept.pk == won[0] for e in lost)
    assert NodeTime.objects.filter(case=chest_case).count() == 2
    assert current_nodes(chest_case.pk)["door"].pk == won[0]


def test_different_nodes_at_once_are_all_kept_in_order(tablets, chest_case):
    """Different nodes recorded at the same moment do not conflict; each is checked against the others
    (the case row is locked while one is checked and written)."""
    codes = ["symptom_onset", "first_medical_contact", "first_ecg", "door", "cath_lab_arrival", "puncture"]
    times = [ago(200), ago(120), ago(110), ago(100), ago(60), ago(50)]
    results = in_parallel(len(codes), lambda i: do_record_node(
        f.actor(tablets[i]), chest_case.pk, codes[i], times[i]).pk, **SLOW)
    assert [kind for kind, _ in results] == ["ok"] * len(codes)
    assert set(current_nodes(chest_case.pk)) == set(codes)


def test_a_wire_crossing_racing_an_earlier_door_is_refused_or_the_door_is(tablets, chest_case):
    """Wire crossing at t and the door at t + 5 min recorded at once: whichever comes second is refused by
    the order rule, never both kept."""
    results = in_parallel(2, lambda i: do_record_node(
        f.actor(tablets[i]), chest_case.pk, ("wire_crossing", "door")[i], (ago(20), ago(15))[i]).pk, **SLOW)
    assert sorted(kind for kind, _ in results) == ["error", "ok"]
    [error] = [e for kind, e in results if kind == "error"]
    assert isinstance(error, ActionError) and set(error.errors) == {"at"}
    assert len(current_nodes(chest_case.pk)) == 1


def test_two_desks_opening_one_patients_channel_keep_one(net, owner, patient):
    desks = [owner, f.make_membership(net.county, Role.DOCTOR, username="desk2")]
    results = in_parallel(2, lambda i: do_open_case(
        f.actor(desks[i]), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk)).pk, **SLOW)
    assert sorted(kind for kind, _ in results) == ["error", "ok"]
    [error] = [e for kind, e in results if kind == "error"]
    assert isinstance(error, ActionError) and set(error.errors) == {"patient_id"}
    assert Case.objects.filter(patient=patient, centre="stroke").count() == 1
