"""Diagnostic-centre indicators computed by hand on a small case.

Studies (submitted at T0): CT A signed at +30 min, CT B at +90 min (then amended: not a second diagnosis,
turnaround from the first signature), ECG C at +10 min from the township; ECG F at +20 min from the village;
a lab request rejected and a CT still open (neither counts). Critical values: one acknowledged after 6 min,
one after 20 min, one never (flagged 30 min ago), one flagged 5 min ago and not yet acknowledged (still
inside its 15 minutes: not judged).
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from yilian.analytics.registry import REGISTRY, Scope
from yilian.diagnostics import actions as a
from yilian.diagnostics import indicators
from yilian.diagnostics.models import CriticalValue, Report, Study
from yilian.diagnostics.tests.conftest import PDF, new_study, read_and_sign, submit_ct, upload
from yilian.network.roles import Role
from yilian.testing import factories as f


def _times(study, t0, minutes):
    Study.objects.filter(pk=study.pk).update(submitted_at=t0, signed_at=t0 + timedelta(minutes=minutes))


def test_remote_diagnoses_turnaround_and_critical_values_by_hand(net, centres, township_doctor, radiologist,
                                                                 lab_tech, villager, visit):
    reader = f.actor(radiologist)
    ct_a = submit_ct(township_doctor, centres, villager, visit)
    ct_b = submit_ct(township_doctor, centres, villager, visit)
    ecg_c = a.do_submit(f.actor(township_doctor), new_study(centres["ecg"], villager, visit), [upload("c.pdf", PDF)])
    village_doctor = f.make_membership(net.village, Role.DOCTOR)
    f.grant(villager, to_institution=net.village)
    ecg_f = a.do_submit(f.actor(village_doctor), new_study(centres["ecg"], villager,
                                                           f.open_encounter(village_doctor, villager)),
                        [upload("f.pdf", PDF)])
    lab_d = a.do_submit(f.actor(township_doctor), new_study(centres["lab"], villager, visit))
    a.do_reject(f.actor(lab_tech), lab_d.pk, "标本溶血")
    open_e = submit_ct(township_doctor, centres, villager, visit)
    for study in (ct_a, ct_b, ecg_c, ecg_f):
        read_and_sign(radiologist, study)
    a.do_amend(reader, ct_b.pk, "补充描述")
    a.do_sign(reader, ct_b.pk)
    t0 = timezone.now() - timedelta(hours=3)
    for study, minutes in ((ct_a, 30), (ct_b, 90), (ecg_c, 10), (ecg_f, 20)):
        _times(study, t0, minutes)
    assert Report.objects.filter(study=ct_b).count() == 2

    a.do_claim(reader, open_e.pk)
    now = timezone.now()
    flags = [a.do_flag_critical(reader, open_e.pk, text) for text in ("急性颅内出血", "脑疝", "大面积脑梗死", "颅骨骨折")]
    for critical, flagged, acked in zip(flags, (60, 50, 30, 5), (6, 20, None, None), strict=True):
        CriticalValue.objects.filter(pk=critical.pk).update(flagged_at=now - timedelta(minutes=flagged))
        if acked is not None:
            a.do_acknowledge(f.actor(township_doctor), critical.pk, "已复读并处理")
            CriticalValue.objects.filter(pk=critical.pk).update(
                acknowledged_at=now - timedelta(minutes=flagged) + timedelta(minutes=acked))

    today = timezone.localdate()
    scope = Scope(start=today - timedelta(days=1), end=today + timedelta(days=1))
    value = {code: REGISTRY[code].compute(scope) for code in REGISTRY if code.startswith("diagnostics.")}
    assert value["diagnostics.remote_diagnoses"] == 4  # A, B, C, F
    assert (value["diagnostics.remote_imaging"], value["diagnostics.remote_ecg"],
            value["diagnostics.remote_pathology"], value["diagnostics.remote_lab"]) == (2, 2, 0, 0)
    assert value["diagnostics.turnaround_minutes"] == Decimal("37.50")  # (30 + 90 + 10 + 20) ÷ 4
    assert value["diagnostics.turnaround_median_minutes"] == Decimal("25.00")  # (20 + 30) ÷ 2
    assert value["diagnostics.critical_ack_15min"] == Decimal("0.3333")  # 1 (6 min) ÷ 3 (the 5-minute one waits)
    assert value["diagnostics.critical_ack_minutes"] == Decimal("13.00")  # (6 + 20) ÷ 2

    by_centre = {(r["kind"], r["member_id"]): r["count"] for r in indicators.remote_by_centre_and_member(scope)}
    assert by_centre == {("imaging", net.township.pk): 2, ("ecg", net.township.pk): 1, ("ecg", net.village.pk): 1}
    by_exam = {r["exam_type"]: (r["count"], r["mean_minutes"], r["median_minutes"])
               for r in indicators.turnaround_by_exam_type(scope)}
    assert by_exam == {"CT-HEAD": (2, Decimal("60.00"), Decimal("60.00")),
                       "ECG-12": (2, Decimal("15.00"), Decimal("15.00"))}

    township_only = Scope(scope.start, scope.end, frozenset({net.township.pk}))
    assert REGISTRY["diagnostics.remote_diagnoses"].compute(township_only) == 3
    assert REGISTRY["diagnostics.turnaround_minutes"].compute(township_only) == Decimal("43.33")  # 130 ÷ 3
    assert REGISTRY["diagnostics.critical_ack_15min"].compute(township_only) == Decimal("0.3333")
    village_only = Scope(scope.start, scope.end, frozenset({net.village.pk}))
    assert REGISTRY["diagnostics.critical_ack_15min"].compute(village_only) is None
    assert REGISTRY["diagnostics.critical_ack_minutes"].compute(village_only) is None
    last_year = Scope(today - timedelta(days=400), today - timedelta(days=300))
    assert REGISTRY["diagnostics.remote_diagnoses"].compute(last_year) == 0
    assert REGISTRY["diagnostics.turnaround_minutes"].compute(last_year) is None
