"""Merge and unmerge: every row that points at the merged record follows the survivor, and unmerge puts back
exactly what was moved (compared generically over every model that references a patient)."""

from datetime import date

import pytest
from django.http import Http404
from django.utils import translation

from yilian.access.gate import access_patient, decide
from yilian.access.models import AuditEvent, BreakGlass, CareRelation, Grant
from yilian.care.models import Encounter
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.patients import matching, qr
from yilian.patients.identifiers import do_link_identifier
from yilian.patients.merging import NOT_MOVED, do_apply_links, do_merge, do_unmerge, references, survivor_id
from yilian.patients.models import Identifier, LinkCandidate, LinkStatus, MatchKey, Merge, Patient, QrToken
from yilian.patients.queries import MergedRecord, access_current
from yilian.testing import factories as f


def all_references():
    """Every (model, foreign key) that points at a patient, moved by a merge or not."""
    for rel in Patient._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one or rel.many_to_many):
            yield rel.related_model, rel.field


def snapshot(patients, merges_up_to: int) -> dict:
    """Every row that references any of `patients`, in full; the patients' own rows too. Blocking keys are
    derived (rewritten by re-indexing), so they compare by (patient, key); merges by those that existed."""
    ids = [p.pk for p in patients]
    out: dict = {"patients": list(Patient.objects.filter(pk__in=ids).order_by("pk").values())}
    for model, field in all_references():
        rows = model._base_manager.filter(**{f"{field.attname}__in": ids})
        label = f"{model._meta.label}.{field.name}"
        if model is MatchKey:
            out[label] = sorted(rows.values_list("patient_id", "key"))
        elif model is Merge:
            out[label] = list(rows.filter(pk__lte=merges_up_to).order_by("pk").values())
        else:
            out[label] = list(rows.order_by("pk").values())
    return out


def test_references_cover_every_model_that_points_at_a_patient():
    moved = {f"{m._meta.label}.{fk.name}" for m, fk in references()}
    assert {"care.Encounter.patient", "access.CareRelation.patient", "access.Grant.patient",
            "access.BreakGlass.patient", "patients.Identifier.patient", "patients.Patient.merged_into"} <= moved
    everything = {m._meta.label for m, _fk in all_references()}
    assert everything - {m._meta.label for m, _fk in references()} == set(NOT_MOVED)
    assert not any(fk.many_to_many for _m, fk in all_references())  # a merge could not move these


@pytest.fixture
def desk(registrar):
    """The master patient index desk: a registrar at the consortium's lead institution."""
    return registrar


@pytest.fixture
def family(net, registrar, owner, outsider, patient, encounter):
    """A (with resident ID), B (a second record at the county hospital, no resident ID) and C (a third,
    at the township centre, already merged into B), each with visits, grants, identifiers and access."""
    a = patient
    township_desk = f.make_membership(net.township, Role.REGISTRAR)
    b = f.second_record(registrar, a, phone="")
    c = f.second_record(township_desk, a, address="东山村")
    f.open_encounter(owner, b)
    f.grant(a, to_institution=net.township)
    f.grant(b, to_staff=outsider.staff)
    f.break_glass(outsider, a)
    do_link_identifier(f.actor(registrar), a.pk, "insurance", "A12345678")
    do_link_identifier(f.actor(registrar), b.pk, "mrn", "MZ-B")
    qr.do_qr_check_in(f.actor(township_desk), QrToken.objects.get(patient=b).token)
    f.link_candidate(a, b, weight=22.0)
    matching.do_index_patients([a.pk, b.pk, c.pk])
    do_merge(f.actor(registrar), b.pk, c.pk, "third record")
    return a, b, c


