"""Green-channel cases and time nodes through the actions: opening, the order rule, corrections with a
reason and their history, conflicts, identification, bypass, closing, and the access gate."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone, translation

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, CareRelation
from yilian.emergency import actions
from yilian.emergency.actions import (
    NewCase,
    NodeConflict,
    do_close_case,
    do_correct_node,
    do_direct_bypass,
    do_identify_patient,
    do_open_case,
    do_record_node,
)
from yilian.emergency.models import Case, CaseEvent, NodeTime
from yilian.emergency.queries import current_nodes, timeline
from yilian.emergency.tests.conftest import ago
from yilian.errors import ActionError
from yilian.testing import factories as f


def audit_rows(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("pk"))


# --- opening ----------------------------------------------------------------------------------------------


def test_open_case_with_a_patient_the_hospital_cares_for(owner, patient):
    before = AuditEvent.objects.count()
    case = do_open_case(f.actor(owner), NewCase(centre="chest_pain", arrival_mode="self", patient_id=patient.pk))
    assert (case.institution_id, case.opened_by_institution_id, case.patient_id) == (
        owner.institution_id, owner.institution_id, patient.pk)
    assert CaseEvent.objects.get(case=case).kind == "opened"
    assert CareRelation.objects.filter(source_type="green_channel", source_id=case.pk).count() == 1
    [row] = AuditEvent.objects.all().order_by("pk")[before:]
    assert (row.object_type, row.action, row.patient_id, row.membership_id, row.outcome) == (
        "green-channel", "create", patient.pk, owner.pk, "success")


def test_open_case_for_a_patient_one_may_not_see_is_a_404(outsider, patient):
    with pytest.raises(Http404):
        do_open_case(f.actor(outsider), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk))
    assert not Case.objects.exists()
    [row] = audit_rows(membership_id=outsider.pk)
    assert (row.outcome, row.patient_id) == ("denied", patient.pk)


def test_bad_case_details_are_named_at_once(owner, net):
    with pytest.raises(ActionError) as exc:
        do_open_case(f.actor(owner), NewCase(centre="burns", arrival_mode="walk", provisional_age=200,
                                             provisional_sex="x"))
    assert set(exc.value.errors) == {"centre", "arrival_mode", "provisional_age", "provisional_sex"}
    with pytest.raises(ActionError) as exc:
        do_open_case(f.actor(owner), NewCase(centre="trauma", arrival_mode="transfer",
                                             transferred_from_id=owner.institution_id))
    assert set(exc.value.errors) == {"transferred_from_id"}
    case = do_open_case(f.actor(owner), NewCase(centre="trauma", arrival_mode="transfer",
                                                transferred_from_id=net.township.pk))
    assert case.transferred_from_id == net.township.pk
    assert not Case.objects.exclude(pk=case.pk).exists()


def test_a_role_without_clinical_access_may_not_open(manager):
    with pytest.raises(ActionError) as exc:
        do_open_case(f.actor(manager), NewCase(centre="stroke", arrival_mode="self"))
    assert set(exc.value.errors) == {"role"}


def test_one_open_channel_per_patient_and_centre(owner, patient, chest_case):
    with pytest.raises(ActionError) as exc:
        do_open_case(f.actor(owner), NewCase(centre="chest_pain", arrival_mode="self", patient_id=patient.pk))
    assert set(exc.value.errors) == {"patient_id"}
    do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk))


# --- recording and the order rule -------------------------------------------------------------------------


def test_record_a_node_with_who_and_when(owner, patient, chest_case):
    at = ago(30)
    row = do_record_node(f.actor(owner), chest_case.pk, "door", at)
    assert (row.node, row.at, row.user_id, row.membership_id, row.institution_id) == (
        "door", at, owner.staff.user_id, owner.pk, owner.institution_id)
    assert row.recorded_at >= at and row.supersedes_id is None
    last = AuditEvent.objects.order_by("-pk").first()
    assert (last.object_type, last.object_id, last.action, last.basis) == (
        "green-channel-node", str(row.pk), "create", "care")


def test_a_node_before_the_node_it_follows_is_refused_naming_both(owner, chest_case):
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(60))
    with translation.override("en"), pytest.raises(ActionError) as exc:
        do_record_node(f.actor(owner), chest_case.pk, "wire_crossing", ago(70))
    message = exc.value.errors["at"]
    assert "Wire crossing" in message and "Hospital door" in message and "earlier" in message
    with translation.override("zh-hans"), pytest.raises(ActionError) as exc:
        do_record_node(f.actor(owner), chest_case.pk, "wire_crossing", ago(70))
    assert "导丝通过" in exc.value.errors["at"] and "到达医院大门" in exc.value.errors["at"]
    assert set(current_nodes(chest_case.pk)) == {"door"}


def test_a_node_after_one_that_must_follow_it_is_refused_too(owner, chest_case):
    do_record_node(f.actor(owner), chest_case.pk, "wire_crossing", ago(10))
    with translation.override("en"), pytest.raises(ActionError) as exc:
        do_record_node(f.actor(owner), chest_case.pk, "door", ago(5))
    assert "Hospital door" in exc.value.errors["at"] and "Wire crossing" in exc.value.errors["at"]
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(80))


def test_equal_times_are_in_order(owner, chest_case):
    at = ago(20)
    do_record_node(f.actor(owner), chest_case.pk, "door", at)
    do_record_node(f.actor(owner), chest_case.pk, "cath_lab_arrival", at)


def test_bad_node_and_time(owner, chest_case):
    for code, at, field in (("ct_start", ago(1), "node"), ("door", timezone.now() + timedelta(hours=1), "at"),
                            ("door", ago(1).replace(tzinfo=None), "at"), (None, ago(1), "node")):
        with pytest.raises(ActionError) as exc:
            do_record_node(f.actor(owner), chest_case.pk, code, at)
        assert set(exc.value.errors) == {field}
    assert not NodeTime.objects.exists()


def test_recording_a_node_twice_is_a_conflict_showing_the_kept_value(owner, nurse, chest_case):
    first = do_record_node(f.actor(owner), chest_case.pk, "door", ago(40))
    with translation.override("en"), pytest.raises(NodeConflict) as exc:
        do_record_node(f.actor(nurse), chest_case.pk, "door", ago(39))
    assert exc.value.kept.pk == first.pk
    assert actions.local(first.at) in exc.value.errors["node"]
    assert NodeTime.objects.filter(case=chest_case).count() == 1


def test_a_race_past_the_check_ends_in_the_same_conflict(owner, chest_case, monkeypatch):
    """The database's unique constraint is the last guard: if another writer inserted between the check and
    the insert, the loser still gets the conflict with the kept value."""
    kept = do_record_node(f.actor(owner), chest_case.pk, "door", ago(40))
    real = actions.current_nodes
    calls = []

    def blind(case_id):
        calls.append(case_id)
        return {} if len(calls) == 1 else real(case_id)

    monkeypatch.setattr(actions, "current_nodes", blind)
    with pytest.raises(NodeConflict) as exc:
        do_record_node(f.actor(owner), chest_case.pk, "door", ago(35))
    assert exc.value.kept.pk == kept.pk
    assert NodeTime.objects.filter(case=chest_case).count() == 1


# --- corrections ----------------------------------------------------------------------------------------


def test_a_correction_supersedes_and_keeps_the_original(owner, nurse, chest_case):
    first = do_record_node(f.actor(owner), chest_case.pk, "door", ago(40))
    fixed = do_correct_node(f.actor(nurse), chest_case.pk, "door", ago(45), "分诊台时钟慢了5分钟",
                            supersedes_id=first.pk)
    assert fixed.supersedes_id == first.pk and fixed.reason == "分诊台时钟慢了5分钟"
    assert current_nodes(chest_case.pk)["door"].pk == fixed.pk
    [door] = [item for item in timeline(chest_case) if item["node"].code == "door"]
    assert [r.pk for r in door["history"]] == [first.pk, fixed.pk] and door["current"].pk == fixed.pk
    assert NodeTime.objects.filter(pk=first.pk, at=first.at).exists()  # untouched
    last = AuditEvent.objects.order_by("-pk").first()
    assert (last.action, last.reason) == ("update", "correction of door")


def test_a_correction_with_a_reason_may_break_the_order(owner, chest_case):
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(60))
    row = do_correct_node(f.actor(owner), chest_case.pk, "wire_crossing", ago(70), "导管室系统时间未同步")
    assert row.supersedes_id is None and current_nodes(chest_case.pk)["wire_crossing"].at == row.at


def test_a_correction_needs_a_reason_and_names_what_it_corrects(owner, nurse, chest_case):
    first = do_record_node(f.actor(owner), chest_case.pk, "door", ago(40))
    with pytest.raises(ActionError) as exc:
        do_correct_node(f.actor(owner), chest_case.pk, "door", ago(41), "  ", supersedes_id=first.pk)
    assert set(exc.value.errors) == {"reason"}
    with pytest.raises(ActionError) as exc:
        do_correct_node(f.actor(owner), chest_case.pk, "door", ago(41), "时钟错误")
    assert set(exc.value.errors) == {"supersedes_id"}
    with pytest.raises(ActionError) as exc:
        do_correct_node(f.actor(owner), chest_case.pk, "door", first.at, "时钟错误", supersedes_id=first.pk)
    assert set(exc.value.errors) == {"at"}
    with pytest.raises(ActionError) as exc:
        do_correct_node(f.actor(owner), chest_case.pk, "puncture", ago(5), "补录", supersedes_id=first.pk)
    assert set(exc.value.errors) == {"supersedes_id"}


def test_correcting_a_value_someone_else_corrected_is_a_conflict(owner, nurse, chest_case):
    first = do_record_node(f.actor(owner), chest_case.pk, "door", ago(40))
    theirs = do_correct_node(f.actor(nurse), chest_case.pk, "door", ago(45), "时钟错误", supersedes_id=first.pk)
    with pytest.raises(NodeConflict) as exc:
        do_correct_node(f.actor(owner), chest_case.pk, "door", ago(42), "时钟错误", supersedes_id=first.pk)
    assert exc.value.kept.pk == theirs.pk
    assert NodeTime.objects.filter(case=chest_case).count() == 2


# --- access -----------------------------------------------------------------------------------------------


def test_an_outsider_gets_404_and_writes_nothing(outsider, chest_case):
    for call in (lambda: do_record_node(f.actor(outsider), chest_case.pk, "door", ago(1)),
                 lambda: do_correct_node(f.actor(outsider), chest_case.pk, "door", ago(1), "时钟错误"),
                 lambda: do_record_node(f.actor(outsider), 999999, "door", ago(1))):
        with pytest.raises(Http404):
            call()
    assert not NodeTime.objects.exists()
    rows = audit_rows(membership_id=outsider.pk)
    assert [r.outcome for r in rows] == ["denied"] * 3
    assert rows[0].patient_id == chest_case.patient_id and rows[2].patient_id is None


def test_a_colleague_with_a_grant_may_record(colleague, chest_case):
    row = do_record_node(f.actor(colleague), chest_case.pk, "first_medical_contact", ago(90))
    assert AuditEvent.objects.order_by("-pk").first().basis == "grant"
    assert row.institution_id == colleague.institution_id


def test_an_unidentified_case_is_seen_by_the_institutions_on_it_only(owner, crew, sender, outsider, net):
    case = do_open_case(f.actor(crew), NewCase(centre="trauma", arrival_mode="ems", provisional_sex="1",
                                               provisional_age=40))
    assert case.patient_id is None
    do_record_node(f.actor(owner), case.pk, "door", ago(5))  # same (receiving) institution
    for who in (sender, outsider):
        with pytest.raises(Http404):
            do_record_node(f.actor(who), case.pk, "team_activation", ago(6))
    row = AuditEvent.objects.filter(membership_id=owner.pk).order_by("-pk").first()
    assert (row.patient_id, row.basis, row.outcome) == (None, "none", "success")


def test_identify_the_patient_of_an_unidentified_case(owner, registrar, crew, patient, outsider):
    case = do_open_case(f.actor(crew), NewCase(centre="stroke", arrival_mode="ems"))
    with pytest.raises(Http404):
        do_identify_patient(f.actor(outsider), case.pk, patient.pk)
    other = f.register_patient(f.make_membership(outsider.institution, "registrar"))
    with pytest.raises(Http404):  # a patient the registrar may not see
        do_identify_patient(f.actor(registrar), case.pk, other.pk)
    do_identify_patient(f.actor(registrar), case.pk, patient.pk)
    case.refresh_from_db()
    assert case.patient_id == patient.pk
    assert CareRelation.objects.filter(source_type="green_channel", source_id=case.pk).exists()
    assert CaseEvent.objects.filter(case=case, kind="identified").count() == 1
    with pytest.raises(ActionError) as exc:
        do_identify_patient(f.actor(registrar), case.pk, patient.pk)
    assert set(exc.value.errors) == {"patient_id"}


# --- bypass and closing -------------------------------------------------------------------------------------


def test_bypass_is_an_event_directed_by_the_receiving_team(owner, colleague, chest_case):
    with pytest.raises(ActionError) as exc:
        do_direct_bypass(f.actor(owner), chest_case.pk, "ct")
    assert set(exc.value.errors) == {"to"}
    with pytest.raises(ActionError) as exc:
        do_direct_bypass(f.actor(colleague), chest_case.pk, "cath_lab")  # sees the case, does not receive it
    assert set(exc.value.errors) == {"case"}
    event = do_direct_bypass(f.actor(owner), chest_case.pk, "cath_lab")
    assert (event.kind, event.data) == ("bypass", {"to": "cath_lab"})


def test_close_with_a_disposition_then_nothing_more_is_recorded(owner, chest_case):
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(50))
    with pytest.raises(ActionError) as exc:
        do_close_case(f.actor(owner), chest_case.pk, "home")
    assert set(exc.value.errors) == {"disposition"}
    with pytest.raises(ActionError) as exc:
        do_close_case(f.actor(owner), chest_case.pk, "admitted", ago(60))
    assert set(exc.value.errors) == {"at"}
    closed = do_close_case(f.actor(owner), chest_case.pk, "admitted")
    assert closed.disposition == "admitted" and closed.closed_at is not None
    with pytest.raises(ActionError) as exc:
        do_record_node(f.actor(owner), chest_case.pk, "first_ecg", ago(45))
    assert set(exc.value.errors) == {"case"}
    assert decide(f.actor(owner), chest_case.patient_id) is not None  # the care relationship stays


def test_identifying_a_patient_who_has_an_open_channel_of_that_centre_is_refused(owner, registrar, crew, patient,
                                                                                 chest_case):
    case = do_open_case(f.actor(crew), NewCase(centre="chest_pain", arrival_mode="ems"))
    with pytest.raises(ActionError) as exc:
        do_identify_patient(f.actor(registrar), case.pk, patient.pk)
    assert set(exc.value.errors) == {"patient_id"}
    case.refresh_from_db()
    assert case.patient_id is None and not CaseEvent.objects.filter(case=case, kind="identified").exists()
