"""The diagnostic-centre pages: the member's submission form (a refused file named beside the field, nothing
stored), the worklist and the reading page (template, claim, sign, amend, critical value), the requesting
side's report and acknowledgement, the patient's reports, the hub, the manager's pages without patients."""

from datetime import timedelta
from pathlib import Path

from django.urls import reverse
from django.utils import timezone

from yilian.diagnostics import actions as a
from yilian.diagnostics.catalogue import exam_type
from yilian.diagnostics.models import CriticalValue, Report, Status, Study
from yilian.diagnostics.tests.conftest import PNG, ct_series, read_and_sign, stored_files, submit_ct, upload
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import contains


def test_submit_from_the_form(client_as, net, centres, township_doctor, villager, visit, studies_dir):
    client = client_as(township_doctor, language="en")
    url = reverse("diagnostics:new", args=[villager.pk])
    page = client.get(url, {"centre": centres["imaging"].pk})
    assert page.status_code == 200 and contains(page, villager.name) and contains(page, "CT-HEAD")
    assert not contains(page, "ECG-12")  # the exams of the chosen centre only
    data = {"centre": centres["imaging"].pk, "exam_type": "CT-HEAD", "priority": 1, "encounter": visit.pk,
            "clinical_info": "头外伤后昏迷", "send": "1"}
    bad = client.post(url, {**data, "files": [upload("IM1.dcm", PNG, "image/png")]})
    assert bad.status_code == 400 and "claims to be DICOM" in str(bad.context["form"].errors["files"])
    assert not Study.objects.exists() and stored_files(Path(studies_dir)) == []
    sent = client.post(url, {**data, "files": ct_series(2)})
    study = Study.objects.get()
    assert sent.status_code == 302 and sent["Location"] == reverse("diagnostics:study", args=[study.pk])
    assert (study.priority, study.image_count, study.encounter_id) == (1, 2, visit.pk)
    mine = client.get(sent["Location"])
    assert contains(mine, study.number) and not contains(mine, 'data-testid="claim"')


