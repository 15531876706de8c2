"""Uploaded study files: written to a temporary file beside the store, checked for what they really are,
and moved into place only on the submission's success path (called by `actions.do_submit`).

A file is judged by its content, never by its name or the type the client declared: a DICOM file has
"DICM" at byte 128 and must be readable by pydicom with a StudyInstanceUID, a SOPInstanceUID and a
Modality; a PDF starts with "%PDF-"; JPEG, PNG and TIFF by their signatures; an HL7 aECG waveform is XML
whose root is `AnnotatedECG`. A file whose name or declared type claims one type while its content is
another is refused, and so is one larger than `settings.YILIAN_STUDY_FILE_MAX_MB`. Refused files are
deleted before the answer goes back; nothing of them stays on disk or in the database.
"""

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from yilian.diagnostics.models import CentreKind
from yilian.errors import ActionError

MAX_FILES = 100  # Django refuses more files in one request (DATA_UPLOAD_MAX_NUMBER_FILES)
CHUNK = 64 * 1024

DICOM, PDF, JPEG, PNG, TIFF, AECG = ("application/dicom", "application/pdf", "image/jpeg", "image/png",
                                     "image/tiff", "application/xml")
LABELS = {DICOM: "DICOM", PDF: "PDF", JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", AECG: "HL7 aECG (XML)"}
EXTENSIONS = {".dcm": DICOM, ".dicom": DICOM, ".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG,
              ".tif": TIFF, ".tiff": TIFF, ".xml": AECG}
SUFFIX = {DICOM: ".dcm", PDF: ".pdf", JPEG: ".jpg", PNG: ".png", TIFF: ".tif", AECG: ".xml"}
# Types a client may declare that name a type (anything else, e.g. application/octet-stream, claims nothing).
DECLARED = {"application/dicom": DICOM, "application/pdf": PDF, "image/jpeg": JPEG, "image/jpg": JPEG,
            "image/png": PNG, "image/tiff": TIFF, "application/xml": AECG, "text/xml": AECG}
# What each kind of centre accepts, and the DICOM modalities a non-imaging centre accepts (imaging: the exam's).
ACCEPTED = {CentreKind.IMAGING: {DICOM}, CentreKind.ECG: {PDF, JPEG, PNG, DICOM, AECG},
            CentreKind.PATHOLOGY: {JPEG, PNG, TIFF, DICOM}, CentreKind.LAB: set()}
DICOM_MODALITIES = {CentreKind.ECG: ("ECG",), CentreKind.PATHOLOGY: ("SM",)}
ROLE = {CentreKind.IMAGING: "dicom", CentreKind.ECG: "ecg", CentreKind.PATHOLOGY: "slide", CentreKind.LAB: "file"}
UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def store() -> Path:
    return Path(settings.YILIAN_STUDIES_DIR)


def max_bytes() -> int:
    return settings.YILIAN_STUDY_FILE_MAX_MB * 1024 * 1024


@dataclass
class Staged:
    """A file written to the incoming folder and checked; `tmp` is deleted or moved, never left."""

    tmp: Path
    name: str
    size: int
    sha256: str
    content_type: str
    dicom: dict = field(default_factory=dict)


def clean_name(name: str | None) -> str:
    """The uploaded name to show: its last path part, printable, at most 120 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    return "".join(c for c in base if c.isprintable())[:120] or "file"


def sniff(head: bytes) -> str | None:
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and re.search(rb"<(\w+:)?AnnotatedECG[\s>]", head):
        return AECG
    return None


def claimed(name: str, declared: str | None) -> str | None:
    """The type the file's name or its declared content type claims, if any."""
    by_name = EXTENSIONS.get(Path(name).suffix.lower())
    if by_name:
        return by_name
    return DECLARED.get((declared or "").split(";")[0].strip().lower())


def _read_dicom(path: Path) -> dict | None:
    """The header fields Yilian keeps, or None when pydicom cannot read it or a required one is missing."""
    import pydicom
    from pydicom import config
    from pydicom.errors import InvalidDicomError

    # Never warn about (and so never log) a bad value: a header's values may carry a patient's name or ID.
    config.settings.reading_validation_mode = config.IGNORE
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        study_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
        sop_uid = str(ds.get("SOPInstanceUID", "") or "").strip()
        modality = str(ds.get("Modality", "") or "").strip().upper()
        body_part = str(ds.get("BodyPartExamined", "") or "").strip()[:64]
        raw_date = str(ds.get("StudyDate", "") or "").strip()
    except (InvalidDicomError, ValueError, TypeError, KeyError, AttributeError, EOFError, OSError,
            NotImplementedError, IndexError, OverflowError):
        return None
    if not (study_uid and sop_uid and modality) or not (UID.match(study_uid) and UID.match(sop_uid)) \
            or len(study_uid) > 64 or len(sop_uid) > 64:
        return None
    try:
        study_date = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:8])) if len(raw_date) == 8 else None
    except ValueError:
        study_date = None
    return {"study_uid": study_uid, "sop_uid": sop_uid, "modality": modality[:16], "body_part": body_part,
            "study_date": study_date}


