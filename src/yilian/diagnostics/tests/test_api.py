"""The diagnostic-centre endpoints: multipart submission (422 naming the field for bad fields and for a file
that is not what it claims, nothing stored), the worklist, reading, signing once, amending, critical values,
a stored file, a patient's reports, the statistics; 404 for what the institution may not see."""

from pathlib import Path

from yilian.access.models import AuditEvent
from yilian.diagnostics.models import Study
from yilian.diagnostics.tests.conftest import PNG, ct_series, read_and_sign, stored_files, submit_ct, upload
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import api_errors

BASE = "/api/v1/diagnostics"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def form(centre, patient, encounter, **overrides) -> dict:
    data = {"patient_id": patient.pk, "centre_id": centre.pk, "exam_type": "CT-HEAD", "encounter_id": encounter.pk,
            "priority": "stat", "clinical_info": "突发意识障碍"}
    data.update(overrides)
    return data


def test_submit_read_sign_amend(client_as, net, centres, township_doctor, radiologist, villager, visit, studies_dir):
    township, county = client_as(township_doctor), client_as(radiologist)
    listed = township.get(f"{BASE}/centres")
    assert listed.status_code == 200 and {c["kind"] for c in listed.json()} == {"imaging", "ecg", "pathology", "lab"}
    types = township.get(f"{BASE}/exam-types", {"kind": "imaging"})
    assert "CT-HEAD" in [t["code"] for t in types.json()] and all(t["findings"] for t in types.json())
    sent = township.post(f"{BASE}/studies", {**form(centres["imaging"], villager, visit), "files": ct_series(2)})
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert (body["priority"], body["modality"], body["image_count"], body["kind"]) == ("stat", "CT", 2, "imaging")
    study_id = body["id"]
    assert [s["id"] for s in township.get(f"{BASE}/studies", {"status": "open"}).json()] == [study_id]

    work = county.get(f"{BASE}/centres/{centres['imaging'].pk}/worklist")
    assert work.status_code == 200 and [s["id"] for s in work.json()] == [study_id]
    assert township.get(f"{BASE}/centres/{centres['imaging'].pk}/worklist").status_code == 404
    assert post(county, f"{BASE}/studies/{study_id}/claim").json()["status"] == "reading"
    resp = post(county, f"{BASE}/studies/{study_id}/draft", {"findings": "x" * 8001})
    assert resp.status_code == 422 and "findings" in api_errors(resp)
    resp = post(county, f"{BASE}/studies/{study_id}/draft", {"findings": "右侧颞叶见高密度影。", "impression": "脑出血。"})
    assert resp.status_code == 200 and resp.json()["status"] == "draft"
    signed = post(county, f"{BASE}/studies/{study_id}/sign")
    assert signed.status_code == 200 and signed.json()["status"] == "signed" and signed.json()["signed_at"]
    again = post(county, f"{BASE}/studies/{study_id}/sign")
    assert again.status_code == 422 and "status" in api_errors(again)
    amended = post(county, f"{BASE}/studies/{study_id}/amend", {"reason": "补充：脑室受压"})
    assert amended.status_code == 201 and (amended.json()["version"], amended.json()["amends_version"]) == (2, 1)

    mark = AuditEvent.objects.count()
    detail = township.get(f"{BASE}/studies/{study_id}")
    assert detail.status_code == 200
    assert [r["version"] for r in detail.json()["reports"]] == [1]  # the requesting side: signed versions only
    assert [r["version"] for r in county.get(f"{BASE}/studies/{study_id}").json()["reports"]] == [1, 2]
    row = AuditEvent.objects.order_by("pk")[mark:].first()
    assert (row.patient_id, row.object_type, row.action, row.basis) == (villager.pk, "study", "read", "care")
    file_id = detail.json()["files"][0]["id"]
    download = township.get(f"{BASE}/studies/{study_id}/files/{file_id}")
    content = b"".join(download.streaming_content)
    assert download.status_code == 200 and content[128:132] == b"DICM"
    assert download["Content-Type"] == "application/dicom"
    record = township.get(f"{BASE}/reports", {"patient_id": villager.pk})
    assert record.status_code == 200 and [s["id"] for s in record.json()] == [study_id]


