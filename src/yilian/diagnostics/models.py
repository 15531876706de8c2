"""The shared diagnostic centres (影像 / 心电 / 病理 / 检验中心) at the lead hospital: a member submits a study
for a patient, the centre reads it from its worklist and signs a report (amendments are new versions, the
original kept), and critical values (危急值) are pushed back to the requesting institution and acknowledged
there by a named clinician (docs/diagnostics.md).

Files are stored on disk under `settings.YILIAN_STUDIES_DIR`; the database holds their metadata and path,
never pixel data. A study grants the centre's institution access to the patient (`access.Grant`, kind
diagnostic, source "study" and the study's id) from submission until some days after the report is
signed.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CentreKind(models.TextChoices):
    IMAGING = "imaging", _("Imaging (影像)")
    ECG = "ecg", _("ECG (心电)")
    PATHOLOGY = "pathology", _("Pathology (病理)")
    LAB = "lab", _("Laboratory (检验)")


# Kinds whose study is a specimen carried to the centre, tracked from collection to receipt.
SPECIMEN_KINDS = frozenset({CentreKind.PATHOLOGY, CentreKind.LAB})


NUMBER_PREFIX = {CentreKind.IMAGING: "YX", CentreKind.ECG: "XD", CentreKind.PATHOLOGY: "BL", CentreKind.LAB: "JY"}


class Priority(models.IntegerChoices):
    """Worklist order: lower first."""

    STAT = 1, _("Emergency (急诊)")
    URGENT = 2, _("Urgent (加急)")
    ROUTINE = 3, _("Routine (常规)")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting")
    READING = "reading", _("Being read")
    SIGNED = "signed", _("Reported")
    REJECTED = "rejected", _("Rejected by the centre")
    CANCELLED = "cancelled", _("Cancelled")


OPEN = (Status.SUBMITTED, Status.READING)
# A study that still holds its StudyInstanceUID at the centre (a rejected or cancelled one frees it).
HOLDS_UID = (Status.SUBMITTED, Status.READING, Status.SIGNED)


class Centre(models.Model):
    """A diagnostic centre run by an institution (the lead hospital) for the members it serves."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=CentreKind.choices)
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("run by"))
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("department that reads"))
    serves = models.ManyToManyField("network.Institution", related_name="+", verbose_name=_("members served"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("diagnostic centre")
        verbose_name_plural = _("diagnostic centres")
        ordering = ["institution", "kind"]
        constraints = [models.UniqueConstraint(fields=["institution", "kind"], name="diag_centre_unique_kind")]

    def __str__(self) -> str:
        return self.name


class Study(models.Model):
    """One request for a remote diagnosis: what was sent, by whom, for which patient and visit, and where
    it stands. Imaging metadata comes from the DICOM headers (pydicom); a specimen is tracked from
    collection to receipt."""

    kind = models.CharField(_("kind"), max_length=10, choices=CentreKind.choices)  # the centre's, for the number
    # Foreign keys without an index of their own where a composite index leads with them or nothing looks a
    # study up by them: every index costs each of the millions of inserts (benchmarks/worklist.py).
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="studies", db_index=False)
    exam_type = models.CharField(_("exam type"), max_length=20)
    exam_name = models.CharField(_("exam"), max_length=60)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False)
    requesting_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                               verbose_name=_("requesting institution"), db_index=False)
    requesting_department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True,
                                              blank=True, related_name="+", db_index=False)
    requesting_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("requesting doctor"), db_index=False)
    encounter = models.ForeignKey("care.Encounter", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("requesting visit"))
    clinical_info = models.TextField(_("clinical information"), max_length=2000, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField(_("submitted"))
    reader = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("reader"), db_index=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(_("first signed"), null=True, blank=True)
    amended_at = models.DateTimeField(_("last amended"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    # Imaging: read from the DICOM headers.
    study_uid = models.CharField(_("StudyInstanceUID"), max_length=64, blank=True)
    modality = models.CharField(_("modality"), max_length=16, blank=True)
    body_part = models.CharField(_("body part"), max_length=64, blank=True)
    study_date = models.DateField(_("study date"), null=True, blank=True)
    image_count = models.PositiveIntegerField(_("images"), default=0)
    # Pathology and lab: the specimen and its journey.
    specimen_barcode = models.CharField(_("specimen barcode"), max_length=40, blank=True)
    specimen_type = models.CharField(_("specimen type"), max_length=40, blank=True)
    specimen_site = models.CharField(_("site"), max_length=100, blank=True)
    specimen_count = models.PositiveSmallIntegerField(_("containers, blocks or slides"), default=0)
    collected_at = models.DateTimeField(_("collected"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        indexes = [
            # The worklist: open studies of a centre by priority, then the longest waiting first. Partial,
            # so the millions of closed studies never enter it.
            models.Index(fields=["centre", "priority", "submitted_at", "id"], condition=Q(status__in=OPEN),
                         name="diag_study_worklist"),
            models.Index(fields=["requesting_institution", "submitted_at"], name="diag_study_requester"),
            models.Index(fields=["patient", "submitted_at"], name="diag_study_patient"),
            models.Index(fields=["signed_at"], name="diag_study_signed"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["centre", "study_uid"], condition=Q(status__in=HOLDS_UID) & ~Q(study_uid=""),
                                    name="diag_study_uid_once"),
        ]

    def __str__(self) -> str:  # never the patient
        return f"Study {self.number}"

    @property
    def number(self) -> str:
        """The study number printed and shown: the kind's prefix, the local date of submission and the id
        (`YX20261123000042`). Not stored, so that a submission is one insert."""
        return f"{NUMBER_PREFIX[self.kind]}{timezone.localtime(self.submitted_at):%Y%m%d}{self.pk:06d}"


class StudyFile(models.Model):
    """A stored file of a study: a DICOM instance, an ECG tracing, a slide image. `path` is relative to
    `settings.YILIAN_STUDIES_DIR`; `name` is the name it was uploaded under (shown, never used as a path)."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="files")
    role = models.CharField(max_length=10)  # dicom, ecg, slide
    content_type = models.CharField(max_length=60)
    path = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=120)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    sop_instance_uid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"StudyFile #{self.pk}"


class StudyEvent(models.Model):
    """One step of a study: submitted, specimen_sent, specimen_received, claimed, released, drafted, signed,
    amendment_opened, amended, critical_flagged, critical_acknowledged, critical_escalated, rejected,
    cancelled; who did it and when."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="events", db_index=False)
    kind = models.CharField(max_length=24)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["study", "at"], name="diag_event_study")]

    def __str__(self) -> str:
        return f"StudyEvent #{self.pk} {self.kind}"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED = "signed", _("Signed")


class Report(models.Model):
    """One version of a study's report. Version 1 is the original; an amendment is a new version that
    names the one it amends and why. A signed version is never changed: every write to a report is a
    conditional UPDATE on `status = draft`."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="reports", db_index=False)
    version = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=6, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    findings = models.TextField(_("findings"), max_length=8000, blank=True)
    impression = models.TextField(_("impression"), max_length=2000, blank=True)
    author = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    amends = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amendment_reason = models.CharField(_("reason for the amendment"), max_length=500, blank=True)
    signed_by = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    signed_membership_id = models.BigIntegerField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "version"]
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="diag_report_version_unique"),
            models.UniqueConstraint(fields=["study"], condition=Q(status="draft"), name="diag_report_one_draft"),
            models.CheckConstraint(condition=Q(status="draft") | Q(signed_at__isnull=False, signed_by__isnull=False),
                                   name="diag_report_signed_has_signer"),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} v{self.version}"


class CriticalValue(models.Model):
    """A critical value (危急值) found while reading: pushed at once to the requesting institution (this
    row is the notice it sees), acknowledged there by a named clinician, escalated when nobody has
    acknowledged it within `actions.ACK_MINUTES`."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="critical_values")
    report = models.ForeignKey(Report, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(_("critical value"), max_length=200)
    to_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    flagged_by = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    flagged_at = models.DateTimeField(_("notified"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("acknowledged by"))
    acknowledged_membership_id = models.BigIntegerField(null=True, blank=True)
    acknowledgement = models.CharField(_("action taken"), max_length=500, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flagged_at", "pk"]
        indexes = [
            models.Index(fields=["to_institution", "flagged_at"], name="diag_critical_to"),
            models.Index(fields=["flagged_at"], name="diag_critical_flagged"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_by__isnull=False),
                                   name="diag_critical_ack_named"),
        ]

    def __str__(self) -> str:
        return f"CriticalValue #{self.pk}"

    @property
    def minutes_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return round((self.acknowledged_at - self.flagged_at).total_seconds() / 60, 1)