def test_read_and_sign_on_the_reading_page(client_as, net, centres, township_doctor, radiologist, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    county = client_as(radiologist)
    worklist = county.get(reverse("diagnostics:worklist", args=[centres["imaging"].pk]))
    assert worklist.status_code == 200 and contains(worklist, study.number) and contains(worklist, villager.name)
    partial = county.get(reverse("diagnostics:worklist", args=[centres["imaging"].pk]), HTTP_HX_REQUEST="true")
    assert contains(partial, study.number) and not contains(partial, "<html")
    page = county.get(reverse("diagnostics:study", args=[study.pk]))
    assert contains(page, 'data-testid="claim"') and not contains(page, 'data-testid="report-form"')
    assert county.post(reverse("diagnostics:step", args=[study.pk, "claim"])).status_code == 302
    page = county.get(reverse("diagnostics:study", args=[study.pk]))
    assert contains(page, 'data-testid="report-form"') and contains(page, exam_type("CT-HEAD").findings)
    step = reverse("diagnostics:step", args=[study.pk, "sign"])
    bad = county.post(step, {"findings": "左侧额叶挫裂伤。", "impression": ""})
    assert bad.status_code == 400 and "impression" in bad.context["draft_form"].errors
    assert county.post(step, {"findings": "左侧额叶挫裂伤。", "impression": "脑挫裂伤。"}).status_code == 302
    study.refresh_from_db()
    assert study.status == Status.SIGNED
    again = county.post(step, follow=True)
    assert [str(m) for m in again.context["messages"]] and Report.objects.filter(study=study).count() == 1
    amend = county.post(reverse("diagnostics:step", args=[study.pk, "amend"]), {"reason": "补充：颅骨骨折"})
    assert amend.status_code == 302
    page = county.get(reverse("diagnostics:study", args=[study.pk]))
    assert contains(page, 'data-testid="report-form"') and contains(page, "补充：颅骨骨折")
    county.post(step, {"findings": "左侧额叶挫裂伤，左额骨线形骨折。", "impression": "脑挫裂伤，颅骨骨折。"})
    page = county.get(reverse("diagnostics:study", args=[study.pk]))
    assert contains(page, 'data-testid="earlier-versions"') and contains(page, "脑挫裂伤，颅骨骨折。")
    assert county.post(reverse("diagnostics:step", args=[study.pk, "explode"])).status_code == 404


def test_the_requesting_side_reads_the_report_and_acknowledges(client_as, net, centres, township_doctor, radiologist,
                                                               villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    reader = f.actor(radiologist)
    a.do_claim(reader, study.pk)
    critical = a.do_flag_critical(reader, study.pk, "急性硬膜外血肿")
    read_and_sign(radiologist, study, impression="左侧急性硬膜外血肿。")
    township = client_as(township_doctor)
    hub = township.get(reverse("diagnostics:index"))
    assert contains(hub, "急性硬膜外血肿") and contains(hub, f'data-testid="acknowledge-{critical.pk}"')
    page = township.get(reverse("diagnostics:study", args=[study.pk]))
    assert contains(page, "左侧急性硬膜外血肿。") and contains(page, 'data-testid="acknowledge"')
    assert not contains(page, 'data-testid="report-form"')
    resp = township.post(reverse("diagnostics:acknowledge", args=[critical.pk]),
                         {"note": "已复读，通知神经外科，准备转诊", "back": str(study.pk)})
    assert resp.status_code == 302 and resp["Location"] == reverse("diagnostics:study", args=[study.pk])
    critical.refresh_from_db()
    assert critical.acknowledged_by_id == township_doctor.staff_id
    record = township.get(reverse("diagnostics:patient", args=[villager.pk]))
    assert contains(record, study.number) and contains(record, "左侧急性硬膜外血肿。")
    assert contains(township.get(reverse("patients:detail", args=[villager.pk])), 'data-testid="diagnostic-reports"')


def test_outsiders_and_the_manager(client_as, net, centres, township_doctor, radiologist, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    a.do_claim(f.actor(radiologist), study.pk)
    critical = a.do_flag_critical(f.actor(radiologist), study.pk, "大面积脑梗死")
    CriticalValue.objects.filter(pk=critical.pk).update(flagged_at=timezone.now() - timedelta(minutes=20))
    assert a.do_escalate_critical() == 1
    outsider = client_as(f.make_membership(net.village, Role.DOCTOR))
    file_id = study.files.first().pk
    for url in (reverse("diagnostics:study", args=[study.pk]), reverse("diagnostics:file", args=[study.pk, file_id]),
                reverse("diagnostics:patient", args=[villager.pk]),
                reverse("diagnostics:worklist", args=[centres["imaging"].pk])):
        resp = outsider.get(url)
        assert resp.status_code == 404 and f.leaked(resp.content, villager) == []
    manager = client_as(f.make_membership(net.county, Role.MANAGER))
    page = manager.get(reverse("diagnostics:escalated"))
    assert page.status_code == 200 and contains(page, study.number) and f.leaked(page.content, villager) == []
    stats = manager.get(reverse("diagnostics:statistics"))
    assert stats.status_code == 200 and f.leaked(stats.content, villager) == []
    hub = manager.get(reverse("diagnostics:index"))
    assert hub.status_code == 200 and contains(hub, reverse("diagnostics:escalated"))
    assert manager.get(reverse("diagnostics:study", args=[study.pk])).status_code == 403
    assert client_as(f.make_membership(net.county, Role.AUDITOR)).get(reverse("diagnostics:index")).status_code == 403
    county = client_as(radiologist)
    worklist = county.get(reverse("diagnostics:worklist", args=[centres["imaging"].pk]))
    assert contains(worklist, 'data-testid="unacknowledged"') and contains(worklist, "大面积脑梗死")
    download = county.get(reverse("diagnostics:file", args=[study.pk, file_id]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[128:132] == b"DICM"


def test_specimen_steps_on_the_pages(client_as, net, centres, township_doctor, township_nurse, lab_tech, villager,
                                     visit):
    from yilian.diagnostics.tests.conftest import new_study

    study = a.do_submit(f.actor(township_doctor), new_study(centres["lab"], villager, visit))
    nurse, tech = client_as(township_nurse), client_as(lab_tech)
    assert contains(nurse.get(reverse("diagnostics:study", args=[study.pk])), 'data-testid="send"')
    nurse.post(reverse("diagnostics:step", args=[study.pk, "send"]))
    assert contains(tech.get(reverse("diagnostics:study", args=[study.pk])), 'data-testid="receive"')
    tech.post(reverse("diagnostics:step", args=[study.pk, "receive"]))
    resp = tech.post(reverse("diagnostics:step", args=[study.pk, "reject"]), {"reason": "标本量不足"})
    assert resp.status_code == 302 and resp["Location"] == reverse("diagnostics:index")
    study.refresh_from_db()
    assert (study.status, study.sent_at is not None, study.received_at is not None) == (Status.REJECTED, True, True)