def test_merge_moves_everything_and_unmerge_restores_it_exactly(desk, family):
    a, b, c = family
    mark = Merge.objects.order_by("-pk").values_list("pk", flat=True).first()
    before = snapshot(family, mark)
    assert before["care.Encounter.patient"] and before["patients.Identifier.patient"]

    merge = do_merge(f.actor(desk), a.pk, b.pk, "same person")
    b.refresh_from_db()
    c.refresh_from_db()
    assert (b.merged_into_id, c.merged_into_id) == (a.pk, a.pk)
    assert survivor_id(b.pk) == survivor_id(c.pk) == a.pk
    for model, fk in references():
        assert not model._base_manager.filter(**{fk.attname: b.pk}).exists(), model._meta.label
    assert Encounter.objects.filter(patient=a).count() == 2
    assert Identifier.objects.filter(patient=a, type="mrn").exists()
    assert {label for label in merge.moved} >= {"care.Encounter", "access.CareRelation", "access.Grant",
                                                 "patients.Identifier", "patients.Patient"}
    moved_pks = {(label, pk) for label, rows in merge.moved.items() for pk, _field in rows}
    assert ("patients.Patient", c.pk) in moved_pks
    assert not MatchKey.objects.filter(patient=b).exists()  # a merged record is found through its survivor

    do_unmerge(f.actor(desk), merge.pk)
    assert snapshot(family, mark) == before


def test_merge_and_unmerge_write_their_event_and_audit_rows(desk, family):
    a, b, _c = family
    mark = AuditEvent.objects.count()
    merge = do_merge(f.actor(desk), a.pk, b.pk)
    undone = do_unmerge(f.actor(desk), merge.pk)
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.patient_id, r.object_type, r.object_id, r.action) for r in rows] == [
        (a.pk, "merge", str(merge.pk), "update"), (b.pk, "merge", str(merge.pk), "update")] * 2
    assert undone.unmerged_at is not None and undone.unmerged_by_membership_id == desk.pk
    assert merge.merged_by_membership_id == desk.pk


def test_after_a_merge_the_merged_record_points_at_the_survivor(desk, net, owner, outsider, family):
    a, b, _c = family
    do_merge(f.actor(desk), a.pk, b.pk)
    mark = AuditEvent.objects.count()
    with pytest.raises(MergedRecord) as pointer:
        access_current(f.actor(owner), b.pk)
    assert pointer.value.survivor_id == a.pk
    row = AuditEvent.objects.order_by("pk")[mark]
    assert (row.patient_id, row.object_id, row.outcome) == (a.pk, str(b.pk), "success")
    stranger = f.make_membership(net.village, Role.NURSE)
    with pytest.raises(Http404):
        access_current(f.actor(stranger), b.pk)
    # The grant the outsider held on B now covers A.
    assert decide(f.actor(outsider), a.pk) is not None
    assert access_patient(f.actor(outsider), a.pk) == a


def test_merge_checks(desk, registrar, net, patient, family):
    a, b, c = family
    twin = f.register_patient(registrar, resident_id="", birth_date=a.birth_date, sex=a.sex, name="欧阳明",
                              address=a.address, phone=a.phone)
    newborn = f.register_patient(registrar, resident_id="", birth_date=date(2026, 1, 1), sex="1", name="欧阳某之子")
    cases = [
        ((a.pk, a.pk), "merged_id"),
        ((a.pk, 10**9), "merged_id"),
        ((a.pk, "x"), "merged_id"),
        ((a.pk, c.pk), "merged_id"),  # already merged into B
        ((c.pk, b.pk), "survivor_id"),
        ((b.pk, a.pk), "survivor_id"),  # the resident ID stays on the survivor
        ((a.pk, twin.pk), "confirm"),
        ((b.pk, newborn.pk), "confirm"),
    ]
    for (s, m), field in cases:
        with pytest.raises(ActionError) as exc:
            do_merge(f.actor(desk), s, m)
        assert field in exc.value.errors, (s, m)
    with pytest.raises(ActionError) as exc:
        do_merge(f.actor(desk), a.pk, b.pk, "x" * 201)
    assert set(exc.value.errors) == {"reason"}
    other = f.register_patient(registrar, sex="2", sequence=124)
    with pytest.raises(ActionError) as exc:
        do_merge(f.actor(desk), a.pk, other.pk)
    assert "resident IDs" in exc.value.errors["confirm"] or "不同" in exc.value.errors["confirm"]
    assert Merge.objects.count() == 1
    merge = do_merge(f.actor(desk), a.pk, twin.pk, "checked with the family", confirm=True)
    assert merge.merged_id == twin.pk


