"""Emergency green channels (急救绿色通道) and 120 dispatch.

A `Case` is one patient's green channel at the receiving institution, for one centre type (chest pain,
stroke, trauma, critical maternal, critical neonatal). Its timeline is a list of `NodeTime` rows, each the
time of one node (`emergency.nodes`) with who recorded it; a correction is a new row that supersedes the
one it corrects, with a reason, so nothing is overwritten. Other happenings (opened, notice, bypass,
identified, closed) are `CaseEvent` rows. A 120 call (`EmsCall`) has its run times (`CallEvent`) and the
crew's pre-hospital record (`PrehospitalRecord`, a new row at each update); a `PrearrivalNotice` opens the
case at the receiving hospital before arrival.

Every table here is append-only except `Case` (its patient, once identified, and its closing) and
`EmsCall` (its case, once linked): both changed by conditional updates in `actions.py`.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yilian.emergency.nodes import Centre


class CentreType(models.TextChoices):
    CHEST_PAIN = Centre.CHEST_PAIN, _("Chest pain")
    STROKE = Centre.STROKE, _("Stroke")
    TRAUMA = Centre.TRAUMA, _("Trauma")
    MATERNAL = Centre.MATERNAL, _("Critical maternal")
    NEONATAL = Centre.NEONATAL, _("Critical neonatal")


class ArrivalMode(models.TextChoices):
    EMS = "ems", _("120 ambulance")
    SELF = "self", _("Came by themselves")
    TRANSFER = "transfer", _("Transferred from a member institution")


class Disposition(models.TextChoices):
    ADMITTED = "admitted", _("Admitted to a ward")
    ICU = "icu", _("Admitted to intensive care")
    TRANSFERRED_OUT = "transferred_out", _("Transferred to another hospital")
    DISCHARGED = "discharged", _("Discharged from the emergency department")
    DIED = "died", _("Died")
    LEFT = "left", _("Left against advice")
    CANCELLED = "cancelled", _("Green channel cancelled (not this condition)")


class Case(models.Model):
    """One patient's green channel at the receiving institution.

    `patient` may be empty at first (an unidentified patient brought by 120): the case then belongs to the
    receiving institution and the one that opened it until someone who may see the patient identifies them.
    `in_hospital_onset` and `arrival_mode` carry what the indicators' exclusions need."""

    centre = models.CharField(_("centre"), max_length=12, choices=CentreType.choices)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("receiving institution"))
    opened_by_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    arrival_mode = models.CharField(_("arrival mode"), max_length=10, choices=ArrivalMode.choices)
    transferred_from = models.ForeignKey("network.Institution", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", verbose_name=_("transferred from"))
    in_hospital_onset = models.BooleanField(_("onset in hospital"), default=False)
    provisional_sex = models.CharField(_("sex (provisional)"), max_length=1, blank=True)
    provisional_age = models.PositiveSmallIntegerField(_("estimated age"), null=True, blank=True)
    opened_at = models.DateTimeField()
    opened_by_user_id = models.BigIntegerField(null=True)
    opened_by_membership_id = models.BigIntegerField(null=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(_("disposition"), max_length=16, choices=Disposition.choices, blank=True)

    class Meta:
        verbose_name = _("green-channel case")
        indexes = [models.Index(fields=["institution", "closed_at"]), models.Index(fields=["centre", "opened_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(arrival_mode="transfer") | Q(transferred_from__isnull=False),
                                   name="case_transfer_has_origin"),
            models.CheckConstraint(condition=Q(closed_at__isnull=True, disposition="")
                                   | (Q(closed_at__isnull=False) & ~Q(disposition="")),
                                   name="case_closed_with_disposition"),
            # One open channel per patient and centre: two desks opening it at once keep one.
            models.UniqueConstraint(fields=["patient", "centre"],
                                    condition=Q(closed_at__isnull=True, patient__isnull=False),
                                    name="case_one_open_per_patient"),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} ({self.centre})"


class NodeTime(models.Model):
    """The time of one node of a case, as recorded by one person acting as one membership.

    A correction is a new row pointing at the row it corrects (`supersedes`), with a reason; the current
    value of a node is the row nobody corrected. Two tablets recording the same node at once cannot both
    win: one first value per (case, node), and one correction per row (both unique in the database)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="nodes")
    node = models.CharField(max_length=40)
    at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    institution_id = models.BigIntegerField(null=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="corrected_by")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    source = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["recorded_at", "pk"]
        indexes = [models.Index(fields=["case", "node"]), models.Index(fields=["node", "at"])]
        constraints = [
            models.UniqueConstraint(fields=["case", "node"], condition=Q(supersedes__isnull=True),
                                    name="node_one_first_value"),
            models.CheckConstraint(condition=Q(supersedes__isnull=True) | ~Q(reason=""),
                                   name="node_correction_has_reason"),
        ]

    def __str__(self) -> str:
        return f"Node #{self.pk} {self.node}"


class CaseEvent(models.Model):
    """Append-only history of a case besides its time nodes: opened, notice, bypass, identified, closed."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"Case #{self.case_id} {self.kind}"


class EmsCall(models.Model):
    """A 120 call taken by an institution's emergency station. The caller's phone is kept for calling back;
    it is shown masked and never written to a log."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("call received"))
    caller_phone = models.CharField(_("caller's phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200)
    complaint = models.CharField(_("chief complaint"), max_length=200)
    suspected = models.CharField(_("suspected condition"), max_length=12, choices=CentreType.choices, blank=True)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="call")
    created_at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = _("120 call")
        indexes = [models.Index(fields=["institution", "received_at"])]

    def __str__(self) -> str:  # never the phone or the address
        return f"Call #{self.pk}"


class RunStep(models.TextChoices):
    """The ambulance's run, in order."""

    DISPATCHED = "dispatched", _("Ambulance dispatched")
    DEPARTED = "departed", _("Departed")
    ON_SCENE = "on_scene", _("On scene")
    LEFT_SCENE = "left_scene", _("Left the scene")
    ARRIVED = "arrived", _("Arrived at hospital")


class CallEvent(models.Model):
    """One step of a call's run, recorded once (a second recording of the same step is a conflict)."""

    call = models.ForeignKey(EmsCall, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=RunStep.choices)
    at = models.DateTimeField()
    vehicle = models.CharField(_("vehicle"), max_length=20, blank=True)
    recorded_at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["call", "kind"], name="call_step_once")]

    def __str__(self) -> str:
        return f"Call #{self.call_id} {self.kind}"


class PrehospitalRecord(models.Model):
    """The crew's pre-hospital record (院前急救病历) as of one update: each update is a new row, the
    latest is current, so the receiving team sees it grow and nothing is overwritten."""

    call = models.ForeignKey(EmsCall, on_delete=models.PROTECT, related_name="records")
    recorded_at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    temperature = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    glucose = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    gcs_eye = models.PositiveSmallIntegerField(null=True, blank=True)
    gcs_verbal = models.PositiveSmallIntegerField(null=True, blank=True)
    gcs_motor = models.PositiveSmallIntegerField(null=True, blank=True)
    be_fast = models.JSONField(default=dict, blank=True)  # balance, eyes, face, arm, speech → True (abnormal)
    ecg_file = models.CharField(max_length=200, blank=True)  # the ECG system's reference of the 12-lead file
    ecg_at = models.DateTimeField(null=True, blank=True)
    ecg_transmitted_at = models.DateTimeField(null=True, blank=True)
    working_diagnosis = models.CharField(max_length=200, blank=True)
    treatments = models.JSONField(default=list, blank=True)  # [{"what": …, "at": ISO time}]

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self) -> str:
        return f"Pre-hospital record #{self.pk}"

    @property
    def gcs(self) -> int | None:
        parts = (self.gcs_eye, self.gcs_verbal, self.gcs_motor)
        return sum(parts) if all(p is not None for p in parts) else None


class PrearrivalNotice(models.Model):
    """A pre-arrival notice (院前预警) from a crew or a sending member to the receiving institution: the
    green channel opens before arrival, and the receiving institution is granted access to the patient."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notices")
    call = models.ForeignKey(EmsCall, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    from_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    to_institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()
    eta = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    grant_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"Notice #{self.pk}"
