"""Real parallel connections on PostgreSQL: a report cannot be signed twice, one reader wins a study, one
clinician acknowledges a critical value (run with DATABASE_URL=postgres://… and `-m postgres`; on any other
database these tests fail, never skip)."""

import pytest
from django.utils import translation

from yilian.diagnostics import actions as a
from yilian.diagnostics.models import CriticalValue, Report, ReportStatus, Status, Study, StudyEvent
from yilian.diagnostics.tests.conftest import submit_ct
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
N = 8



def english(action, *args):
    """Run the action in English: each thread starts in the default language (Chinese)."""
    with translation.override("en"):
        return action(*args)


def _one_won(results, expected) -> list:
    won = [r for kind, r in results if kind == "ok"]
    lost = [e for kind, e in results if kind == "error"]
    assert won == [expected] and len(lost) == N - 1, results
    assert all(isinstance(e, ActionError) and set(e.errors) == {"status"} for e in lost), lost
    return lost


def test_a_report_is_signed_once_when_eight_sign_at_once(net, centres, township_doctor, radiologist, villager,
                                                         visit):
    """Eight sign clicks on one draft at once (the reader and seven colleagues of the centre): one signature,
    seven told it is already signed; then the same with an amendment, the original left as it was."""
    study = submit_ct(township_doctor, centres, villager, visit)
    readers = [f.actor(radiologist)] + [
        f.actor(f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county)))
        for _ in range(N - 1)]
    a.do_claim(readers[0], study.pk)
    a.do_save_draft(readers[0], study.pk, "右侧基底节区高密度影。", "右侧基底节区脑出血。")
    lost = _one_won(in_parallel(N, lambda i: english(a.do_sign, readers[i], study.pk).version), 1)
    assert all("already been signed" in e.errors["status"] for e in lost)
    original = Report.objects.get(study=study, version=1)
    assert original.status == ReportStatus.SIGNED
    study.refresh_from_db()
    assert study.status == Status.SIGNED and study.signed_at == original.signed_at

    a.do_amend(readers[1], study.pk, "补充：破入脑室")
    a.do_save_draft(readers[1], study.pk, "右侧基底节区高密度影，破入侧脑室。", "右侧基底节区脑出血破入脑室。")
    _one_won(in_parallel(N, lambda i: a.do_sign(readers[i], study.pk).version), 2)
    assert list(Report.objects.filter(study=study).order_by("version").values_list("version", "status")) == [
        (1, ReportStatus.SIGNED), (2, ReportStatus.SIGNED)]
    assert Report.objects.get(pk=original.pk).findings == "右侧基底节区高密度影。"
    kinds = list(StudyEvent.objects.filter(study=study, kind__in=["signed", "amended"]).values_list("kind", flat=True))
    assert kinds == ["signed", "amended"]
    # Eight amendments opened at once: one draft, seven told one is open.
    lost = _one_won(in_parallel(N, lambda i: english(a.do_amend, readers[i], study.pk, f"再次修改 {i}").version), 3)
    assert all("already open" in e.errors["status"] for e in lost)


def test_one_reader_wins_a_study_and_one_clinician_acknowledges(net, centres, township_doctor, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    readers = [f.actor(f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county)))
               for _ in range(N)]
    results = in_parallel(N, lambda i: a.do_claim(readers[i], study.pk).reader_id)
    won = [r for kind, r in results if kind == "ok"]
    assert len(won) == 1 and Study.objects.get(pk=study.pk).reader_id == won[0]
    assert all(isinstance(e, ActionError) and set(e.errors) == {"status"} for kind, e in results if kind == "error")
    reader = next(r for r in readers if r.membership.staff_id == won[0])
    critical = a.do_flag_critical(reader, study.pk, "急性颅内出血")
    clinicians = [f.actor(township_doctor)] + [f.actor(f.make_membership(net.township, Role.NURSE))
                                               for _ in range(N - 1)]
    results = in_parallel(N, lambda i: a.do_acknowledge(clinicians[i], critical.pk, "已复读").pk)
    _one_won(results, critical.pk)
    assert CriticalValue.objects.get(pk=critical.pk).acknowledged_by_id is not None
    assert StudyEvent.objects.filter(study=study, kind="critical_acknowledged").count() == 1
