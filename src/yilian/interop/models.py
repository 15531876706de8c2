"""The members' systems that send to Yilian, and what they sent (docs/interop.md).

A `Sender` is one member system (a LIS, a PACS/RIS, a HIS): its HL7 v2 sending application (MSH-3) and
facility (MSH-4), the digest of its FHIR bearer token, the institution it speaks for, and the assigning
authority of its medical record numbers in PID-3. Every accepted HL7 message is kept (`Message`) under its
(MSH-3, MSH-10), which is unique: the claim of a control ID is the insert itself, so a duplicate, however
concurrent, gets the original ACK and stores nothing. A message answered AE/AR stores nothing but a
`Rejection` row for the interface desk. Results for a patient the index does not know wait in `Unmatched`.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Sender(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("institution"))
    hl7_application = models.CharField(_("HL7 sending application (MSH-3)"), max_length=180, blank=True)
    hl7_facility = models.CharField(_("HL7 sending facility (MSH-4)"), max_length=180, blank=True)
    mrn_authority = models.CharField(_("assigning authority of its record numbers (PID-3.4)"), max_length=64,
                                     blank=True)
    token_digest = models.CharField(max_length=64, blank=True)  # sha256 hex of the FHIR bearer token
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("sending system")
        verbose_name_plural = _("sending systems")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["hl7_application", "hl7_facility"], condition=~Q(hl7_application=""),
                                    name="interop_sender_hl7"),
            models.UniqueConstraint(fields=["token_digest"], condition=~Q(token_digest=""),
                                    name="interop_sender_token"),
        ]

    def __str__(self) -> str:
        return self.code


class Outcome(models.TextChoices):
    STORED = "stored", _("Stored")
    UNMATCHED = "unmatched", _("Waiting for the patient to be matched")


class Message(models.Model):
    """An accepted HL7 v2 message, kept as received, with the ACK it was answered with."""

    sender = models.ForeignKey(Sender, on_delete=models.PROTECT, related_name="+", db_index=False)
    sending_application = models.CharField(max_length=180)  # MSH-3 as received
    control_id = models.CharField(max_length=199)  # MSH-10
    message_type = models.CharField(max_length=20)  # MSH-9, e.g. ORU^R01
    received_at = models.DateTimeField()
    raw = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ack = models.TextField()

    class Meta:
        verbose_name = _("HL7 message")
        verbose_name_plural = _("HL7 messages")
        constraints = [
            models.UniqueConstraint(fields=["sending_application", "control_id"], name="interop_message_once"),
        ]
        indexes = [models.Index(fields=["received_at"], name="interop_message_received")]

    def __str__(self) -> str:  # the control ID names no patient
        return f"Message {self.sending_application}/{self.control_id}"


class Rejection(models.Model):
    """A message answered AE or AR: nothing of it was stored but this row, for the interface desk."""

    sending_application = models.CharField(max_length=180, blank=True)
    control_id = models.CharField(max_length=199, blank=True)
    message_type = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField()
    code = models.CharField(max_length=2)  # AE or AR
    reason = models.CharField(max_length=500)
    raw = models.TextField()

    class Meta:
        verbose_name = _("rejected message")
        verbose_name_plural = _("rejected messages")
        indexes = [models.Index(fields=["received_at"], name="interop_rejection_received")]

    def __str__(self) -> str:
        return f"Rejection #{self.pk}"


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    MATCHED = "matched", _("Matched and stored")
    DISCARDED = "discarded", _("Discarded")


class Unmatched(models.Model):
    """A message whose patient the index does not know (no identifier in PID-3 matches a record): kept
    whole, to be stored when the patient is matched (by an ADT message that brings the record number, or
    by hand at the index desk)."""

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="unmatched")
    sender = models.ForeignKey(Sender, on_delete=models.PROTECT, related_name="+")
    identifiers = models.JSONField(default=list)  # [{"type", "system", "value"}] from PID-3
    status = models.CharField(max_length=10, choices=MatchStatus.choices, default=MatchStatus.PENDING)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by_membership_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("unmatched result message")
        verbose_name_plural = _("unmatched result messages")
        indexes = [models.Index(fields=["status", "sender"], name="interop_unmatched_pending")]

    def __str__(self) -> str:
        return f"Unmatched #{self.pk}"
