"""Outpatient clinics across the consortium: schedules, their slots, bookings, registrations (挂号) and
the per-institution policy rows that govern them.

A schedule is the recurring rule (who sits when); a slot is one concrete period with a capacity; a booking
claims one place in a slot; a registration is the paid (or reused, or waived) right to be seen, and opens
the outpatient encounter in `care`.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class SessionKind(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")
    WEEKEND = "weekend", _("Weekend")


class FeeTier(models.TextChoices):
    """Registration fee tiers; expert follows from the doctor's title, special (特需) is chosen."""

    ORDINARY = "ordinary", _("Ordinary (普通)")
    EXPERT = "expert", _("Expert (专家)")
    SPECIAL = "special", _("Special needs (特需)")


class Channel(models.TextChoices):
    WINDOW = "window", _("Window")
    SELF_SERVICE = "self_service", _("Self-service (mobile)")
    PHONE = "phone", _("Phone")
    REFERRAL = "referral", _("Referral")


class FeePolicy(models.Model):
    """The registration fee of one tier at one institution (a policy row, not a setting)."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    tier = models.CharField(_("fee tier"), max_length=10, choices=FeeTier.choices)
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = _("registration fee")
        constraints = [
            models.UniqueConstraint(fields=["institution", "tier"], name="fee_policy_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_policy_amount"),
        ]

    def __str__(self) -> str:
        return f"Fee {self.institution_id} {self.tier} {self.amount}"


class OutpatientPolicy(models.Model):
    """An institution's outpatient rules. Without a row the defaults below apply (`policy.policy_for`)."""

    institution = models.OneToOneField("network.Institution", on_delete=models.PROTECT, related_name="+")
    max_daily_bookings = models.PositiveSmallIntegerField(
        _("active bookings per patient per department per day"), default=1)
    registration_valid_days = models.PositiveSmallIntegerField(_("registration valid (days)"), default=3)

    class Meta:
        verbose_name = _("outpatient policy")

    def __str__(self) -> str:
        return f"Outpatient policy {self.institution_id}"


class FreeRule(models.TextChoices):
    AGE = "age", _("Aged at least")
    CONTRACTED = "contracted", _("Contracted with a family doctor")
    DEPARTMENT = "department", _("Department without registration fee")


class FreeRegistrationRule(models.Model):
    """A group that registers without a fee at an institution: an age, a family-doctor contract (an active
    family-doctor grant, until the community app keeps contracts), or a department."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("rule"), max_length=12, choices=FreeRule.choices)
    min_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True)
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("registration-free rule")
        constraints = [
            models.CheckConstraint(condition=~Q(kind="age") | Q(min_age__isnull=False), name="free_rule_age"),
            models.CheckConstraint(condition=~Q(kind="department") | Q(department__isnull=False),
                                   name="free_rule_department"),
        ]

    def __str__(self) -> str:
        return f"Free rule #{self.pk} {self.kind}"


class Holiday(models.Model):
    """A day an institution holds no scheduled clinics; slot generation skips it."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("holiday")
        constraints = [models.UniqueConstraint(fields=["institution", "date"], name="holiday_unique")]

    def __str__(self) -> str:
        return f"Holiday {self.institution_id} {self.date}"


class Schedule(models.Model):
    """A recurring clinic: a doctor's (or a general clinic's, without a doctor) session on some weekdays
    between two dates. `weekdays` holds ISO weekday digits, "12345" for Monday to Friday."""

    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    session = models.CharField(_("session"), max_length=10, choices=SessionKind.choices)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"))
    capacity = models.PositiveSmallIntegerField(_("capacity per slot"))
    referral_reserved = models.PositiveSmallIntegerField(_("reserved for referral per slot"), default=0)
    release_hours = models.PositiveSmallIntegerField(_("referral release (hours before)"), default=24)
    tier = models.CharField(_("fee tier"), max_length=10, choices=FeeTier.choices)
    weekdays = models.CharField(_("weekdays"), max_length=7)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("clinic schedule")
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=F("start_time")), name="schedule_times"),
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="schedule_validity"),
            models.CheckConstraint(condition=Q(slot_minutes__gt=0, capacity__gt=0), name="schedule_capacity"),
            models.CheckConstraint(condition=Q(referral_reserved__lte=F("capacity")), name="schedule_reserved"),
        ]

    def __str__(self) -> str:
        return f"Schedule #{self.pk}"


class SlotStatus(models.TextChoices):
    OPEN = "open", _("Open")
    STOPPED = "stopped", _("Clinic stopped (停诊)")


class Slot(models.Model):
    """One bookable period of a schedule. `booked` counts active bookings (of which `referral_booked` came
    by referral); `issued` only grows and numbers the bookings. Before `release_at` the ordinary channels
    may fill only `capacity - reserved` places; after it every free place is ordinary."""

    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="slots")
    date = models.DateField(_("date"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    reserved = models.PositiveSmallIntegerField(_("reserved for referral"), default=0)
    release_at = models.DateTimeField(_("referral places released at"))
    booked = models.PositiveSmallIntegerField(default=0)
    referral_booked = models.PositiveSmallIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=SlotStatus.choices, default=SlotStatus.OPEN)

    class Meta:
        verbose_name = _("slot")
        ordering = ["start", "pk"]
        indexes = [models.Index(fields=["date", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "start"], name="slot_unique"),
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="slot_not_overbooked"),
            models.CheckConstraint(condition=Q(referral_booked__lte=F("booked")), name="slot_referral_count"),
            models.CheckConstraint(condition=Q(reserved__lte=F("capacity")), name="slot_reserved"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="slot_period"),
        ]

    def __str__(self) -> str:
        return f"Slot #{self.pk}"


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")
    CHECKED_IN = "checked_in", _("Checked in")
    NO_SHOW = "no_show", _("No-show")


