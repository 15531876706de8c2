"""Remote consultation (远程会诊), MDT (多学科会诊) and guided operations (远程手术指导).

A member's doctor asks the consortium's consultation centre (the lead institution), a department of a
member, or a named expert — also one of a partner hospital outside the county — for an opinion on a
patient. An expert claims it or the centre assigns it; the expert writes the opinion and signs it; the
requesting doctor confirms it. The consultation grants each expert on it access to the patient
(`access.Grant`, kind consultation, to the staff member) until some days after it closes. See docs/consults.md.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Target(models.TextChoices):
    CENTRE = "centre", _("The consortium's consultation centre")
    DEPARTMENT = "department", _("A department")
    EXPERT = "expert", _("A named expert")


class Mode(models.TextChoices):
    SYNC = "sync", _("Synchronous (video session)")
    ASYNC = "async", _("Asynchronous")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Status(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ASSIGNED = "assigned", _("Assigned")
    DRAFTED = "drafted", _("Opinion drafted")
    SIGNED = "signed", _("Opinion signed")
    CONFIRMED = "confirmed", _("Confirmed by the requester")
    CANCELLED = "cancelled", _("Cancelled")


WAITING = (Status.REQUESTED,)
IN_WORK = (Status.ASSIGNED, Status.DRAFTED)  # an expert holds it; opinions and contributions may change
ANSWERED = (Status.SIGNED, Status.CONFIRMED)
OPEN = (Status.REQUESTED, Status.ASSIGNED, Status.DRAFTED, Status.SIGNED)


class PartnerInstitution(models.Model):
    """Marks an institution as a partner hospital outside the county (协作医院, e.g. a tertiary hospital in
    the provincial capital or Beijing) whose experts take consultations. The hospital itself is a
    `network.Institution` of the consortium (kind tertiary, led by the lead institution), so its experts
    log in and act as a membership like anyone else; its own institution has no care relationships, so
    they see a patient only through a consultation's grant."""

    institution = models.OneToOneField("network.Institution", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("agreement"), max_length=200, blank=True)
    since = models.DateField(_("partner since"))

    class Meta:
        verbose_name = _("partner hospital")
        verbose_name_plural = _("partner hospitals")

    def __str__(self) -> str:
        return f"Partner #{self.pk}"


class Consultation(models.Model):
    """One request for a remote consultation (远程会诊申请), from the inviting member (邀请方) to the
    invited side (受邀方), with its current status; the steps are `ConsultationEvent` rows."""

    number = models.CharField(_("consultation number"), max_length=30, unique=True)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(_("mode"), max_length=5, choices=Mode.choices)
    mdt = models.BooleanField(_("multidisciplinary (MDT)"), default=False)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    from_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    from_department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+")
    from_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("requesting doctor"))
    target = models.CharField(_("asked of"), max_length=10, choices=Target.choices)
    to_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    to_department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    to_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("named expert"))
    question = models.TextField(_("question"), max_length=1000)
    summary = models.TextField(_("patient summary"), max_length=4000)
    shared = models.JSONField(_("records attached"), default=list, blank=True)
    consent = models.BooleanField(_("patient's informed consent obtained"), default=False)
    session_start = models.DateTimeField(_("video session starts"), null=True, blank=True)
    session_minutes = models.PositiveSmallIntegerField(_("video session minutes"), null=True, blank=True)
    expert = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("lead expert"))
    expert_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(_("first signed"), null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        indexes = [
            models.Index(fields=["to_institution", "status", "created_at"]),
            models.Index(fields=["from_institution", "created_at"]),
            models.Index(fields=["patient", "created_at"]),
            models.Index(fields=["signed_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(from_institution=F("to_institution")),
                                   name="consultation_between_institutions"),
            models.CheckConstraint(
                condition=Q(mode="sync", session_start__isnull=False, session_minutes__isnull=False)
                | Q(mode="async", session_start__isnull=True, session_minutes__isnull=True),
                name="consultation_session_for_sync_only"),
            models.CheckConstraint(condition=Q(expert__isnull=True) | Q(expert_institution__isnull=False),
                                   name="consultation_expert_institution"),
        ]

    def __str__(self) -> str:  # never the patient
        return f"Consultation {self.number}"


class ConsultationExpert(models.Model):
    """An expert on the consultation: the lead (who claimed it or was assigned) and, for an MDT, the other
    members of the panel, each with the grant that lets them see the patient and their contribution."""

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="panel")
    staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    lead = models.BooleanField(default=False)
    grant = models.ForeignKey("access.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    contribution = models.TextField(_("contribution"), max_length=4000, blank=True)
    contributed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-lead", "joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "staff"], condition=Q(left_at__isnull=True),
                                    name="consultation_expert_once"),
            models.UniqueConstraint(fields=["consultation"], condition=Q(lead=True, left_at__isnull=True),
                                    name="consultation_one_lead"),
        ]

    def __str__(self) -> str:
        return f"ConsultationExpert #{self.pk}"


class Opinion(models.Model):
    """The expert's opinion (会诊意见), versioned. A draft changes until it is signed; a signed version
    never changes: an amendment is a new signed version that points to the one it amends."""

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="opinions")
    version = models.PositiveSmallIntegerField()
    author = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    opinion = models.TextField(_("opinion"), max_length=4000)
    recommendation = models.TextField(_("recommendation"), max_length=4000, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    amends = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amendment_reason = models.CharField(_("reason for the amendment"), max_length=200, blank=True)

    class Meta:
        ordering = ["version"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "version"], name="opinion_version_unique"),
            models.UniqueConstraint(fields=["consultation"], condition=Q(signed_at__isnull=True),
                                    name="opinion_one_draft"),
        ]

    def __str__(self) -> str:
        return f"Opinion #{self.pk} v{self.version}"


class ConsultationEvent(models.Model):
    """One step of a consultation: requested, assigned, claimed, expert_added, contributed, drafted, signed,
    amended, confirmed, cancelled; who did it and when."""

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["consultation", "at"])]

    def __str__(self) -> str:
        return f"ConsultationEvent #{self.pk} {self.kind}"


class GuidingMode(models.TextChoices):
    REMOTE = "remote", _("Remote (video)")
    ONSITE = "onsite", _("On site")


class Outcome(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    COMPLICATION = "complication", _("Completed with a complication")
    CONVERTED = "converted", _("Converted to another procedure")
    ABANDONED = "abandoned", _("Abandoned")
    TRANSFERRED = "transferred", _("Patient transferred up")


class GuidedOperation(models.Model):
    """A procedure at a member performed by its own operator under the guidance of an expert from the
    lead institution or a partner hospital (远程/现场手术指导), recorded by the member."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="guided_operations")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    procedure = models.CharField(_("procedure"), max_length=100)
    performed_on = models.DateField(_("date"))
    mode = models.CharField(_("guidance"), max_length=6, choices=GuidingMode.choices)
    expert = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("guiding expert"))
    expert_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("local operator"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    notes = models.TextField(_("notes"), max_length=1000, blank=True)
    recorded_by = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("guided operation")
        verbose_name_plural = _("guided operations")
        indexes = [models.Index(fields=["institution", "performed_on"]), models.Index(fields=["performed_on"])]
        constraints = [
            models.CheckConstraint(condition=~Q(institution=F("expert_institution")),
                                   name="guided_operation_expert_from_elsewhere"),
        ]

    def __str__(self) -> str:
        return f"GuidedOperation #{self.pk}"