def test_bad_input_422_and_nothing_stored(client_as, net, centres, township_doctor, villager, visit, studies_dir):
    township = client_as(township_doctor, language="en")
    resp = township.post(f"{BASE}/studies", {**form(centres["imaging"], villager, visit, priority="asap",
                                                    exam_type="NOPE"), "files": ct_series(1)})
    assert resp.status_code == 422 and "priority" in api_errors(resp)
    resp = township.post(f"{BASE}/studies", {**form(centres["imaging"], villager, visit, exam_type="ECG-12"),
                                            "files": ct_series(1)})
    assert resp.status_code == 422 and set(api_errors(resp)) == {"exam_type"}
    resp = township.post(f"{BASE}/studies", {**form(centres["imaging"], villager, visit),
                                            "files": [upload("IM1.dcm", PNG, "application/dicom")]})
    errors = api_errors(resp)
    assert resp.status_code == 422 and "claims to be DICOM" in errors["files.0"]
    resp = township.post(f"{BASE}/studies", form(centres["imaging"], villager, visit))
    assert resp.status_code == 422 and "files" in api_errors(resp)
    assert not Study.objects.exists() and stored_files(Path(studies_dir)) == []


def test_critical_values_and_outsiders(client_as, net, centres, township_doctor, radiologist, villager, visit):
    study = submit_ct(township_doctor, centres, villager, visit)
    township, county = client_as(township_doctor), client_as(radiologist)
    post(county, f"{BASE}/studies/{study.pk}/claim")
    flagged = post(county, f"{BASE}/studies/{study.pk}/critical", {"description": "急性颅内出血"})
    assert flagged.status_code == 201
    critical_id = flagged.json()["id"]
    waiting = township.get(f"{BASE}/critical")
    assert [c["id"] for c in waiting.json()] == [critical_id]
    resp = post(township, f"{BASE}/critical/{critical_id}/acknowledge", {"note": ""})
    assert resp.status_code == 422 and "note" in api_errors(resp)
    acked = post(township, f"{BASE}/critical/{critical_id}/acknowledge", {"note": "已复读，立即处置"})
    assert acked.status_code == 200 and acked.json()["acknowledged_by_id"] == township_doctor.staff_id
    assert township.get(f"{BASE}/critical").json() == []
    assert [c["id"] for c in township.get(f"{BASE}/critical", {"state": "all"}).json()] == [critical_id]

    outsider = client_as(f.make_membership(net.village, Role.DOCTOR))
    for url in (f"{BASE}/studies/{study.pk}", f"{BASE}/studies/{study.pk}/files/1"):
        resp = outsider.get(url)
        assert resp.status_code == 404 and f.leaked(resp.content, villager) == []
    assert post(outsider, f"{BASE}/studies/{study.pk}/claim").status_code == 404
    assert post(outsider, f"{BASE}/critical/{critical_id}/acknowledge", {"note": "收到"}).status_code == 404
    assert outsider.get(f"{BASE}/reports", {"patient_id": villager.pk}).status_code == 404
    nurse = client_as(f.make_membership(net.township, Role.NURSE))
    assert nurse.post(f"{BASE}/studies", form(centres["imaging"], villager, visit)).status_code == 403


def test_statistics_for_the_manager(client_as, net, centres, township_doctor, radiologist, villager, visit):
    read_and_sign(radiologist, submit_ct(township_doctor, centres, villager, visit))
    manager = client_as(f.make_membership(net.county, Role.MANAGER))
    resp = manager.get(f"{BASE}/statistics")
    assert resp.status_code == 200 and resp.json()["remote_diagnoses"] == 1
    assert resp.json()["turnaround_by_exam_type"][0]["exam_type"] == "CT-HEAD"
    assert f.leaked(resp.content, villager) == []
    resp = manager.get(f"{BASE}/statistics", {"start": "2026-02-01", "end": "2026-01-01"})
    assert resp.status_code == 422 and "end" in api_errors(resp)
    assert client_as(f.make_membership(net.county, Role.TECHNICIAN)).get(f"{BASE}/statistics").status_code == 403
