"""One small demo, built once for the demo tests (twice, in fact: the second build checks determinism) and
flushed when they are done, so that no other app's tests ever see it."""

import hashlib
from datetime import date

import pytest
from django.core.management import call_command
from django.test import override_settings

from yilian.demo.build import Options, build

SMALL = Options(seed=7, residents=300, months=1, today=date(2025, 3, 17))
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fingerprint() -> str:
    """A digest of everything the generator decides (never printed: it covers names and identifiers)."""
    from yilian.care.models import ChargeItem, Encounter
    from yilian.network.models import Institution, Membership
    from yilian.patients.models import Patient

    h = hashlib.sha256()
    for row in Institution.objects.order_by("code").values_list("code", "name", "parent__code"):
        h.update(repr(row).encode())
    for row in Membership.objects.order_by("staff__user__username", "institution__code", "role") \
            .values_list("staff__user__username", "staff__name", "staff__title", "staff__licence_no",
                         "institution__code", "department__name", "role"):
        h.update(repr(row).encode())
    for row in Patient.objects.order_by("resident_id", "name", "birth_date", "phone") \
            .values_list("resident_id", "name", "sex", "birth_date", "phone", "address", "registered_at__code"):
        h.update(repr(row).encode())
    for row in Encounter.objects.order_by("start", "patient__resident_id", "patient__name") \
            .values_list("start", "institution__code", "department__name", "klass", "practitioner__user__username",
                         "patient__resident_id", "patient__name", "end"):
        h.update(repr(row).encode())
    for row in ChargeItem.objects.order_by("charged_at", "encounter__patient__name", "category", "amount") \
            .values_list("charged_at", "category", "amount", "description"):
        h.update(repr(row).encode())
    for query in (*outpatient_rows(), *network_rows(), *green_rows(), *results_rows()):
        for row in query:
            h.update(repr(row).encode())
    return h.hexdigest()


def results_rows():
    """The results stage's rows by natural keys: a report by its identifier, an observation by its report
    and item, an order by its time, patient and item; the clock-stamped `received_at` and the message rows'
    times are left out."""
    from yilian.interop.models import Message, Unmatched
    from yilian.results.models import Observation, Order, Report

    yield Report.objects.order_by("identifier_system", "identifier_value").values_list(
        "identifier_system", "identifier_value", "patient__resident_id", "institution__code", "channel", "code",
        "status", "ordered_at", "collected_at", "reported_at", "conclusion", "version")
    yield Observation.objects.order_by("report__identifier_system", "report__identifier_value", "superseded",
                                       "code").values_list(
        "report__identifier_value", "code", "value", "unit", "flag", "critical", "observed_at", "superseded")
    yield Order.objects.order_by("ordered_at", "patient__resident_id", "item__code").values_list(
        "ordered_at", "patient__resident_id", "institution__code", "staff__user__username", "item__code",
        "status", "offered", "answered_by__identifier_value", "saving", "override_reason", "decided_at")
    yield Message.objects.order_by("sending_application", "control_id").values_list(
        "sending_application", "control_id", "message_type", "outcome")
    yield Unmatched.objects.order_by("message__control_id").values_list("message__control_id", "status",
                                                                        "patient__resident_id")


