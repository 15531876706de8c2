"""The review queue: the desk sees pending pairs masked, decides once, and *same person* merges."""

import pytest

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import matching
from yilian.patients.models import LinkStatus, Merge, Patient
from yilian.patients.review import do_decide_link, review_pair, review_queue
from yilian.testing import factories as f


@pytest.fixture
def pairs(net, registrar, patient):
    a = patient
    b = f.second_record(registrar, a)
    other = f.register_patient(registrar)
    other2 = f.second_record(registrar, other)
    matching.do_index_patients([a.pk, b.pk, other.pk, other2.pk])
    strong = f.link_candidate(a, b, weight=25)
    weak = f.link_candidate(other, other2, weight=18)
    done = f.link_candidate(a, other, weight=19, status=LinkStatus.DIFFERENT)
    return strong, weak, done


def test_queue_lists_pending_pairs_strongest_first_and_audits_each_record(registrar, pairs):
    strong, weak, _done = pairs
    mark = AuditEvent.objects.count()
    shown, total = review_queue(f.actor(registrar))
    assert [p.candidate.pk for p in shown] == [strong.pk, weak.pk] and total == 2
    assert shown[0].left.name.count("*") >= 1  # masked
    assert "*" in shown[0].left.resident_id or shown[0].left.resident_id == ""
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert sorted((r.patient_id, r.object_type, r.object_id, r.action, r.outcome) for r in rows) == sorted(
        (pid, "link-candidate", str(c.pk), "read", "success")
        for c in (strong, weak) for pid in (c.left_id, c.right_id))


def test_only_the_desk_reviews(net, owner, pairs):
    strong = pairs[0]
    township = f.make_membership(net.township, Role.REGISTRAR)
    for actor in (f.actor(owner), f.actor(township)):
        for call in (lambda a: review_queue(a), lambda a: review_pair(a, strong.pk),
                     lambda a: do_decide_link(a, strong.pk, False)):
            with pytest.raises(ActionError) as exc:
                call(actor)
            assert set(exc.value.errors) == {"role"}


def test_different_people_is_kept_and_never_asked_again(registrar, pairs):
    strong = pairs[0]
    mark = AuditEvent.objects.count()
    decided = do_decide_link(f.actor(registrar), strong.pk, same=False)
    assert decided.status == LinkStatus.DIFFERENT and decided.decided_by_membership_id == registrar.pk
    assert decided.decided_at is not None
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert sorted((r.patient_id, r.action, r.reason) for r in rows) == sorted(
        [(strong.left_id, "update", "different people"), (strong.right_id, "update", "different people")])
    assert strong.pk not in [p.candidate.pk for p in review_queue(f.actor(registrar))[0]]
    for same in (False, True):
        with pytest.raises(ActionError) as exc:
            do_decide_link(f.actor(registrar), strong.pk, same=same)
        assert set(exc.value.errors) == {"candidate"}
    assert not Merge.objects.exists()


def test_same_person_merges_keeping_the_record_with_the_resident_id(registrar, pairs):
    strong = pairs[0]
    decided = do_decide_link(f.actor(registrar), strong.pk, same=True)
    assert decided.status == LinkStatus.SAME
    merge = Merge.objects.get()
    keep = Patient.objects.get(pk=merge.survivor_id)
    assert keep.resident_id and Patient.objects.get(pk=merge.merged_id).merged_into_id == keep.pk
    assert merge.reason == f"link review #{strong.pk}"


def test_same_person_with_a_chosen_survivor(registrar, patient):
    older, newer = f.second_record(registrar, patient), f.second_record(registrar, patient, phone="")
    pair = f.link_candidate(older, newer)
    do_decide_link(f.actor(registrar), pair.pk, same=True, survivor_id=str(newer.pk))  # not the default
    assert (Merge.objects.get().survivor_id, Merge.objects.get().merged_id) == (newer.pk, older.pk)


def test_survivor_must_be_one_of_the_pair(registrar, patient, pairs):
    weak = pairs[1]
    for bad in (patient.pk, "x", 10**30):
        with pytest.raises(ActionError) as exc:
            do_decide_link(f.actor(registrar), weak.pk, same=True, survivor_id=bad)
        assert set(exc.value.errors) == {"survivor_id"}
    weak.refresh_from_db()
    assert weak.status == LinkStatus.PENDING


def test_twins_need_confirmation_and_nothing_is_written_without_it(registrar, patient):
    twin = f.register_patient(registrar, resident_id="", birth_date=patient.birth_date, sex=patient.sex,
                              name="欧阳明", address=patient.address, phone=patient.phone)
    pair = f.link_candidate(patient, twin, weight=20)
    before = AuditEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        do_decide_link(f.actor(registrar), pair.pk, same=True)
    assert set(exc.value.errors) == {"confirm"}
    pair.refresh_from_db()
    assert pair.status == LinkStatus.PENDING and AuditEvent.objects.count() == before
    do_decide_link(f.actor(registrar), pair.pk, same=True, confirm=True)
    assert Merge.objects.get().merged_id == twin.pk


def test_a_pair_with_a_merged_record_leaves_the_queue(registrar, pairs):
    strong, weak, _done = pairs
    do_decide_link(f.actor(registrar), strong.pk, same=True)
    shown, total = review_queue(f.actor(registrar))
    assert [p.candidate.pk for p in shown] == [weak.pk] and total == 1


def test_a_pair_whose_record_was_merged_since_stays_in_the_queue_as_the_patients_are_now(registrar, pairs):
    """other2 is merged into a third record after the pair (other, other2) was scored: the pair stays open,
    shows the survivor in its place, and *same person* merges the two patients as they are now."""
    _strong, weak, _done = pairs
    actor = f.actor(registrar)
    survivor = f.second_record(registrar, weak.left)
    merge_into(survivor, weak.right)
    shown, _total = review_queue(actor)
    pair = next(p for p in shown if p.candidate.pk == weak.pk)
    assert {pair.left.id, pair.right.id} == {weak.left_id, survivor.pk}
    assert pair.merged_since == [(weak.right_id, survivor.pk)]
    mark = AuditEvent.objects.count()
    do_decide_link(actor, weak.pk, same=True, survivor_id=weak.left_id, confirm=True)
    rows = AuditEvent.objects.order_by("pk")[mark:]
    assert {r.patient_id for r in rows if r.object_type == "link-candidate"} == {weak.left_id, survivor.pk}
    assert Patient.objects.get(pk=survivor.pk).merged_into_id == weak.left_id


def test_a_pair_that_is_one_patient_now_leaves_the_queue(registrar, pairs):
    strong, _weak, _done = pairs
    merge_into(strong.left, strong.right)
    assert strong.pk not in [p.candidate.pk for p in review_queue(f.actor(registrar))[0]]


def merge_into(survivor, merged):
    from yilian.network.acting import SYSTEM
    from yilian.patients.merging import apply_merge, check_merge

    apply_merge(SYSTEM, check_merge(SYSTEM, survivor.pk, merged.pk, reason="test", confirm=True, system=True))