def _write(upload, tmp_dir: Path, limit: int, field_name: str, name: str) -> tuple[Path, int, str]:
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ActionError(field_name, _too_large(name, limit))
    digest, written = hashlib.sha256(), 0
    handle, raw = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
    path = Path(raw)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in upload.chunks(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise ActionError(field_name, _too_large(name, limit))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written, digest.hexdigest()


def _too_large(name: str, limit: int) -> str:
    return _("%(name)s is larger than the limit of %(mb)d MB.") % {"name": name, "mb": limit // (1024 * 1024)}


def _check(staged: Staged, declared: str | None, kind: str, modalities: tuple[str, ...], field_name: str) -> None:
    with staged.tmp.open("rb") as f:
        head = f.read(4096)
    actual = sniff(head)
    claim = claimed(staged.name, declared)
    if claim and actual != claim:
        raise ActionError(field_name, _("%(name)s claims to be %(claimed)s but its content is %(actual)s.") % {
            "name": staged.name, "claimed": LABELS[claim],
            "actual": LABELS[actual] if actual else _("not a recognised file")})
    accepted = ACCEPTED[kind]
    if actual not in accepted:
        what = LABELS[actual] if actual else _("not a recognised file")
        allowed = ", ".join(sorted(LABELS[t] for t in accepted))
        raise ActionError(field_name, _("%(name)s is %(what)s; this centre accepts %(allowed)s.") % {
            "name": staged.name, "what": what, "allowed": allowed})
    staged.content_type = actual
    if actual == DICOM:
        info = _read_dicom(staged.tmp)
        if info is None:
            raise ActionError(field_name, _("%(name)s is not a readable DICOM file (it needs a StudyInstanceUID, a "
                                            "SOPInstanceUID and a Modality).") % {"name": staged.name})
        allowed_modalities = modalities or DICOM_MODALITIES.get(kind, ())
        if info["modality"] not in allowed_modalities:
            raise ActionError(field_name, _("%(name)s is a %(modality)s image; this exam takes %(allowed)s.") % {
                "name": staged.name, "modality": info["modality"], "allowed": "/".join(allowed_modalities)})
        staged.dicom = info


def stage(uploads, kind: str, modalities: tuple[str, ...] = ()) -> list[Staged]:
    """Write every upload to the incoming folder and check it; on the first refusal delete everything
    written and raise `ActionError` naming `files.<i>`."""
    tmp_dir = store() / ".incoming"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    limit, staged = max_bytes(), []
    try:
        for i, upload in enumerate(uploads):
            field_name, name = f"files.{i}", clean_name(getattr(upload, "name", ""))
            path, size, sha = _write(upload, tmp_dir, limit, field_name, name)
            item = Staged(tmp=path, name=name, size=size, sha256=sha, content_type="")
            staged.append(item)
            if size == 0:
                raise ActionError(field_name, _("%(name)s is empty.") % {"name": name})
            _check(item, getattr(upload, "content_type", None), kind, modalities, field_name)
    except BaseException:
        discard(staged)
        raise
    return staged


def discard(staged: list[Staged]) -> None:
    for item in staged:
        item.tmp.unlink(missing_ok=True)


def destination(number: str, submitted_at, index: int, content_type: str) -> str:
    """Where a study's file lives, relative to the store: year/month/study number/0001.dcm."""
    return f"{submitted_at:%Y}/{submitted_at:%m}/{number}/{index + 1:04d}{SUFFIX[content_type]}"


def place(staged: list[Staged], paths: list[str]) -> list[Path]:
    """Move the staged files to their places (an atomic rename on one file system); returns the paths
    placed so far even when a move fails (the caller removes them)."""
    root, placed = store(), []
    try:
        for item, relative in zip(staged, paths, strict=True):
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item.tmp, target)
            placed.append(target)
            os.chmod(target, 0o640)
    except BaseException:
        remove(placed)
        raise
    return placed


def remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def open_stored(relative: str):
    """A stored file for reading, refusing any path that would leave the store."""
    root = store().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise FileNotFoundError(relative)
    return path.open("rb")