def test_who_may_merge(net, owner, family):
    a, b, _c = family
    township_desk = f.make_membership(net.township, Role.REGISTRAR)
    for actor in (f.actor(owner), f.actor(township_desk), SYSTEM):
        with pytest.raises(ActionError) as exc:
            do_merge(actor, a.pk, b.pk)
        assert set(exc.value.errors) == {"role"}
    assert Patient.objects.get(pk=b.pk).merged_into_id is None


def test_unmerge_checks(desk, family):
    a, b, c = family
    merge = do_merge(f.actor(desk), a.pk, b.pk)
    first = Merge.objects.get(merged=c)
    with translation.override("en"), pytest.raises(ActionError, match="undo that merge first"):  # B has since been merged into A
        do_unmerge(f.actor(desk), first.pk)
    do_unmerge(f.actor(desk), merge.pk)
    for pk in (merge.pk, 10**9, "x"):
        with pytest.raises(ActionError) as exc:
            do_unmerge(f.actor(desk), pk)
        assert set(exc.value.errors) == {"merge_id"}
    do_unmerge(f.actor(desk), first.pk)
    assert not Patient.objects.filter(merged_into__isnull=False).exists()
    assert CareRelation.objects.filter(patient=c).exists()


def test_a_row_created_on_the_survivor_stays_there_after_unmerge(desk, owner, family):
    a, b, _c = family
    merge = do_merge(f.actor(desk), a.pk, b.pk)
    later = f.open_encounter(owner, a)
    do_unmerge(f.actor(desk), merge.pk)
    assert Encounter.objects.get(pk=later.pk).patient_id == a.pk


def test_apply_links_merges_linked_pairs_and_sends_refused_ones_to_review(desk, registrar, family):
    a, b, c = family
    twin = f.register_patient(registrar, resident_id="", birth_date=a.birth_date, sex=a.sex, name="欧阳明",
                              address=a.address, phone=a.phone)
    LinkCandidate.objects.all().delete()  # test scaffolding: the pairs as the batch left them
    linked = f.link_candidate(a, b, weight=35, status=LinkStatus.LINKED)
    twins = f.link_candidate(a, twin, weight=30, status=LinkStatus.LINKED)
    again = f.link_candidate(b, c, weight=31, status=LinkStatus.LINKED)  # C is in B already
    result = do_apply_links(SYSTEM)
    assert (result.merged, result.to_review, result.skipped) == (1, 1, 1)
    assert Patient.objects.get(pk=b.pk).merged_into_id == a.pk
    assert Patient.objects.get(pk=twin.pk).merged_into_id is None
    twins.refresh_from_db()
    linked.refresh_from_db()
    again.refresh_from_db()
    assert (linked.status, twins.status, again.status) == ("linked", "pending", "linked")
    merge = Merge.objects.get(merged=b)
    assert merge.merged_by_membership_id is None and merge.reason == "batch linkage"
    assert AuditEvent.objects.filter(object_type="merge", object_id=str(merge.pk), username="system").count() == 2
    assert do_apply_links(SYSTEM).merged == 0  # nothing left to do


def test_grants_and_break_glass_follow_the_survivor(desk, outsider, family):
    a, b, _c = family
    do_merge(f.actor(desk), a.pk, b.pk)
    assert Grant.objects.filter(patient=b).count() == 0
    assert BreakGlass.objects.filter(patient=a).count() == 1
    assert QrToken.objects.filter(patient=b, revoked_at__isnull=True).count() == 1  # the card still works:
    assert qr.do_qr_check_in(f.actor(desk), QrToken.objects.get(patient=b).token) == a


def test_check_in_and_break_glass_by_a_merged_records_resident_id_reach_the_survivor(desk, net, patient):
    from yilian.patients.actions import do_check_in, do_check_in_many
    from yilian.patients.queries import patient_id_for_break_glass

    other = f.register_patient(desk, sequence=901 if patient.sex == "1" else 902)  # another valid ID
    do_merge(f.actor(desk), patient.pk, other.pk, "ID re-issued", confirm=True)
    township = f.make_membership(net.township, Role.REGISTRAR)
    assert do_check_in(f.actor(township), other.resident_id) == patient
    assert do_check_in_many(f.actor(township), [other.resident_id, patient.resident_id]) == [patient, patient]
    assert not CareRelation.objects.filter(patient=other).exists()
    assert patient_id_for_break_glass(other.resident_id) == patient.pk