def green_rows():
    """The green-channel stage's rows (emergency tables) by natural keys: a case is known by its centre,
    opening time and patient; the times the actions take from the clock (`recorded_at`, `created_at`,
    the `mirrored` events' time) are left out."""
    from yilian.emergency.models import (
        CallEvent,
        Case,
        CaseEvent,
        EmsCall,
        NodeTime,
        PrearrivalNotice,
        PrehospitalRecord,
    )

    case = ("case__centre", "case__opened_at", "case__patient__resident_id")
    call = ("call__received_at", "call__complaint")
    yield Case.objects.order_by("opened_at", "centre", "patient__resident_id").values_list(
        "centre", "opened_at", "patient__resident_id", "patient__name", "institution__code",
        "opened_by_institution__code", "arrival_mode", "transferred_from__code", "in_hospital_onset",
        "provisional_sex", "provisional_age", "closed_at", "disposition")
    yield NodeTime.objects.order_by(*case, "node", "at", "reason").values_list(
        *case, "node", "at", "reason", "source", "supersedes__at")
    yield CaseEvent.objects.exclude(kind="mirrored").order_by(*case, "at", "kind").values_list(
        *case, "kind", "at", "data__to", "data__disposition")
    yield EmsCall.objects.order_by("received_at", "complaint").values_list(
        "received_at", "institution__code", "caller_phone", "address", "complaint", "suspected", *case[:2])
    yield CallEvent.objects.order_by(*call, "kind").values_list(*call, "kind", "at", "vehicle")
    yield PrehospitalRecord.objects.order_by(*call, "recorded_at").values_list(
        *call, "recorded_at", "systolic", "diastolic", "heart_rate", "spo2", "gcs_eye", "gcs_verbal", "gcs_motor",
        "be_fast", "ecg_at", "ecg_transmitted_at", "working_diagnosis", "treatments")
    yield PrearrivalNotice.objects.order_by(*case, "sent_at").values_list(
        *case, "sent_at", "eta", "summary", "from_institution__code", "to_institution__code")


def outpatient_rows():
    """The outpatient stage's rows in a stable order, by natural keys (never primary keys)."""
    from yilian.access.models import Grant
    from yilian.scheduling.models import (
        Booking,
        BookingEvent,
        FeePolicy,
        FreeRegistrationRule,
        Holiday,
        OutpatientPolicy,
        QueueEntry,
        Registration,
        Schedule,
        Slot,
    )

    schedule = ("institution__code", "department__name", "doctor__user__username", "session", "start_time",
                "weekdays", "valid_from")
    slot = ("start",) + tuple(f"schedule__{f}" for f in schedule[:4])
    booking = tuple(f"slot__{f}" for f in slot) + ("serial",)
    yield FeePolicy.objects.order_by("institution__code", "tier").values_list("institution__code", "tier", "amount")
    yield OutpatientPolicy.objects.order_by("institution__code").values_list(
        "institution__code", "max_daily_bookings", "registration_valid_days")
    yield FreeRegistrationRule.objects.order_by("institution__code", "kind").values_list(
        "institution__code", "kind", "min_age", "department__name", "active")
    yield Holiday.objects.order_by("institution__code", "date").values_list("institution__code", "date", "name")
    yield Grant.objects.order_by("patient__resident_id", "valid_from", "kind", "to_institution__code",
                                 "to_staff__user__username", "valid_to", "source_type").values_list(
        "patient__resident_id", "kind", "to_institution__code", "to_staff__user__username", "valid_from", "valid_to")
    yield Schedule.objects.order_by(*schedule).values_list(
        *schedule, "end_time", "slot_minutes", "capacity", "referral_reserved", "release_hours", "tier", "valid_to")
    yield Slot.objects.order_by(*slot).values_list(*slot, "end", "capacity", "reserved", "booked", "referral_booked",
                                                   "issued", "status")
    yield Booking.objects.order_by(*booking).values_list(*booking, "channel", "status", "reason", "created_at",
                                                         "patient__resident_id", "patient__name")
    yield BookingEvent.objects.order_by("at", *(f"booking__{f}" for f in booking), "kind").values_list(
        "at", "kind", *(f"booking__{f}" for f in booking))
    yield Registration.objects.order_by("registered_at", "institution__code", "department__name", "patient__name") \
        .values_list("registered_at", "institution__code", "department__name", "patient__resident_id",
                     "patient__name", "tier", "fee", "valid_until", "reused_from__registered_at",
                     "booking__serial", "encounter__start", "waiver__amount", "waiver__rule__kind")
    yield QueueEntry.objects.order_by("arrived_at", "institution__code", "department__name", "number").values_list(
        "arrived_at", "institution__code", "department__name", "number", "date", "priority", "status", "calls",
        "doctor__user__username", "booked_at", "checked_in_at", "called_at", "started_at", "ended_at",
        "patient__name")


