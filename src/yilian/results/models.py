"""Results from every member in one store, the catalogue they are coded in, and the mutual recognition
(检查检验结果互认) of earlier results when a doctor orders a test (docs/results.md).

A report arrives from a member's LIS/PACS/HIS (HL7 v2 ORU^R01 or FHIR DiagnosticReport, `yilian.interop`)
and is stored with its observations; it is identified by (identifier system, identifier value), the
filler order number or FHIR identifier, so that a correction replaces the report it corrects. An order is
what a doctor asks for (a panel or an exam); the recognition check offers the earlier reports that answer
it, and the doctor accepts one (the saving is the item's price at the ordering institution) or overrides
with a coded reason.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ItemKind(models.TextChoices):
    PANEL = "panel", _("Lab panel (检验组合)")
    LAB = "lab", _("Lab item (检验项目)")
    EXAM = "exam", _("Exam (检查项目)")


ORDERABLE = (ItemKind.PANEL, ItemKind.EXAM)


class Item(models.Model):
    """A catalogue entry: a lab panel, a lab item (with its LOINC) or an imaging/ECG exam (with its
    modality and body part). Loaded from the shipped catalogue (`results.catalogue`, the diagnostic
    centres' exam types) by `results.catalogue_load.load`; a site adds its own."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=5, choices=ItemKind.choices)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    panel = models.CharField(_("panel"), max_length=20, blank=True)  # a lab item's panel code
    loinc = models.CharField("LOINC", max_length=10, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    modality = models.CharField(_("modality"), max_length=16, blank=True)
    body_part = models.CharField(_("body part"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue items")
        ordering = ["kind", "code"]
        indexes = [models.Index(fields=["loinc"], name="results_item_loinc")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Price(models.Model):
    """What an item costs at an institution (the fee it charges; the saving a recognition records)."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="prices")
    amount = models.DecimalField(_("price (yuan)"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [models.UniqueConstraint(fields=["institution", "item"], name="results_price_unique")]

    def __str__(self) -> str:
        return f"Price #{self.pk}"


class ReportStatus(models.TextChoices):
    """HL7 v2 OBR-25 / FHIR DiagnosticReport.status, reduced to the four the issue names."""

    PRELIMINARY = "preliminary", _("Preliminary")
    FINAL = "final", _("Final")
    AMENDED = "amended", _("Amended")
    CANCELLED = "cancelled", _("Cancelled")


# Reports a doctor may rely on (and the recognition check may offer).
USABLE = (ReportStatus.FINAL, ReportStatus.AMENDED)


class Channel(models.TextChoices):
    HL7 = "hl7", "HL7 v2"
    FHIR = "fhir", "FHIR"


class Report(models.Model):
    """One report from a member: a lab panel's results or an exam's report, with its observations."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False)
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("source institution"), db_index=False)
    channel = models.CharField(max_length=4, choices=Channel.choices)
    identifier_system = models.CharField(max_length=200)
    identifier_value = models.CharField(max_length=64)
    kind = models.CharField(_("kind"), max_length=5, choices=ItemKind.choices)
    code = models.CharField(_("item"), max_length=20)  # the panel's or exam's catalogue code
    name = models.CharField(_("name"), max_length=60)
    status = models.CharField(_("status"), max_length=12, choices=ReportStatus.choices)
    ordered_at = models.DateTimeField(_("ordered"), null=True, blank=True)
    collected_at = models.DateTimeField(_("specimen / exam time"))
    reported_at = models.DateTimeField(_("reported"))
    received_at = models.DateTimeField(_("received"))
    conclusion = models.TextField(_("conclusion"), blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)  # the interop.Message it came in, if HL7
    version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        verbose_name = _("result report")
        verbose_name_plural = _("result reports")
        constraints = [
            models.UniqueConstraint(fields=["identifier_system", "identifier_value"], name="results_report_identifier"),
        ]
        indexes = [
            # The timeline and the recognition check: a patient's reports of an item, newest first.
            models.Index(fields=["patient", "code", "-collected_at"], name="results_report_patient_code"),
            models.Index(fields=["institution", "received_at"], name="results_report_source"),
        ]

    def __str__(self) -> str:  # never the patient
        return f"Report #{self.pk}"


class Flag(models.TextChoices):
    """HL7 Table 0078 abnormal flags, the ones Chinese LIS send."""

    NORMAL = "N", _("Normal")
    LOW = "L", _("Low")
    HIGH = "H", _("High")
    CRITICAL_LOW = "LL", _("Critically low")
    CRITICAL_HIGH = "HH", _("Critically high")
    ABNORMAL = "A", _("Abnormal")


class Observation(models.Model):
    """One value of a report. A correction of the report supersedes its observations (kept, marked) and
    adds the corrected ones."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="observations", db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False)
    code = models.CharField(_("item"), max_length=20)  # the lab item's catalogue code (or the sender's)
    loinc = models.CharField("LOINC", max_length=10, blank=True)
    name = models.CharField(_("name"), max_length=60)
    value = models.CharField(_("value"), max_length=200)
    value_num = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    reference = models.CharField(_("reference interval"), max_length=60, blank=True)
    flag = models.CharField(_("flag"), max_length=2, choices=Flag.choices, blank=True)
    critical = models.BooleanField(_("critical value"), default=False)
    observed_at = models.DateTimeField(_("observed"))
    superseded = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        ordering = ["report", "pk"]
        indexes = [
            models.Index(fields=["report"], name="results_obs_report"),
            # Trends: a patient's values of one item over time.
            models.Index(fields=["patient", "code", "observed_at"], condition=Q(superseded=False),
                         name="results_obs_trend"),
        ]

    def __str__(self) -> str:
        return f"Observation #{self.pk}"


# --- mutual recognition (检查检验结果互认) ---


class Exclusion(models.TextChoices):
    """Circumstances in which an earlier result is not recognised (互认 exclusions, 国卫医发〔2022〕6号 第十
    八条): the first two are known at order time and rules name which apply; the others are the doctor's
    judgement, given as an override reason."""

    EMERGENCY = "emergency", _("Emergency or critical condition (急危重症)")
    PREGNANCY = "pregnancy", _("Pregnancy (妊娠)")
    ACUTE_CHANGE = "acute_change", _("The condition has changed (病情变化)")
    CLINICAL_NEED = "clinical_need", _("Explicit clinical need (临床确需复查)")
    QUESTIONABLE = "questionable", _("The earlier result does not fit the picture (结果与临床不符)")
    PATIENT_REQUEST = "patient_request", _("The patient asks for a new test (患者要求)")
    OTHER = "other", _("Other (其他)")


AT_ORDER_TIME = (Exclusion.EMERGENCY, Exclusion.PREGNANCY)


class Rule(models.Model):
    """Whether and how an orderable item's earlier results are recognised: within how many days, from
    institutions of which level (by grade; `min_grade` empty: any member), with a passed quality control
    (`QualityPass`) when `requires_quality` is set, and not in the excluded circumstances."""

    item = models.OneToOneField(Item, on_delete=models.PROTECT, related_name="rule")
    recognisable = models.BooleanField(_("recognisable"), default=True)
    validity_days = models.PositiveSmallIntegerField(_("validity (days)"))
    min_grade = models.CharField(_("lowest source grade"), max_length=4, blank=True)
    requires_quality = models.BooleanField(_("source must have passed quality control"), default=True)
    exclusions = models.JSONField(_("excluded circumstances"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("recognition rule")
        verbose_name_plural = _("recognition rules")

    def __str__(self) -> str:
        return f"Rule #{self.pk}"


class QualityPass(models.Model):
    """An institution passed quality control for an item (室间质评 for a lab panel, the imaging quality
    control centre's check for an exam; `item` empty: all its items), valid for a period."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    issuer = models.CharField(_("issued by"), max_length=100)

    class Meta:
        verbose_name = _("quality-control pass")
        verbose_name_plural = _("quality-control passes")
        indexes = [models.Index(fields=["institution", "valid_to"], name="results_qc_institution")]

    def __str__(self) -> str:
        return f"QualityPass #{self.pk}"


class OrderStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RECOGNISED = "recognised", _("Answered by an earlier result (互认)")
    OVERRIDDEN = "overridden", _("New test (not recognised)")
    CANCELLED = "cancelled", _("Cancelled")


class Order(models.Model):
    """A doctor's order of a panel or exam for a patient, and what became of it at the recognition check."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", db_index=False)
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("ordering institution"), db_index=False)
    staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("ordering doctor"), db_index=False)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+", db_index=False)
    ordered_at = models.DateTimeField(_("ordered"))
    circumstances = models.JSONField(_("circumstances"), default=list, blank=True)  # AT_ORDER_TIME codes
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    offered = models.PositiveSmallIntegerField(_("earlier results offered"), default=0)
    answered_by = models.ForeignKey(Report, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("recognised report"))
    saving = models.DecimalField(_("saving (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True)
    override_reason = models.CharField(_("reason"), max_length=16, choices=Exclusion.choices, blank=True)
    override_note = models.CharField(_("note"), max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_membership_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["institution", "ordered_at"], name="results_order_institution"),
            models.Index(fields=["patient", "ordered_at"], name="results_order_patient"),
            models.Index(fields=["decided_at"], name="results_order_decided"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"