ACTIVE_BOOKING = Q(status__in=[BookingStatus.BOOKED, BookingStatus.CHECKED_IN])


class Booking(models.Model):
    """One patient's place in a slot. `number` is the booking number given to the patient; `serial` their
    place in the slot's order (就诊序号)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    serial = models.PositiveIntegerField()
    number = models.CharField(_("booking number"), max_length=30, unique=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=10, choices=BookingStatus.choices,
                              default=BookingStatus.BOOKED)
    reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("booking")
        indexes = [models.Index(fields=["patient", "status"])]
        constraints = [
            models.UniqueConstraint(fields=["slot", "serial"], name="booking_serial_unique"),
            models.UniqueConstraint(fields=["slot", "patient"], condition=ACTIVE_BOOKING,
                                    name="booking_one_active_per_slot"),
        ]

    def __str__(self) -> str:
        return f"Booking #{self.pk}"


class BookingEvent(models.Model):
    """Append-only history of a booking: booked, cancelled, checked in, no-show."""

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"Booking #{self.booking_id} {self.kind}"


class Message(models.Model):
    """A notice to a patient (e.g. a stopped clinic with alternatives). Sending it (SMS) is not done here."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Message #{self.pk}"


class Registration(models.Model):
    """A registration (挂号) at an institution's department. A return visit within the validity reuses the
    first one (`reused_from`, no fee, the same encounter); a waived fee has a `Waiver`."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, related_name="+")
    encounter = models.ForeignKey("care.Encounter", on_delete=models.PROTECT, related_name="+")
    booking = models.OneToOneField(Booking, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="registration")
    reused_from = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reuses")
    tier = models.CharField(_("fee tier"), max_length=10, choices=FeeTier.choices)
    fee = models.DecimalField(_("fee charged"), max_digits=8, decimal_places=2)
    registered_at = models.DateTimeField()
    valid_until = models.DateField(_("valid until"))

    class Meta:
        verbose_name = _("registration")
        indexes = [models.Index(fields=["patient", "department", "valid_until"]),
                   models.Index(fields=["institution", "registered_at"])]  # the registration indicators

    def __str__(self) -> str:
        return f"Registration #{self.pk}"


class Waiver(models.Model):
    """The fee a registration did not charge, and the rule that waived it."""

    registration = models.OneToOneField(Registration, on_delete=models.PROTECT, related_name="waiver")
    amount = models.DecimalField(_("amount"), max_digits=8, decimal_places=2)
    rule = models.ForeignKey(FreeRegistrationRule, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Waiver #{self.pk}"


class QueueStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    CALLED = "called", _("Called")
    IN_ROOM = "in_room", _("In the room")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class Priority(models.IntegerChoices):
    """Who goes first among those waiting (higher first, then by booked time, then check-in)."""

    NORMAL = 0, _("Normal")
    RETURNING = 1, _("Returning with results")
    ELDERLY = 2, _("Elderly (70 and over)")
    DISABLED = 3, _("Disabled")


class QueueEntry(models.Model):
    """One visit in the queue of a clinic (a department's doctor or room on a day), with its time stamps:
    booked time (the slot's start; none for a walk-in), arrival (first contact at the desk), check-in, call,
    start (the patient enters the room) and end. The waiting-time indicators read these."""

    registration = models.OneToOneField(Registration, on_delete=models.PROTECT, related_name="queue_entry")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    room = models.CharField(_("room"), max_length=20, blank=True)
    date = models.DateField(_("date"))
    number = models.PositiveIntegerField(_("queue number"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=10, choices=QueueStatus.choices, default=QueueStatus.WAITING)
    calls = models.PositiveSmallIntegerField(default=0)
    booked_at = models.DateTimeField(_("booked time"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrival"))
    checked_in_at = models.DateTimeField(_("check-in"))
    called_at = models.DateTimeField(_("called"), null=True, blank=True)
    started_at = models.DateTimeField(_("start"), null=True, blank=True)
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        indexes = [models.Index(fields=["institution", "department", "date", "status"]),
                   models.Index(fields=["institution", "arrived_at"])]  # the waiting-time indicators
        constraints = [
            models.UniqueConstraint(fields=["institution", "department", "date", "number"],
                                    name="queue_number_unique"),
            models.CheckConstraint(condition=Q(checked_in_at__gte=F("arrived_at")), name="queue_arrival_first"),
            models.CheckConstraint(condition=Q(called_at__isnull=True) | Q(called_at__gte=F("checked_in_at")),
                                   name="queue_call_after_check_in"),
            models.CheckConstraint(condition=Q(started_at__isnull=True) | Q(started_at__gte=F("checked_in_at")),
                                   name="queue_start_after_check_in"),
            models.CheckConstraint(condition=Q(ended_at__isnull=True) | (Q(started_at__isnull=False)
                                                                        & Q(ended_at__gte=F("started_at"))),
                                   name="queue_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"QueueEntry #{self.pk}"
