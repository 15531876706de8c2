"""Diagnostic centres: submit (files checked, stored only on success, the grant to the centre), the
worklist's order, claim, draft, sign once, amend with the original kept, specimens from collection to
receipt or rejection, critical values pushed, acknowledged by name and escalated after 15 minutes."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.http import Http404
from django.utils import timezone

from yilian.access.gate import decide
from yilian.access.models import AuditEvent
from yilian.diagnostics import actions as a
from yilian.diagnostics import queries
from yilian.diagnostics.models import (
    Centre,
    CriticalValue,
    Priority,
    Report,
    ReportStatus,
    Status,
    Study,
    StudyEvent,
    StudyFile,
)
from yilian.diagnostics.tests.conftest import (
    PDF,
    PNG,
    ct_series,
    dicom,
    new_study,
    read_and_sign,
    stored_files,
    submit_ct,
    upload,
)
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.models import Department
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

COUNTED = ("diagnostics.Study", "diagnostics.StudyFile", "diagnostics.StudyEvent", "diagnostics.Report",
           "diagnostics.CriticalValue", "access.Grant")


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*COUNTED)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*COUNTED) == before
    return exc.value.errors


def test_submit_a_ct_study_stores_metadata_files_and_grants_the_centre(
        net, centres, township_doctor, radiologist, villager, visit, studies_dir):
    county = f.actor(radiologist)
    assert decide(county, villager.pk) is None
    mark = AuditEvent.objects.count()
    study = submit_ct(township_doctor, centres, villager, visit, n=3)
    assert study.number.startswith("YX") and study.status == Status.SUBMITTED
    assert (study.modality, study.body_part, study.image_count) == ("CT", "HEAD", 3)
    assert study.study_date.isoformat() == "2026-11-20" and study.study_uid
    assert (study.requesting_institution_id, study.encounter_id) == (net.township.pk, visit.pk)
    files = list(StudyFile.objects.filter(study=study))
    assert len(files) == 3 and len({f.sop_instance_uid for f in files}) == 3
    for stored in files:
        path = Path(studies_dir) / stored.path
        assert path.is_file() and path.stat().st_size == stored.size and stored.path.endswith(".dcm")
        assert study.number in stored.path and stored.name.startswith("IM")
    assert not list((Path(studies_dir) / ".incoming").iterdir())  # nothing left behind
    grant = a.grants_of(study).get()
    assert (grant.kind, grant.to_institution_id, grant.reason) == ("diagnostic", net.county.pk, study.number)
    assert decide(county, villager.pk).grant_id == grant.pk
    assert list(study.events.values_list("kind", flat=True)) == ["submitted"]
    rows = AuditEvent.objects.order_by("pk")[mark:]
    assert [(r.object_type, r.action) for r in rows] == [("grant", "create"), ("study", "create")]


@pytest.mark.parametrize("files, field, words", [
    ([upload("IM0001.dcm", PNG, "application/dicom")], "files.0", "claims to be DICOM but its content is PNG"),
    ([upload("IM0001.dcm", b"not a dicom file at all" * 20)], "files.0", "not a recognised file"),
    ([upload("report.pdf", PDF, "application/pdf")], "files.0", "this centre accepts DICOM"),
    ([upload("IM0001.dcm", dicom(modality="MR"))], "files.0", "MR image"),
    ([upload("IM0001", dicom()[:400])], "files.0", "not a readable DICOM file"),
    ([upload("IM0001.dcm", b"")], "files.0", "is empty"),
    ([upload("a.dcm", dicom()), upload("b.dcm", dicom())], "files", "2 different studies"),
])
def test_a_file_that_is_not_what_it_claims_is_refused_and_not_stored(
        net, centres, township_doctor, villager, visit, studies_dir, files, field, words):
    errors = refused(a.do_submit, f.actor(township_doctor), new_study(centres["imaging"], villager, visit), files)
    assert set(errors) == {field} and words in errors[field], errors
    assert stored_files(Path(studies_dir)) == []


def test_a_file_over_the_limit_is_refused_and_not_stored(settings, net, centres, township_doctor, villager, visit,
                                                         studies_dir):
    settings.YILIAN_STUDY_FILE_MAX_MB = 1
    big = dicom() + bytes(1024 * 1024)  # trailing bytes: still DICOM by its head, but over 1 MB
    errors = refused(a.do_submit, f.actor(township_doctor), new_study(centres["imaging"], villager, visit),
                     [upload("IM0001.dcm", dicom()), upload("IM0002.dcm", big)])
    assert "larger than the limit of 1 MB" in errors["files.1"]
    assert stored_files(Path(studies_dir)) == []


def test_the_same_instance_twice_and_the_same_study_again(net, centres, township_doctor, radiologist, villager,
                                                          visit):
    doctor, centre = f.actor(township_doctor), centres["imaging"]
    one = dicom()
    errors = refused(a.do_submit, doctor, new_study(centre, villager, visit),
                     [upload("a.dcm", one), upload("b.dcm", one)])
    assert "attached twice" in errors["files"]
    series = ct_series(2)
    first = a.do_submit(doctor, new_study(centre, villager, visit), series)
    for item in series:
        item.seek(0)
    errors = refused(a.do_submit, doctor, new_study(centre, villager, visit), series)
    assert first.number in errors["files"]
    a.do_reject(f.actor(radiologist), first.pk, "图像伪影，请重新上传")
    for item in series:
        item.seek(0)
    again = a.do_submit(doctor, new_study(centre, villager, visit), series)  # a rejected study frees its UID
    assert again.study_uid == first.study_uid


def test_a_failure_inside_the_transaction_leaves_no_file(monkeypatch, net, centres, township_doctor, villager, visit,
                                                         studies_dir):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(a, "_audit", broken)
    before = row_counts(*COUNTED)
    with pytest.raises(RuntimeError):
        submit_ct(township_doctor, centres, villager, visit)
    assert row_counts(*COUNTED) == before and stored_files(Path(studies_dir)) == []


def test_bad_fields_are_named_together(net, centres, township_doctor, villager, visit, owner, patient):
    doctor = f.actor(township_doctor)
    county_visit = f.open_encounter(owner, patient)
    f.grant(patient, to_institution=net.township)
    errors = refused(a.do_submit, doctor, new_study(centres["imaging"], patient, county_visit, exam_type="ECG-12",
                                                    priority=7), ct_series(1))
    assert set(errors) == {"exam_type", "priority", "encounter_id"}
    errors = refused(a.do_submit, doctor, new_study(centres["ecg"], villager, visit), [])
    assert set(errors) == {"files"}
    errors = refused(a.do_submit, doctor, new_study(centres["lab"], villager, visit, specimen_barcode="x",
                                                    collected_at=None), [upload("r.pdf", PDF)])
    assert set(errors) == {"files", "specimen_barcode", "collected_at"}
    errors = refused(a.do_submit, doctor, new_study(centres["pathology"], villager, visit, specimen_site="",
                                                    specimen_count=0), [])
    assert set(errors) == {"specimen_site", "specimen_count"}


def test_a_centre_serves_only_its_members_and_sits_at_a_lead_institution(net, villager):
    centre = a.do_set_up_centre(SYSTEM, institution_id=net.county.pk, kind="ecg", name="心电中心",
                                serves=[net.township.pk])
    village_doctor = f.make_membership(net.village, Role.DOCTOR)
    f.grant(villager, to_institution=net.village)
    village_visit = f.open_encounter(village_doctor, villager)
    errors = refused(a.do_submit, f.actor(village_doctor), new_study(centre, villager, village_visit),
                     [upload("ecg.pdf", PDF)])
    assert set(errors) == {"centre_id"}
    with pytest.raises(ActionError) as exc:
        a.do_set_up_centre(SYSTEM, institution_id=net.township.pk, kind="lab", name="检验", serves=[net.village.pk])
    assert set(exc.value.errors) == {"institution_id"}
    with pytest.raises(ActionError) as exc:
        a.do_set_up_centre(SYSTEM, institution_id=net.county.pk, kind="ecg", name="又一个")
    assert set(exc.value.errors) == {"kind"}
    with pytest.raises(ActionError):
        a.do_set_up_centre(f.actor(f.make_membership(net.county, Role.DOCTOR)), institution_id=net.county.pk,
                           kind="lab", name="检验")


def test_an_outsider_cannot_submit_for_a_patient_they_may_not_see(net, centres, owner, patient, encounter):
    stranger = f.make_membership(net.village, Role.DOCTOR)
    with pytest.raises(Http404):
        a.do_submit(f.actor(stranger), new_study(centres["imaging"], patient, encounter), ct_series(1))
    assert not Study.objects.exists()


def test_the_worklist_is_by_priority_then_waiting_time(net, centres, township_doctor, radiologist, villager, visit):
    routine_old = submit_ct(township_doctor, centres, villager, visit, n=1, priority=Priority.ROUTINE)
    routine_new = submit_ct(township_doctor, centres, villager, visit, n=1, priority=Priority.ROUTINE)
    stat = submit_ct(township_doctor, centres, villager, visit, n=1, priority=Priority.STAT)
    urgent = submit_ct(township_doctor, centres, villager, visit, n=1, priority=Priority.URGENT)
    done = submit_ct(township_doctor, centres, villager, visit, n=1, priority=Priority.STAT)
    now = timezone.now()
    Study.objects.filter(pk=routine_old.pk).update(submitted_at=now - timedelta(hours=3))
    read_and_sign(radiologist, done)
    rows = queries.worklist(f.actor(radiologist), centres["imaging"])
    assert [s.pk for s in rows] == [stat.pk, urgent.pk, routine_old.pk, routine_new.pk]
    assert queries.worklist_counts(centres["imaging"]) == {Priority.STAT: 1, Priority.URGENT: 1, Priority.ROUTINE: 2}
    assert queries.worklist(f.actor(f.make_membership(net.village, Role.DOCTOR)), centres["imaging"]) == []


def test_claim_one_reader_at_a_time_release(net, centres, township_doctor, radiologist, second_radiologist,
                                            villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    first, second = f.actor(radiologist), f.actor(second_radiologist)
    assert a.do_claim(first, study.pk).status == Status.READING
    assert a.do_claim(first, study.pk).reader_id == radiologist.staff_id  # again: a no-op
    errors = refused(a.do_claim, second, study.pk)
    assert "is reading this study" in errors["status"]
    refused(a.do_save_draft, second, study.pk, "x", "y")
    a.do_release(first, study.pk)
    assert a.do_claim(second, study.pk).reader_id == second_radiologist.staff_id
    assert refused(a.do_claim, f.actor(f.make_membership(net.county, Role.TECHNICIAN)), study.pk) == {
        "role": refused(a.do_claim, f.actor(f.make_membership(net.county, Role.NURSE)), study.pk)["role"]}


def test_only_the_reading_department_reads_when_the_centre_names_one(net, township_doctor, radiologist, villager,
                                                                     visit):
    radiology = Department.objects.create(institution=net.county, subject_code="32", name="放射科")
    centre = a.do_set_up_centre(SYSTEM, institution_id=net.county.pk, kind="imaging", name="影像中心",
                                department_id=radiology.pk)
    study = a.do_submit(f.actor(township_doctor), new_study(centre, villager, visit), ct_series(1))
    assert "role" in refused(a.do_claim, f.actor(radiologist), study.pk)  # internal medicine, not radiology
    reader = f.make_membership(net.county, Role.DOCTOR, department=radiology)
    assert a.do_claim(f.actor(reader), study.pk).status == Status.READING


def test_draft_sign_once_amend_keeps_the_original(net, centres, township_doctor, radiologist, second_radiologist,
                                                  villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    reader = f.actor(radiologist)
    a.do_claim(reader, study.pk)
    assert set(refused(a.do_sign, reader, study.pk)) == {"findings"}
    a.do_save_draft(reader, study.pk, "左侧基底节区见斑片状高密度影。", "")
    assert set(refused(a.do_sign, reader, study.pk)) == {"impression"}
    a.do_save_draft(reader, study.pk, "左侧基底节区见斑片状高密度影，约 2.1×1.5 cm。", "左侧基底节区脑出血。")
    signed = a.do_sign(reader, study.pk)
    assert (signed.version, signed.status, signed.signed_by_id) == (1, ReportStatus.SIGNED, radiologist.staff_id)
    study.refresh_from_db()
    assert study.status == Status.SIGNED and study.signed_at == signed.signed_at
    grant = a.grants_of(study).get()
    assert grant.valid_to == study.signed_at + timedelta(days=a.GRANT_DAYS)
    assert "already been signed" in refused(a.do_sign, reader, study.pk)["status"]
    assert "open an amendment" in refused(a.do_save_draft, reader, study.pk, "改", "改")["status"]

    other = f.actor(second_radiologist)
    assert set(refused(a.do_amend, other, study.pk, "")) == {"reason"}
    draft = a.do_amend(other, study.pk, "补充：中线结构右移 0.5 cm")
    assert (draft.version, draft.status, draft.amends_id) == (2, ReportStatus.DRAFT, signed.pk)
    assert draft.findings == signed.findings
    assert "already open" in refused(a.do_amend, reader, study.pk, "再改")["status"]
    a.do_save_draft(other, study.pk, signed.findings + "中线结构右移约 0.5 cm。", "左侧基底节区脑出血，中线右移。")
    amended = a.do_sign(other, study.pk)
    assert amended.version == 2
    original = Report.objects.get(pk=signed.pk)
    assert (original.status, original.findings, original.impression) == (
        ReportStatus.SIGNED, "左侧基底节区见斑片状高密度影，约 2.1×1.5 cm。", "左侧基底节区脑出血。")
    study.refresh_from_db()
    assert study.amended_at == amended.signed_at and study.signed_at == signed.signed_at
    assert [s.version for s in queries.signed_reports(study)] == [1, 2]
    kinds = list(StudyEvent.objects.filter(study=study).values_list("kind", flat=True))
    assert kinds == ["submitted", "claimed", "drafted", "drafted", "signed", "amendment_opened", "drafted", "amended"]
    # The requesting side reads the report as part of its own record of the visit.
    found, decision = a.study_for(f.actor(township_doctor), study.pk, side="requester", action="read")
    assert found.encounter_id == visit.pk and decision.basis == "care"


def test_a_lab_specimen_from_collection_to_report(net, centres, township_doctor, township_nurse, lab_tech, villager,
                                                  visit):
    study = a.do_submit(f.actor(township_doctor), new_study(centres["lab"], villager, visit))
    assert study.number.startswith("JY") and study.collected_at and not study.files.exists()
    tech = f.actor(lab_tech)
    assert "not been received" in refused(a.do_claim, tech, study.pk)["status"]
    with pytest.raises(Http404):
        a.do_send_specimen(tech, study.pk)  # the centre does not send
    a.do_send_specimen(f.actor(township_nurse), study.pk)
    assert "moved on" in refused(a.do_send_specimen, f.actor(township_nurse), study.pk)["status"]
    a.do_receive_specimen(tech, study.pk)
    a.do_claim(tech, study.pk)  # in the laboratory the technician (检验师) reports
    a.do_save_draft(tech, study.pk, "K 6.8 mmol/L", "高钾血症")
    a.do_sign(tech, study.pk)
    kinds = list(study.events.values_list("kind", flat=True))
    assert kinds == ["specimen_collected", "submitted", "specimen_sent", "specimen_received", "claimed", "drafted",
                     "signed"]


def test_a_rejected_specimen_ends_the_grant(net, centres, township_doctor, lab_tech, villager, visit):
    study = a.do_submit(f.actor(township_doctor), new_study(centres["lab"], villager, visit))
    tech = f.actor(lab_tech)
    a.do_receive_specimen(tech, study.pk)
    study.refresh_from_db()
    assert study.sent_at == study.received_at  # not marked as sent: taken as sent on receipt
    assert set(refused(a.do_reject, tech, study.pk, "")) == {"reason"}
    a.do_reject(tech, study.pk, "标本溶血")
    study.refresh_from_db()
    assert (study.status, study.close_reason) == (Status.REJECTED, "标本溶血")
    assert a.grants_of(study).get().revoked_at is not None
    assert decide(tech, villager.pk) is None
    with pytest.raises(Http404):
        a.do_claim(tech, study.pk)
    assert StudyEvent.objects.get(study=study, kind="rejected").data == {"reason": "标本溶血", "specimen": True}


def test_cancel_before_reading_only(net, centres, township_doctor, radiologist, villager, visit):
    doctor = f.actor(township_doctor)
    study = submit_ct(township_doctor, centres, villager, visit)
    a.do_claim(f.actor(radiologist), study.pk)
    assert "moved on" in refused(a.do_cancel, doctor, study.pk, "患者拒绝")["status"]
    other = submit_ct(township_doctor, centres, villager, visit)
    with pytest.raises(Http404):
        a.do_cancel(f.actor(radiologist), other.pk, "不是我们的")
    a.do_cancel(doctor, other.pk, "患者已转上级医院")
    other.refresh_from_db()
    assert other.status == Status.CANCELLED and a.grants_of(other).get().revoked_at


def test_critical_value_pushed_acknowledged_by_name_and_escalated(net, centres, township_doctor, township_nurse,
                                                                  radiologist, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    reader = f.actor(radiologist)
    assert "Claim the study" in refused(a.do_flag_critical, reader, study.pk, "急性颅内出血")["status"]
    a.do_claim(reader, study.pk)
    assert set(refused(a.do_flag_critical, reader, study.pk, "x")) == {"description"}
    first = a.do_flag_critical(reader, study.pk, "急性颅内出血")
    second = a.do_flag_critical(reader, study.pk, "脑疝")
    assert first.to_institution_id == net.township.pk and first.flagged_by_id == radiologist.staff_id
    township = f.actor(township_doctor)
    assert [c.pk for c in queries.critical_for_institution(township)] == [second.pk, first.pk]
    assert queries.critical_for_institution(f.actor(radiologist)) == []
    with pytest.raises(Http404):  # the centre does not acknowledge its own notice
        a.do_acknowledge(reader, first.pk, "已收到")
    assert set(refused(a.do_acknowledge, township, first.pk, "")) == {"note"}
    CriticalValue.objects.filter(pk=first.pk).update(flagged_at=timezone.now() - timedelta(minutes=6))
    acked = a.do_acknowledge(township, first.pk, "已复读，通知主管医师，立即转上级医院")
    assert acked.acknowledged_by_id == township_doctor.staff_id
    assert 5.9 <= CriticalValue.objects.get(pk=first.pk).minutes_to_acknowledge <= 6.1
    assert "Already acknowledged" in refused(a.do_acknowledge, f.actor(township_nurse), first.pk, "收到")["status"]

    later = timezone.now() + timedelta(minutes=a.ACK_MINUTES + 1)
    out = io.StringIO()
    call_command("diagnostics", "escalate", stdout=out)
    assert out.getvalue().strip() == "escalated=0"  # nothing overdue yet
    assert a.do_escalate_critical(later) == 1  # the second, never acknowledged
    assert a.do_escalate_critical(later + timedelta(minutes=5)) == 0  # once
    second.refresh_from_db()
    assert second.escalated_at == later
    assert [c.pk for c in queries.escalated(net.consortium.pk)] == [second.pk]
    assert [c.pk for c in queries.unacknowledged_at_centre(reader, centres["imaging"])] == [second.pk]
    a.do_acknowledge(f.actor(township_nurse), second.pk, "已复读并报告值班医生")  # late, still recorded
    assert queries.escalated(net.consortium.pk) == []
    kinds = list(study.events.filter(kind__startswith="critical").order_by("pk").values_list("kind", flat=True))
    assert kinds == ["critical_flagged", "critical_flagged", "critical_acknowledged", "critical_escalated",
                     "critical_acknowledged"]


def test_an_expired_or_revoked_grant_answers_404(net, centres, township_doctor, radiologist, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    read_and_sign(radiologist, study)
    reader = f.actor(radiologist)
    assert a.study_for(reader, study.pk, side="centre", action="read")[1].basis == "grant"
    f.expire_grant(a.grants_of(study).get())  # GRANT_DAYS after signing
    mark = AuditEvent.objects.count()
    with pytest.raises(Http404):
        a.study_for(reader, study.pk, side="centre", action="read", audit_success=True)
    with pytest.raises(Http404):
        a.do_amend(reader, study.pk, "补充")
    assert list(AuditEvent.objects.order_by("pk")[mark:].values_list("outcome", flat=True)) == ["denied", "denied"]
    other = submit_ct(township_doctor, centres, villager, visit)
    f.revoke(a.grants_of(other).get())
    with pytest.raises(Http404):
        a.do_claim(reader, other.pk)
    # The requesting institution keeps the report: it cares for the patient.
    assert a.study_for(f.actor(township_doctor), study.pk, side="requester", action="read")[0].pk == study.pk


def test_setting_up_a_centre_from_the_command_line(net):
    out = io.StringIO()
    call_command("diagnostics", "centre", "--institution", net.county.code, "--kind", "pathology",
                 "--serves", net.township.code, stdout=out)
    centre = Centre.objects.get(kind="pathology")
    assert out.getvalue().startswith(f"centre={centre.pk} serves=1") and centre.name.endswith("病理诊断中心")
    with pytest.raises(CommandError):
        call_command("diagnostics", "centre", "--institution", net.township.code, "--kind", "lab", stdout=out)