def network_rows():
    """The network stage's rows (referrals, consultations, diagnostic centres) by natural keys: the numbers,
    which carry primary keys, and the times the actions take from the clock are left out."""
    from yilian.consults.models import (
        Consultation,
        ConsultationExpert,
        GuidedOperation,
        Opinion,
        PartnerInstitution,
    )
    from yilian.diagnostics.models import Centre, CriticalValue, Report, Study, StudyEvent
    from yilian.referrals.models import FollowUp, Referral, ReferralEvent

    ref = ("referral__created_at", "referral__patient__resident_id", "referral__from_staff__user__username")
    con = ("consultation__created_at", "consultation__patient__resident_id", "consultation__from_staff__user__username")
    study = ("study__submitted_at", "study__patient__resident_id", "study__exam_type")
    yield PartnerInstitution.objects.order_by("institution__code").values_list("institution__code", "since")
    yield Centre.objects.order_by("kind").values_list("kind", "name", "institution__code", "department__name")
    yield Referral.objects.order_by(*(f.removeprefix("referral__") for f in ref), "to_institution__code").values_list(
        "created_at", "patient__resident_id", "from_staff__user__username", "direction", "setting", "urgency",
        "from_institution__code", "to_institution__code", "to_department__name", "to_staff__user__username",
        "diagnosis_code", "reason", "status", "deadline_at", "accepted_at", "rejected_at", "arrived_at", "closed_at",
        "escalated_at", "follow_up_plan", "booking__slot__start", "bed_requested")
    yield ReferralEvent.objects.order_by(*ref, "at", "kind").values_list(*ref, "kind", "at", "data__reason")
    yield FollowUp.objects.order_by(*ref).values_list(*ref, "institution__code", "assignee__user__username",
                                                      "created_at")
    yield Consultation.objects.order_by(*(f.removeprefix("consultation__") for f in con)).values_list(
        "created_at", "patient__resident_id", "from_staff__user__username", "from_institution__code", "target",
        "to_institution__code", "to_department__name", "to_staff__user__username", "mode", "mdt", "urgency",
        "question", "session_start", "session_minutes", "status", "expert__user__username", "assigned_at",
        "signed_at", "confirmed_at", "cancelled_at")
    yield ConsultationExpert.objects.order_by(*con, "staff__user__username").values_list(
        *con, "staff__user__username", "lead", "joined_at", "contributed_at")
    yield Opinion.objects.order_by(*con, "version").values_list(*con, "version", "opinion", "signed_at")
    yield GuidedOperation.objects.order_by("recorded_at", "patient__resident_id", "procedure").values_list(
        "recorded_at", "patient__resident_id", "procedure", "performed_on", "institution__code", "mode",
        "expert__user__username", "operator__user__username", "outcome", "consultation__created_at")
    yield Study.objects.order_by(*(f.removeprefix("study__") for f in study), "priority").values_list(
        "submitted_at", "patient__resident_id", "exam_type", "priority", "requesting_institution__code",
        "requesting_staff__user__username", "status", "reader__user__username", "claimed_at", "signed_at",
        "amended_at", "closed_at", "close_reason", "study_uid", "image_count", "specimen_barcode", "received_at")
    yield Report.objects.order_by(*study, "version").values_list(*study, "version", "status", "impression",
                                                                 "signed_at")
    yield CriticalValue.objects.order_by(*study, "flagged_at").values_list(
        *study, "description", "flagged_at", "acknowledged_at", "acknowledged_by__user__username", "escalated_at")
    yield StudyEvent.objects.order_by(*study, "at", "kind").values_list(*study, "kind", "at")


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        first = build(SMALL)
        first_print = fingerprint()
        call_command("flush", interactive=False, verbosity=0)
        lines: list[str] = []
        second = build(SMALL, progress=lines.append)
        second_print = fingerprint()
        yield {"summary": second, "first": first, "fingerprints": (first_print, second_print), "progress": lines}
        call_command("flush", interactive=False, verbosity=0)
