"""Batch linkage (`yilian mpi link`): finds the known duplicates of a generated register, keeps decisions,
skips merged records, and the Splink and Python scorers agree with the online score."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.network.acting import SYSTEM
from yilian.patients.linkage import do_link_all, estimate_parameters, load_rows
from yilian.patients.matching import UPPER, batch, cluster, score_pair
from yilian.patients.matching.cluster import CLUSTER_RULES
from yilian.patients.matching.model import CAPPED
from yilian.patients.matching.record import record_of
from yilian.patients.matching.synthetic import generate, true_pairs
from yilian.patients.merging import do_apply_links
from yilian.patients.models import LinkCandidate, LinkStatus, MatchKey, Merge, Patient

SIZE = 1500


@pytest.fixture
def register(net):
    """A generated register of SIZE records (30 % of people registered 2–4 times), written in bulk."""
    _gen, records = generate(SIZE, seed=11)
    patients = Patient.objects.bulk_create([
        Patient(name=r.name, sex=r.sex, birth_date=r.birth_date, resident_id=r.resident_id, phone=r.phone,
                address=r.address, registered_at=net.village) for r in records])
    ids = [p.pk for p in patients]
    return records, ids, true_pairs(records, ids)


def pairs(status=None) -> set[tuple[int, int]]:
    rows = LinkCandidate.objects.all() if status is None else LinkCandidate.objects.filter(status=status)
    return set(rows.values_list("left_id", "right_id"))


def test_batch_linkage_finds_the_known_duplicates(register):
    _records, _ids, truth = register
    run = do_link_all()
    linked, pending = pairs(LinkStatus.LINKED), pairs(LinkStatus.PENDING)
    assert run.records == SIZE and run.linked == len(linked) and run.pending == len(pending)
    assert len(truth) > 300
    assert len(linked - truth) <= 1  # precision
    assert len(linked & truth) >= 0.8 * len(truth)  # recall of automatic links
    assert len((linked | pending) & truth) >= 0.95 * len(truth)  # nearly all others wait for review
    for candidate in LinkCandidate.objects.all():
        assert candidate.left_id < candidate.right_id and candidate.source == "batch"
        assert (candidate.status == LinkStatus.LINKED) == (candidate.match_weight >= UPPER)


def test_batch_scores_equal_the_online_score(register):
    do_link_all()
    patients = Patient.objects.in_bulk()
    held = 0
    for candidate in LinkCandidate.objects.all():
        weight, probability, agreement = score_pair(patients[candidate.left_id], patients[candidate.right_id])
        rule = candidate.agreement.get("rule")
        if rule in CLUSTER_RULES:  # strong alone, held back by a cluster rule: capped below UPPER, with the rule
            held += 1
            assert "rule" not in agreement and weight >= UPPER
            assert candidate.agreement == agreement | {"rule": rule}
            assert candidate.match_weight == CAPPED and candidate.status == LinkStatus.PENDING
            continue
        assert candidate.agreement == agreement
        assert candidate.match_weight == pytest.approx(weight)
        assert candidate.probability == pytest.approx(probability)
    assert held  # the generated register has them (a sex typed wrong, a second ID): the branch above ran


def clusters_of(linked: set[tuple[int, int]]) -> list[set[int]]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for a, b in linked:
        parent[find(a)] = find(b)
    groups: dict[int, set[int]] = {}
    for x in parent:
        groups.setdefault(find(x), set()).add(x)
    return list(groups.values())


def test_linked_pairs_form_clusters_the_merges_may_follow(register):
    """The links are transitive: the people they make keep the rules as a whole (one sex unless the names
    agree, resident IDs typing errors explain, no pair held back inside), and are nearly all right."""
    _records, _ids, truth = register
    do_link_all()
    held = {(c.left_id, c.right_id) for c in LinkCandidate.objects.exclude(agreement__rule=None)
            if c.agreement["rule"] not in CLUSTER_RULES}
    groups = clusters_of(pairs(LinkStatus.LINKED))
    recs = {p.pk: record_of(p) for p in Patient.objects.all()}
    implied = set()
    for group in groups:
        members = sorted(group)
        implied |= {(a, b) for i, a in enumerate(members) for b in members[i + 1:]}
        assert not any((a, b) in held for i, a in enumerate(members) for b in members[i + 1:])
        assert cluster.conflict(set(), {(recs[m].resident_id, cluster.trusted_id(recs[m])) for m in members
                                        if recs[m].resident_id}) == ""
    assert len(implied - truth) <= 2
    assert len(implied & truth) >= 0.9 * len(truth)  # more than the direct links alone
    assert len(implied & truth) > len(pairs(LinkStatus.LINKED) & truth)


def test_splink_and_python_engines_agree(register):
    _ids, rows = load_rows()
    by_splink = {(s.left, s.right): (s.agreement, round(s.weight, 9)) for s in batch.link(rows, engine="splink")}
    by_python = {(s.left, s.right): (s.agreement, round(s.weight, 9)) for s in batch.link(rows, engine="python")}
    assert by_splink == by_python


def test_rerun_keeps_decisions_and_refreshes_the_rest(register):
    do_link_all()
    same, different, pending = LinkCandidate.objects.filter(status=LinkStatus.PENDING).order_by("pk")[:3]
    decided_at = timezone.now()
    LinkCandidate.objects.filter(pk=same.pk).update(status=LinkStatus.SAME, decided_at=decided_at,
                                                    decided_by_membership_id=7)
    LinkCandidate.objects.filter(pk=different.pk).update(status=LinkStatus.DIFFERENT, decided_at=decided_at,
                                                         match_weight=-99.0, agreement={"kept": "yes"})
    LinkCandidate.objects.filter(pk=pending.pk).update(match_weight=-99.0)
    before = {c.pk: c for c in LinkCandidate.objects.filter(pk__in=[same.pk, different.pk])}
    count = LinkCandidate.objects.count()

    run = do_link_all()

    assert run.kept == 2
    assert LinkCandidate.objects.count() == count
    for pk, old in before.items():
        new = LinkCandidate.objects.get(pk=pk)
        assert (new.status, new.match_weight, new.agreement, new.decided_at, new.decided_by_membership_id) == (
            old.status, old.match_weight, old.agreement, old.decided_at, old.decided_by_membership_id)
    assert LinkCandidate.objects.get(pk=pending.pk).match_weight == pending.match_weight  # refreshed


def test_merged_records_take_no_part(register):
    do_link_all()
    pair = LinkCandidate.objects.filter(status=LinkStatus.LINKED).order_by("pk").first()
    LinkCandidate.objects.all().delete()
    Patient.objects.filter(pk=pair.right_id).update(merged_into=pair.left_id)  # as the merge action leaves it
    run = do_link_all()
    assert run.records == SIZE - 1
    assert not LinkCandidate.objects.filter(left_id=pair.right_id).exists()
    assert not LinkCandidate.objects.filter(right_id=pair.right_id).exists()


def test_stale_pending_pairs_leave_the_queue(register):
    _records, ids, truth = register
    stranger = next((a, b) for a in ids[:50] for b in ids[50:100] if (a, b) not in truth and a < b)
    LinkCandidate.objects.create(left_id=stranger[0], right_id=stranger[1], match_weight=20, probability=0.5,
                                 agreement={}, status=LinkStatus.PENDING)
    run = do_link_all()
    assert run.removed == 1 and stranger not in pairs()


def test_a_run_is_audited_once(register):
    before = AuditEvent.objects.count()
    do_link_all()
    row = AuditEvent.objects.get(pk__gt=0, object_type="mpi_link")
    assert AuditEvent.objects.count() == before + 1 and row.patient_id is None and row.username == "system"


def test_command_prints_counts_only(register):
    records, _ids, _truth = register
    out = StringIO()
    call_command("mpi", "index", stdout=out)
    assert MatchKey.objects.count() > SIZE
    call_command("mpi", "link", "--engine", "python", "--no-merge", stdout=out)
    assert not Patient.objects.filter(merged_into__isnull=False).exists()
    call_command("mpi", "link", stdout=out)
    text = out.getvalue()
    assert "linked" in text and "records" in text and "merged" in text
    merged = Patient.objects.filter(merged_into__isnull=False).count()
    assert merged == Merge.objects.count() > 100
    assert "0 pairs sent to review" in text  # the merges follow the links: nothing the linkage linked is refused
    for r in records:
        for value in (r.name, r.resident_id, r.phone):
            assert not value or len(value) < 2 or value not in text


def test_estimate_recovers_the_error_model(register):
    do_link_all()
    rows, source = estimate_parameters(pairs=20_000)
    assert source == "decided+linked"  # nobody has decided anything yet
    found = {(e.field, e.level): e for e in rows}
    assert found["birth_date", "exact"].u < 1e-3 < 0.8 < found["birth_date", "exact"].m
    assert found["name", "different"].u > 0.9
    out = StringIO()
    call_command("mpi", "estimate", "--pairs", "5000", stdout=out)
    assert "resident_id" in out.getvalue() and "decided+linked" in out.getvalue()


def test_a_pair_the_merge_refused_stays_in_review_on_later_runs(register):
    do_link_all()
    pair = LinkCandidate.objects.filter(status=LinkStatus.LINKED).order_by("pk").first()
    Patient.objects.filter(pk=pair.right_id).update(sex="2" if pair.right.sex == "1" else "1",
                                                    name=pair.right.name + "华")  # changed since the run
    applied = do_apply_links(SYSTEM)
    assert applied.to_review >= 1
    pair.refresh_from_db()
    assert (pair.status, pair.agreement["rule"]) == (LinkStatus.PENDING, "refused")
    Patient.objects.filter(pk=pair.right_id).update(sex=pair.right.sex, name=pair.right.name)  # corrected back
    do_link_all()
    pair.refresh_from_db()
    assert (pair.status, pair.agreement["rule"]) == (LinkStatus.PENDING, "refused")
    assert pair.match_weight < UPPER
