"""The county hospital (the lead) runs an imaging, an ECG, a pathology and a laboratory centre serving the
township centre and the village clinic; a township doctor requests for a villager seen at the township;
the county's radiologist, laboratory technician and nurse; study files made here with pydicom (never
downloaded), stored under a temporary folder."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from yilian.diagnostics import actions as a
from yilian.diagnostics.models import CentreKind, Priority
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.testing import factories as f

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.fixture(autouse=True)
def english():
    """The actions' messages are asserted on in English (the UI default is Chinese; the pages' tests
    choose their language per request)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def studies_dir(settings, tmp_path):
    settings.YILIAN_STUDIES_DIR = tmp_path / "studies"
    return settings.YILIAN_STUDIES_DIR


def stored_files(root) -> list:
    """Every file under the store, the incoming folder included (a refused upload must leave none)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def centres(net):
    return {kind: a.do_set_up_centre(SYSTEM, institution_id=net.county.pk, kind=kind, name=f"县医院{kind}中心")
            for kind in CentreKind.values}


@pytest.fixture
def township_doctor(net):
    return f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township),
                             username="township_doctor")


@pytest.fixture
def township_nurse(net):
    return f.make_membership(net.township, Role.NURSE, username="township_nurse")


@pytest.fixture
def villager(net):
    return f.register_patient(f.make_membership(net.township, Role.REGISTRAR, username="township_desk"))


@pytest.fixture
def visit(township_doctor, villager):
    return f.open_encounter(township_doctor, villager)


@pytest.fixture
def radiologist(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="radiologist")


@pytest.fixture
def second_radiologist(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="radiologist2")


@pytest.fixture
def lab_tech(net):
    return f.make_membership(net.county, Role.TECHNICIAN, username="lab_tech")


def dicom(study_uid: str | None = None, *, modality: str = "CT", body_part: str = "HEAD", study_date: str = "20261120",
          sop_uid: str | None = None) -> bytes:
    """A small but real DICOM Part 10 file (preamble, "DICM", file meta, an 8×8 image)."""
    sop_uid = sop_uid or generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CT_STORAGE, sop_uid
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality, ds.BodyPartExamined, ds.StudyDate = modality, body_part, study_date
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.PixelData = bytes(128)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def ct_series(n: int = 3, **kwargs) -> list[SimpleUploadedFile]:
    uid = generate_uid()
    return [upload(f"IM{i:04d}.dcm", dicom(uid, **kwargs), "application/dicom") for i in range(n)]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def new_study(centre, patient, encounter, **overrides) -> a.NewStudy:
    data = {"patient_id": patient.pk, "centre_id": centre.pk, "exam_type": "CT-HEAD", "encounter_id": encounter.pk,
            "priority": Priority.URGENT, "clinical_info": "头痛伴呕吐2小时"}
    if centre.kind == CentreKind.ECG:
        data["exam_type"] = "ECG-12"
    elif centre.kind in (CentreKind.LAB, CentreKind.PATHOLOGY):
        data.update(exam_type="LAB-BIOCHEM" if centre.kind == CentreKind.LAB else "PATH-BIOPSY",
                    specimen_barcode="JY20261120001", specimen_type="血清" if centre.kind == CentreKind.LAB else "组织",
                    specimen_site="胃窦" if centre.kind == CentreKind.PATHOLOGY else "", specimen_count=1,
                    collected_at=timezone.now() - timedelta(minutes=30))
    data.update(overrides)
    return a.NewStudy(**data)


def submit_ct(township_doctor, centres, villager, visit, n: int = 3, **overrides):
    return a.do_submit(f.actor(township_doctor), new_study(centres["imaging"], villager, visit, **overrides),
                       ct_series(n))


def read_and_sign(reader, study, findings="颅内未见出血。", impression="颅脑CT平扫未见明显异常。"):
    actor = f.actor(reader)
    a.do_claim(actor, study.pk)
    a.do_save_draft(actor, study.pk, findings, impression)
    return a.do_sign(actor, study.pk)
