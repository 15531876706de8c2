"""The batch form (`diagnostics/batch.py`): whole past studies (metadata only) at their times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.access.models import Grant
from yilian.diagnostics import indicators as ind
from yilian.diagnostics.actions import NewStudy
from yilian.diagnostics.batch import Instance, PastStudy, do_record_studies
from yilian.diagnostics.models import CentreKind, CriticalValue, Report, Status, StudyFile
from yilian.errors import ActionError
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db
UID = "1.2.826.0.1.3680043.10.499.1"


def ct(centres, villager, visit, t0, **overrides) -> PastStudy:
    data = NewStudy(patient_id=villager.pk, centre_id=centres[CentreKind.IMAGING].pk, exam_type="CT-HEAD",
                    encounter_id=visit.pk)
    item = PastStudy(data=data, at=t0, instances=[Instance(UID, f"{UID}.{k}", "CT", "HEAD") for k in (1, 2, 3)])
    for name, value in overrides.items():
        setattr(item, name, value)
    return item


def test_records_a_read_signed_amended_study_with_a_critical_value(centres, township_doctor, villager, visit,
                                                                   radiologist):
    t0 = timezone.now() - timedelta(days=3)
    item = ct(centres, villager, visit, t0, reader=radiologist, claimed_at=t0 + timedelta(minutes=10),
              drafted_at=t0 + timedelta(minutes=25), findings="左侧基底节区高密度影", impression="急性颅内出血",
              signed_at=t0 + timedelta(minutes=30), critical=("急性颅内出血", t0 + timedelta(minutes=20)),
              acknowledged=(township_doctor, t0 + timedelta(minutes=40), "已电话通知患者家属并转诊"),
              escalated_at=t0 + timedelta(minutes=36),
              amendment=(t0 + timedelta(hours=5), "更正出血量", "急性颅内出血（约15 ml）", t0 + timedelta(hours=5, minutes=5)))
    (study,) = do_record_studies(f.actor(township_doctor), [item])
    assert (study.status, study.submitted_at, study.signed_at) == (Status.SIGNED, t0, t0 + timedelta(minutes=30))
    assert (study.study_uid, study.modality, study.image_count) == (UID, "CT", 3)
    assert not StudyFile.objects.exists()  # metadata only
    assert list(Report.objects.filter(study=study).values_list("version", "status", "amends__version")) == [
        (1, "signed", None), (2, "signed", 1)]
    critical = CriticalValue.objects.get(study=study)
    assert critical.minutes_to_acknowledge == 20.0 and critical.escalated_at == t0 + timedelta(minutes=36)
    grant = Grant.objects.get(source_type="study", source_id=study.pk)
    assert grant.valid_to == t0 + timedelta(hours=5, minutes=5, days=30)
    kinds = list(study.events.values_list("kind", flat=True))
    assert kinds[:2] == ["submitted", "claimed"] and "critical_escalated" in kinds and kinds.count("amended") == 1
    from yilian.analytics.registry import Scope
    scope = Scope(start=(t0 - timedelta(days=1)).date(), end=timezone.localdate() + timedelta(days=1))
    assert ind.remote_diagnoses(scope) == 1 and ind.critical_ack_share(scope) == 0


def test_refuses_bad_items_by_index_and_writes_nothing(centres, township_doctor, villager, visit, radiologist,
                                                       lab_tech):
    t0 = timezone.now() - timedelta(days=1)
    actor = f.actor(township_doctor)
    cases = [
        ({"instances": [Instance(UID, f"{UID}.1", "MR")]}, "studies.0.instances.0"),
        ({"reader": lab_tech, "claimed_at": t0 + timedelta(minutes=5)}, "studies.0.reader"),
        ({"reader": radiologist, "claimed_at": t0 - timedelta(minutes=5)}, "studies.0.claimed_at"),
        ({"reader": radiologist, "claimed_at": t0 + timedelta(minutes=5), "drafted_at": t0 + timedelta(minutes=6),
          "signed_at": t0 + timedelta(minutes=7)}, "studies.0.signed_at"),
        ({"instances": []}, "studies.0.files"),
    ]
    for overrides, field in cases:
        with pytest.raises(ActionError) as exc:
            do_record_studies(actor, [ct(centres, villager, visit, t0, **overrides)])
        assert field in exc.value.errors, (field, exc.value.errors)
    assert not Grant.objects.filter(source_type="study").exists()


def test_a_lab_specimen_received_then_rejected(centres, township_doctor, villager, visit, lab_tech):
    t0 = timezone.now() - timedelta(days=2)
    data = NewStudy(patient_id=villager.pk, centre_id=centres[CentreKind.LAB].pk, exam_type="LAB-CBC",
                    encounter_id=visit.pk, specimen_barcode="T0000001", specimen_type="全血", specimen_count=1,
                    collected_at=t0 - timedelta(minutes=10))
    item = PastStudy(data=data, at=t0, reader=lab_tech, received_at=t0 + timedelta(hours=2),
                     rejected=(t0 + timedelta(hours=2, minutes=10), "标本溶血"))
    (study,) = do_record_studies(f.actor(township_doctor), [item])
    assert study.status == Status.REJECTED and study.received_at == t0 + timedelta(hours=2)
    assert Grant.objects.get(source_type="study", source_id=study.pk).revoked_at == t0 + timedelta(hours=2, minutes=10)
