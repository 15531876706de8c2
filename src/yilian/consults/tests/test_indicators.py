"""Consultation indicators computed by hand on a small case.

Asked by the township: A asynchronous, signed after 30 min, confirmed, then amended (still one
consultation, still confirmed); B synchronous, signed after 90 min, not confirmed; C an MDT led by the
partner hospital's expert, signed after 60 min, confirmed; D held by an expert but not signed; E cancelled;
G signed 40 days ago. Asked by the county hospital: H asynchronous to the partner's expert, signed after
120 min. Guided operations: two at the township today, one at the county today, one at the township 40
days ago.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from yilian.analytics.registry import REGISTRY, Scope
from yilian.consults import actions as a
from yilian.consults import operations as o
from yilian.consults.models import Consultation
from yilian.consults.tests.conftest import ask, video
from yilian.network.models import Institution, InstitutionKind
from yilian.testing import factories as f


def answer(consultation, lead, minutes: int, *, member=None, confirm_by=None, signed_days_ago: int = 0) -> None:
    """Claim, (contribute,) write and sign; then put the request `minutes` before the signature."""
    a.do_claim(f.actor(lead), consultation.pk)
    if member is not None:
        a.do_add_expert(f.actor(lead), consultation.pk, member.staff_id, member.institution_id)
        a.do_contribute(f.actor(member), consultation.pk, "同意")
    a.do_write_opinion(f.actor(lead), consultation.pk, "意见")
    a.do_sign(f.actor(lead), consultation.pk)
    if confirm_by is not None:
        a.do_confirm(f.actor(confirm_by), consultation.pk)
    signed = timezone.now() - timedelta(hours=3, days=signed_days_ago)
    Consultation.objects.filter(pk=consultation.pk).update(signed_at=signed,
                                                           created_at=signed - timedelta(minutes=minutes))


def test_consultations_by_hand(net, township_doctor, expert, expert2, partner_expert, villager):
    township = f.actor(township_doctor)
    A = a.do_request(township, ask(villager))
    answer(A, expert, 30, confirm_by=township_doctor)
    a.do_amend(f.actor(expert), A.pk, "更正", "", "补充检查结果")
    B = a.do_request(township, ask(villager, **video()))
    answer(B, expert, 90)
    C = a.do_request(township, ask(villager, mdt=True, target="expert", to_institution_id=partner_expert.institution_id,
                                   to_staff_id=partner_expert.staff_id))
    answer(C, partner_expert, 60, member=expert2, confirm_by=township_doctor)
    D = a.do_request(township, ask(villager))
    a.do_claim(f.actor(expert), D.pk)
    a.do_cancel(township, a.do_request(township, ask(villager)).pk, "不需要了")
    G = a.do_request(township, ask(villager))
    answer(G, expert, 10, signed_days_ago=40, confirm_by=township_doctor)
    f.grant(villager, to_institution=net.county)
    county_doctor = f.make_membership(net.county, "doctor", department=net.department(net.county))
    H = a.do_request(f.actor(county_doctor), ask(villager, target="expert", to_staff_id=partner_expert.staff_id,
                                                 to_institution_id=partner_expert.institution_id))
    answer(H, partner_expert, 120)

    today = timezone.localdate()
    scope = Scope(start=today - timedelta(days=1), end=today + timedelta(days=1))
    township_only = Scope(scope.start, scope.end, frozenset({net.township.pk}))

    def value(code, s=scope):
        return REGISTRY[code].compute(s)

    assert value("consult.remote_consultations") == 4  # A, B, C, H (D unsigned, E cancelled, G earlier)
    assert (value("consult.sync"), value("consult.async"), value("consult.mdt")) == (1, 2, 1)  # B; A, H; C
    assert value("consult.partner_consultations") == 2  # C and H, led by the partner hospital's expert
    assert value("consult.signed_minutes") == Decimal("75.00")  # (30 + 90 + 60 + 120) ÷ 4
    assert value("consult.confirmed_share") == Decimal("0.5000")  # A and C of 4
    assert value("consult.remote_consultations", township_only) == 3
    assert value("consult.partner_consultations", township_only) == 1
    assert value("consult.signed_minutes", township_only) == Decimal("60.00")  # (30 + 90 + 60) ÷ 3
    assert value("consult.confirmed_share", township_only) == Decimal("0.6667")  # 2 of 3
    empty = Scope(today - timedelta(days=10), today - timedelta(days=9))
    assert (value("consult.signed_minutes", empty), value("consult.confirmed_share", empty)) == (None, None)
    assert value("consult.remote_consultations", empty) == 0


def test_guided_operations_by_hand(net, township_doctor, expert, villager):
    county_doctor = f.make_membership(net.county, "doctor", department=net.department(net.county))
    f.grant(villager, to_institution=net.county)

    def record(by, guide, days_ago=0):
        o.do_record_guided_operation(f.actor(by), o.NewGuidedOperation(
            patient_id=villager.pk, procedure="清创缝合术", performed_on=timezone.localdate() - timedelta(days=days_ago),
            mode="remote", expert_staff_id=guide.staff_id, expert_institution_id=guide.institution_id,
            operator_staff_id=by.staff_id, outcome="completed"))

    record(township_doctor, expert)
    record(township_doctor, expert)
    record(township_doctor, expert, days_ago=40)
    record(county_doctor, f.make_membership(_tcm(net), "doctor"))  # the county guided by a TCM hospital expert
    today = timezone.localdate()
    scope = Scope(start=today - timedelta(days=1), end=today + timedelta(days=1))
    assert REGISTRY["consult.guided_operations"].compute(scope) == 3
    assert REGISTRY["consult.guided_operations"].compute(Scope(scope.start, scope.end, frozenset({net.township.pk}))) == 2
    assert REGISTRY["consult.guided_operations"].compute(Scope(today - timedelta(days=41), today)) == 1


def _tcm(net):
    return Institution.objects.create(consortium=net.consortium, code="T-TCM", name="测试县中医医院", short_name="中医院",
                                      kind=InstitutionKind.TCM, division_code=net.county.division_code, parent=net.county)
