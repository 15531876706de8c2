"""Remote consultation: request, claim or assign, draft, sign, amend (a new version that keeps the
original), confirm, cancel; the grants each step gives or ends; an MDT with a panel and one conclusion;
named experts and departments; partner hospitals; guided operations; every refusal names its field and
leaves nothing behind."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, Grant, GrantKind
from yilian.consults import actions as a
from yilian.consults import operations as o
from yilian.consults.experts import centre_of
from yilian.consults.models import (
    Consultation,
    ConsultationEvent,
    ConsultationExpert,
    GuidedOperation,
    Opinion,
    PartnerInstitution,
    Status,
)
from yilian.consults.tests.conftest import ask, video
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

COUNTED = ("consults.Consultation", "consults.ConsultationEvent", "consults.ConsultationExpert", "consults.Opinion",
           "consults.GuidedOperation", "access.Grant")


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*COUNTED)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*COUNTED) == before
    return exc.value.errors


def kinds(consultation) -> list[str]:
    return list(ConsultationEvent.objects.filter(consultation=consultation).values_list("kind", flat=True))


def test_ask_the_centre_claim_draft_sign_confirm(net, township_doctor, expert, villager):
    county = f.actor(expert)
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    assert consultation.number.startswith("HZ") and consultation.status == Status.REQUESTED
    assert consultation.to_institution_id == net.county.pk  # the centre is the lead institution
    assert decide(county, villager.pk) is None  # no grant before an expert holds it

    consultation = a.do_claim(county, consultation.pk)
    assert (consultation.status, consultation.expert_id) == (Status.ASSIGNED, expert.staff_id)
    panel = ConsultationExpert.objects.get(consultation=consultation)
    grant = Grant.objects.get(pk=panel.grant_id)
    assert (grant.kind, grant.to_staff_id, grant.scope, grant.patient_id) == (
        GrantKind.CONSULTATION, expert.staff_id, "all", villager.pk)
    assert decide(county, villager.pk).grant_id == grant.pk

    draft = a.do_write_opinion(county, consultation.pk, "考虑急性下壁心肌梗死", "建议立即转诊行急诊PCI")
    again = a.do_write_opinion(county, consultation.pk, "急性下壁ST段抬高型心肌梗死", "立即转诊行急诊PCI")
    assert again.pk == draft.pk and again.version == 1 and again.opinion.startswith("急性下壁ST")
    signed = a.do_sign(county, consultation.pk)
    assert signed.signed_at is not None
    grant.refresh_from_db()
    assert abs(grant.valid_to - (signed.signed_at + timedelta(days=a.GRANT_DAYS))) < timedelta(seconds=1)
    # A signed opinion cannot be changed or signed twice.
    assert "status" in refused(a.do_write_opinion, county, consultation.pk, "改一下")
    assert "status" in refused(a.do_sign, county, consultation.pk)
    consultation = a.do_confirm(f.actor(township_doctor), consultation.pk)
    assert consultation.status == Status.CONFIRMED and consultation.confirmed_at
    assert kinds(consultation) == ["requested", "claimed", "drafted", "draft_updated", "signed", "confirmed"]
    rows = AuditEvent.objects.filter(object_type="consultation", object_id=str(consultation.pk))
    assert rows.count() == 6 and {r.patient_id for r in rows} == {villager.pk}
    claimed = rows.get(reason="claimed")
    assert (claimed.basis, claimed.grant_id) == ("grant", grant.pk)


def test_an_amendment_is_a_new_version_that_keeps_the_original(net, township_doctor, expert, villager):
    county = f.actor(expert)
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    a.do_claim(county, consultation.pk)
    a.do_write_opinion(county, consultation.pk, "原意见", "原建议")
    first = a.do_sign(county, consultation.pk)
    a.do_confirm(f.actor(township_doctor), consultation.pk)
    errors = refused(a.do_amend, county, consultation.pk, "", "", "")
    assert set(errors) == {"opinion", "reason"}
    amended = a.do_amend(county, consultation.pk, "更正后的意见", "更正后的建议", "补充了心肌酶结果")
    assert (amended.version, amended.amends_id, amended.signed_at is not None) == (2, first.pk, True)
    first.refresh_from_db()
    assert (first.opinion, first.recommendation) == ("原意见", "原建议")  # untouched
    consultation.refresh_from_db()
    assert consultation.status == Status.SIGNED  # the requester confirms the amended opinion again
    assert consultation.signed_at == first.signed_at  # the first signature stays the one indicators use
    assert a.do_confirm(f.actor(township_doctor), consultation.pk).status == Status.CONFIRMED
    assert Opinion.objects.filter(consultation=consultation).count() == 2


def test_only_the_lead_expert_writes_and_signs(net, township_doctor, expert, expert2, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager, mdt=True))
    lead = f.actor(expert)
    a.do_claim(lead, consultation.pk)
    a.do_add_expert(lead, consultation.pk, expert2.staff_id, net.county.pk)
    member = f.actor(expert2)
    assert set(refused(a.do_write_opinion, member, consultation.pk, "我来写")) == {"role"}
    with pytest.raises(Http404):  # the requester is not on the panel
        a.do_write_opinion(f.actor(township_doctor), consultation.pk, "我来写")


def test_mdt_panel_contributions_and_one_conclusion(net, township_doctor, expert, expert2, partner_expert,
                                                    villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager, mdt=True, **video()))
    lead = f.actor(expert)
    a.do_claim(lead, consultation.pk)
    errors = refused(a.do_add_expert, lead, consultation.pk, expert.staff_id, net.county.pk)
    assert set(errors) == {"staff_id"}  # already on the panel (the lead)
    errors = refused(a.do_add_expert, lead, consultation.pk, township_doctor.staff_id, net.township.pk)
    assert set(errors) == {"staff_id"}  # the requesting institution is no expert's
    a.do_add_expert(lead, consultation.pk, expert2.staff_id, net.county.pk)
    a.do_add_expert(lead, consultation.pk, partner_expert.staff_id, partner_expert.institution_id)
    assert decide(f.actor(partner_expert), villager.pk).grant_id  # each expert of the panel holds a grant
    a.do_write_opinion(lead, consultation.pk, "综合意见：先药物治疗，择期冠脉造影", "两周后复诊")
    assert set(refused(a.do_sign, lead, consultation.pk)) == {"contributions"}
    assert set(refused(a.do_contribute, f.actor(expert2), consultation.pk, " ")) == {"text"}
    a.do_contribute(f.actor(expert2), consultation.pk, "心内科：建议双抗+他汀")
    a.do_contribute(f.actor(partner_expert), consultation.pk, "影像：冠脉CTA示前降支中度狭窄")
    a.do_sign(lead, consultation.pk)
    assert "status" in refused(a.do_contribute, f.actor(expert2), consultation.pk, "迟到的意见")
    panel = ConsultationExpert.objects.filter(consultation=consultation)
    assert panel.count() == 3 and panel.filter(contributed_at__isnull=False).count() == 2
    assert Opinion.objects.filter(consultation=consultation).count() == 1  # one conclusion


def test_a_plain_consultation_has_no_panel(net, township_doctor, expert, expert2, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    a.do_claim(f.actor(expert), consultation.pk)
    errors = refused(a.do_add_expert, f.actor(expert), consultation.pk, expert2.staff_id, net.county.pk)
    assert set(errors) == {"mdt"}
    assert set(refused(a.do_contribute, f.actor(expert), consultation.pk, "意见")) == {"mdt"}


def test_the_centre_assigns_and_reassigns_revoking_the_previous_grant(net, township_doctor, centre_desk, expert,
                                                                      partner_expert, villager):
    desk = f.actor(centre_desk)
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    errors = refused(a.do_assign, desk, consultation.pk, township_doctor.staff_id, net.township.pk)
    assert set(errors) == {"staff_id"}
    consultation = a.do_assign(desk, consultation.pk, expert.staff_id, net.county.pk)
    first = ConsultationExpert.objects.get(consultation=consultation, left_at__isnull=True)
    assert consultation.status == Status.ASSIGNED and decide(f.actor(expert), villager.pk)
    assert "status" in refused(a.do_claim, f.actor(expert), consultation.pk)  # already held
    # A desk that saw nobody holding it does not take it from the expert who holds it now.
    errors = refused(a.do_assign, desk, consultation.pk, partner_expert.staff_id, partner_expert.institution_id)
    assert set(errors) == {"status"}
    consultation = a.do_assign(desk, consultation.pk, partner_expert.staff_id, partner_expert.institution_id,
                               replacing=expert.staff_id)
    assert (consultation.expert_id, consultation.expert_institution_id) == (
        partner_expert.staff_id, partner_expert.institution_id)
    assert Grant.objects.get(pk=first.grant_id).revoked_at is not None
    assert decide(f.actor(expert), villager.pk) is None
    with pytest.raises(Http404):
        a.consultation_for(f.actor(expert), consultation.pk)
    assert a.consultation_for(f.actor(partner_expert), consultation.pk)[0].pk == consultation.pk
    # Once the opinion is drafted the desk no longer reassigns.
    a.do_write_opinion(f.actor(partner_expert), consultation.pk, "意见")
    assert "status" in refused(a.do_assign, desk, consultation.pk, expert.staff_id, net.county.pk,
                               replacing=partner_expert.staff_id)
    assert kinds(consultation) == ["requested", "assigned", "assigned", "drafted"]


def test_a_named_expert_or_a_department_takes_their_own_requests(net, township_doctor, expert, expert2,
                                                                 partner_expert, villager):
    doctor = f.actor(township_doctor)
    named = a.do_request(doctor, ask(villager, target="expert", to_institution_id=partner_expert.institution_id,
                                     to_staff_id=partner_expert.staff_id))
    with pytest.raises(Http404):  # not the named expert: not on their worklist
        a.do_claim(f.actor(expert), named.pk)
    assert a.do_claim(f.actor(partner_expert), named.pk).expert_id == partner_expert.staff_id
    department = a.do_request(doctor, ask(villager, target="department", to_institution_id=net.county.pk,
                                          to_department_id=net.department(net.county).pk))
    emergency_doctor = f.make_membership(net.county, Role.DOCTOR,
                                         department=net.county.departments.get(name="急诊科"))
    with pytest.raises(Http404):
        a.do_claim(f.actor(emergency_doctor), department.pk)
    assert a.do_claim(f.actor(expert2), department.pk).expert_id == expert2.staff_id


def test_cancel_revokes_every_grant_at_once(net, township_doctor, expert, expert2, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager, mdt=True))
    a.do_claim(f.actor(expert), consultation.pk)
    a.do_add_expert(f.actor(expert), consultation.pk, expert2.staff_id, net.county.pk)
    assert set(refused(a.do_cancel, f.actor(township_doctor), consultation.pk, "")) == {"reason"}
    with pytest.raises(Http404):  # only the requesting side cancels
        a.do_cancel(f.actor(expert), consultation.pk, "不做了")
    consultation = a.do_cancel(f.actor(township_doctor), consultation.pk, "患者已转上级医院")
    assert consultation.status == Status.CANCELLED
    grants = Grant.objects.filter(source_type="consultation", source_id=consultation.pk)
    assert grants.count() == 2 and not grants.filter(revoked_at__isnull=True).exists()
    for member in (expert, expert2):
        assert decide(f.actor(member), villager.pk) is None
        with pytest.raises(Http404):
            a.do_write_opinion(f.actor(member), consultation.pk, "意见")
    assert a.consultation_for(f.actor(township_doctor), consultation.pk)[0].status == Status.CANCELLED
    assert "status" in refused(a.do_cancel, f.actor(township_doctor), consultation.pk, "再取消一次")


def test_an_expired_grant_answers_404(net, township_doctor, expert, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    a.do_claim(f.actor(expert), consultation.pk)
    f.expire_grant(ConsultationExpert.objects.get(consultation=consultation).grant)
    mark = AuditEvent.objects.count()
    with pytest.raises(Http404):
        a.consultation_for(f.actor(expert), consultation.pk, action="read")
    row = AuditEvent.objects.order_by("pk")[mark:].get()
    assert (row.outcome, row.patient_id) == ("denied", villager.pk)


def test_bad_requests_name_every_field_and_save_nothing(net, township_doctor, expert, villager, registrar):
    doctor = f.actor(township_doctor)
    errors = refused(a.do_request, doctor, ask(
        villager, target="moon", mode="telepathy", urgency="now", question="", summary="x" * 4001, consent=False,
        shared=[{"type": "encounter", "id": 10**9}]))
    assert set(errors) == {"target", "mode", "urgency", "question", "summary", "consent", "shared"}
    errors = refused(a.do_request, doctor, ask(villager, **video(session_start=timezone.now() - timedelta(hours=1),
                                                                 session_minutes=5)))
    assert set(errors) == {"session_start", "session_minutes"}
    naive = video(session_start=timezone.now().replace(tzinfo=None) + timedelta(days=1))
    assert set(refused(a.do_request, doctor, ask(villager, **naive))) == {"session_start"}
    errors = refused(a.do_request, doctor, ask(villager, session_start=timezone.now() + timedelta(days=1)))
    assert set(errors) == {"session_start"}  # asynchronous: no session
    errors = refused(a.do_request, doctor, ask(villager, target="department", to_institution_id=net.village.pk))
    assert set(errors) == {"to_institution_id"}  # a village clinic has no experts
    errors = refused(a.do_request, doctor, ask(villager, target="department", to_institution_id=net.county.pk,
                                               to_department_id=net.department(net.township).pk))
    assert set(errors) == {"to_department_id"}
    errors = refused(a.do_request, doctor, ask(villager, target="expert", to_institution_id=net.county.pk,
                                               to_staff_id=registrar.staff_id))
    assert set(errors) == {"to_staff_id"}  # a registrar is not an expert
    errors = refused(a.do_request, doctor, ask(villager, to_staff_id=expert.staff_id))
    assert set(errors) == {"target"}  # the centre chooses its expert itself
    county_doctor = f.actor(expert)
    f.grant(villager, to_institution=net.county)
    errors = refused(a.do_request, county_doctor, ask(villager))
    assert set(errors) == {"target"}  # the county hospital is the centre: it asks a department or an expert
    nurse = f.actor(f.make_membership(net.township, Role.NURSE))
    assert set(refused(a.do_request, nurse, ask(villager))) == {"role"}
    stranger = f.register_patient(registrar)  # registered at the county: the township may not see them
    with pytest.raises(Http404):
        a.do_request(doctor, ask(stranger))
    assert not Consultation.objects.exists()


def test_claims_need_a_doctor_and_an_existing_request(net, township_doctor, centre_desk, expert, villager):
    consultation = a.do_request(f.actor(township_doctor), ask(villager))
    assert set(refused(a.do_claim, f.actor(centre_desk), consultation.pk)) == {"role"}
    for missing in (10**9, 2**70, -1, "x"):
        with pytest.raises(Http404):
            a.do_claim(f.actor(expert), missing)
    assert AuditEvent.objects.filter(object_type="consultation", outcome="denied").count() == 4


def test_partner_hospitals_are_registered_once_by_the_system_administrator(net, partner, sysadmin, expert):
    assert PartnerInstitution.objects.get().institution_id == partner.pk
    assert centre_of(net.consortium.pk).pk == net.county.pk  # a partner is never the centre
    errors = refused(o.do_register_partner, f.actor(sysadmin), partner.pk, timezone.localdate())
    assert set(errors) == {"institution_id"}
    errors = refused(o.do_register_partner, f.actor(sysadmin), net.township.pk, timezone.localdate())
    assert set(errors) == {"institution_id"}
    assert set(refused(o.do_register_partner, f.actor(expert), net.county.pk, timezone.localdate())) == {"role"}


def operation(patient, expert, operator, **overrides) -> o.NewGuidedOperation:
    data = {"patient_id": patient.pk, "procedure": "腹腔镜胆囊切除术", "performed_on": timezone.localdate(),
            "mode": "remote", "expert_staff_id": expert.staff_id, "expert_institution_id": expert.institution_id,
            "operator_staff_id": operator.staff_id, "outcome": "completed"}
    data.update(overrides)
    return o.NewGuidedOperation(**data)


def test_record_a_guided_operation(net, township_doctor, expert, partner_expert, villager):
    doctor = f.actor(township_doctor)
    consultation = a.do_request(doctor, ask(villager))
    done = o.do_record_guided_operation(doctor, operation(villager, partner_expert, township_doctor,
                                                          consultation_id=consultation.pk, notes="术中出血少"))
    assert (done.institution_id, done.expert_id, done.operator_id, done.consultation_id) == (
        net.township.pk, partner_expert.staff_id, township_doctor.staff_id, consultation.pk)
    assert "guided_operation" in kinds(consultation)
    row = AuditEvent.objects.get(object_type="guided-operation")
    assert (row.action, row.patient_id, row.basis) == ("create", villager.pk, "care")
    errors = refused(o.do_record_guided_operation, doctor, operation(
        villager, township_doctor, expert, procedure="", performed_on=timezone.localdate() + timedelta(days=1),
        mode="telepathic", outcome="fine", notes="x" * 1001, consultation_id=10**9, department_id=10**9))
    assert set(errors) == {"procedure", "performed_on", "mode", "outcome", "notes", "expert_staff_id",
                           "operator_staff_id", "consultation_id", "department_id"}
    assert GuidedOperation.objects.count() == 1
