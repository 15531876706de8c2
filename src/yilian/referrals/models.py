"""Two-way referral (双向转诊): a patient sent up to a higher level or down to a township centre, community
station or family doctor, with its status history. The referral grants the receiving institution access
to the patient from sending until some days after it closes (`access.Grant`, kind referral)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    UP = "up", _("Up (to a higher level)")
    DOWN = "down", _("Down (to the grassroots)")


class Setting(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    INPATIENT = "inpatient", _("Inpatient")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Status(models.TextChoices):
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    ARRIVED = "arrived", _("Arrived")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN = (Status.SENT, Status.ACCEPTED)


class Referral(models.Model):
    number = models.CharField(_("referral number"), max_length=30, unique=True)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    setting = models.CharField(_("outpatient or inpatient"), max_length=10, choices=Setting.choices)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    from_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    from_department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+")
    from_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+")
    to_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    to_department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    to_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("receiving doctor"))
    diagnosis_code = models.CharField(_("diagnosis (ICD-10)"), max_length=10)
    diagnosis_name = models.CharField(_("diagnosis"), max_length=100)
    reason = models.CharField(_("reason"), max_length=500)
    summary = models.TextField(_("summary"), max_length=4000, blank=True)
    shared = models.JSONField(_("results and documents shared"), default=list, blank=True)
    follow_up_plan = models.TextField(_("follow-up plan"), max_length=2000, blank=True)
    booking = models.OneToOneField("scheduling.Booking", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="referral")
    bed_requested = models.BooleanField(_("bed requested"), default=False)
    grant = models.ForeignKey("access.Grant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField()
    deadline_at = models.DateTimeField(_("accept by"))
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            models.Index(fields=["to_institution", "status", "deadline_at"]),
            models.Index(fields=["from_institution", "created_at"]),
            models.Index(fields=["patient", "created_at"]),
            models.Index(fields=["status", "deadline_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(from_institution=models.F("to_institution")),
                                   name="referral_between_institutions"),
        ]

    def __str__(self) -> str:  # never the patient
        return f"Referral {self.number}"


class ReferralEvent(models.Model):
    """One step of a referral: sent, accepted, rejected, redirected, arrived, closed, cancelled, escalated,
    patient_notified; who did it and when."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["referral", "at"])]

    def __str__(self) -> str:
        return f"ReferralEvent #{self.pk} {self.kind}"


class FollowUp(models.Model):
    """A down-referral's follow-up plan, assigned to a family doctor or to the receiving institution."""

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="follow_up")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    plan = models.TextField(max_length=2000)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"FollowUp #{self.pk}"
