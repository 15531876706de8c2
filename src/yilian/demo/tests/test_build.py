"""The demo consortium as built: geography, staff, log-ins, residents, activity and its indicators."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db.models import BigIntegerField, CharField, Exists, F, OuterRef, Subquery
from django.db.models.functions import Cast, Coalesce
from django.test import RequestFactory, override_settings
from django.utils import timezone

from yilian.access.models import AuditEvent, CareRelation
from yilian.analytics.registry import Scope
from yilian.care.indicators import drug_ratio, grassroots_visit_rate
from yilian.care.models import Encounter, EncounterClass
from yilian.consults.models import PartnerInstitution
from yilian.demo import days
from yilian.demo.data.county import COUNTY_CODE, TOWNSHIPS
from yilian.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from yilian.demo.tests.conftest import FAST_HASHER, SMALL
from yilian.network.models import Institution, InstitutionKind, Membership, Title
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.models import LinkCandidate, Merge, Patient

pytestmark = pytest.mark.django_db
K = InstitutionKind
HOSPITAL_KINDS = {K.GENERAL_SECONDARY, K.GENERAL_TERTIARY, K.TCM, K.MATERNAL_CHILD}


def test_institutions_by_kind(demo):
    county = Institution.objects.exclude(pk__in=PartnerInstitution.objects.values("institution"))  # the partner
    counts = Counter(county.values_list("kind", flat=True))  # hospital outside the county (network stage)
    assert counts[K.TCM] == counts[K.MATERNAL_CHILD] == 1
    assert counts[K.GENERAL_SECONDARY] + counts[K.GENERAL_TERTIARY] == 1
    assert counts[K.TOWNSHIP] == len(TOWNSHIPS) == 12
    assert 95 <= counts[K.VILLAGE] <= 110
    assert set(county.values_list("division_code", flat=True)) == {COUNTY_CODE}


def test_village_clinics_belong_to_their_township(demo):
    names = {code: name for code, name, _n, _c in TOWNSHIPS}
    for clinic in Institution.objects.filter(kind=K.VILLAGE).select_related("parent"):
        assert len(clinic.code) == 12 and clinic.code.startswith(COUNTY_CODE)
        assert clinic.parent.kind == K.TOWNSHIP
        assert clinic.parent.code == clinic.code[:9]
        assert clinic.name.startswith(f"杏林县{names[clinic.parent.code]}")
        assert clinic.short_name.endswith("村卫生室")
    for centre in Institution.objects.filter(kind=K.TOWNSHIP).select_related("parent"):
        assert len(centre.code) == 9 and centre.parent.kind == K.GENERAL_SECONDARY


def test_departments_per_kind(demo):
    for inst in Institution.objects.prefetch_related("departments"):
        subjects = [d.subject_code for d in inst.departments.all()]
        if inst.kind == K.VILLAGE:
            assert subjects == ["02"]
        elif inst.kind == K.TOWNSHIP:
            assert 4 <= len(subjects) <= 7
        else:
            assert 10 <= len(subjects) <= 22


def test_staff_titles_fit_their_institution(demo):
    total = Membership.objects.values("staff").distinct().count()
    assert 1300 <= total <= 1700
    rows = Membership.objects.values_list("role", "staff__title", "institution__kind", "staff_id")
    at_hospital = {staff for _role, _title, kind, staff in rows if kind in HOSPITAL_KINDS}
    for role, title, kind, staff in rows:
        if title in (Title.CHIEF_PHYSICIAN, Title.CHIEF_NURSE, Title.CHIEF_TECHNICIAN):
            # a hospital's; a county expert may also hold a clinic at a township centre (docs/demo.md)
            assert staff in at_hospital
            assert kind in HOSPITAL_KINDS or (kind == K.TOWNSHIP and role == Role.DOCTOR)
        if title == Title.VILLAGE_DOCTOR:
            assert kind == K.VILLAGE
        if role == Role.NURSE:
            assert title in {Title.CHIEF_NURSE, Title.ASSOC_CHIEF_NURSE, Title.NURSE_IN_CHARGE, Title.SENIOR_NURSE,
                             Title.NURSE}
    village_doctor_titles = Counter(t for r, t, k, _s in rows if k == K.VILLAGE and r == Role.DOCTOR)
    assert village_doctor_titles.most_common(1)[0][0] == Title.VILLAGE_DOCTOR
    for inst in Institution.objects.all():
        roles = set(Membership.objects.filter(institution=inst).values_list("role", flat=True))
        assert {Role.DOCTOR, Role.REGISTRAR} <= roles
    for role in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR):
        assert Membership.objects.filter(role=role).count() == 1
    assert Membership.objects.filter(role=Role.MANAGER).count() >= 2


def test_demo_logins_authenticate_and_others_cannot(demo):
    request = RequestFactory().post("/login/")
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        for login in DEMO_LOGINS:
            user = authenticate(request, username=login.username, password=DEMO_PASSWORD)
            assert user is not None, login.username
            roles = set(Membership.objects.filter(staff__user=user).values_list("role", flat=True))
            assert login.role in roles
    users = get_user_model().objects.exclude(username__in=[d.username for d in DEMO_LOGINS])
    assert users.exists()
    assert not any(u.has_usable_password() for u in users)


def test_township_doctor_has_two_memberships(demo):
    memberships = list(Membership.objects.filter(staff__user__username="township.doctor")
                       .select_related("institution"))
    assert len(memberships) == 2
    kinds = {m.institution.kind: m.institution for m in memberships}
    assert set(kinds) == {K.TOWNSHIP, K.VILLAGE}
    assert kinds[K.VILLAGE].parent_id == kinds[K.TOWNSHIP].pk
    for username in ("county.doctor", "village.doctor", "auditor"):
        assert Membership.objects.filter(staff__user__username=username).count() == 1


def test_resident_ids_valid_and_registered_at_grassroots(demo):
    residents = Patient.objects.filter(resident_id__isnull=False).select_related("registered_at")
    assert residents.count() == SMALL.residents
    names = {code: name for code, name, _n, _c in TOWNSHIPS}
    for p in residents:
        parsed = residentid.parse(p.resident_id, today=SMALL.today)
        assert parsed.address_code == COUNTY_CODE
        assert parsed.birth_date == p.birth_date and parsed.sex == p.sex
        assert p.registered_at.kind in (K.VILLAGE, K.TOWNSHIP)
        assert names[p.registered_at.code[:9]] in p.address
        assert p.phone == "" or (len(p.phone) == 11 and p.phone.startswith("1"))
    missing = residents.filter(phone="").count() / residents.count()
    assert 0.08 <= missing <= 0.30


def test_second_records_without_id_at_county_hospital(demo):
    seconds = Patient.objects.filter(resident_id__isnull=True)
    assert seconds.exists()
    assert set(seconds.values_list("registered_at__kind", flat=True)) == {K.GENERAL_SECONDARY}
    assert demo["summary"]["duplicates"] == seconds.count()


def test_every_encounter_has_audit_row_and_care_relation(demo):
    encounters = Encounter.objects.annotate(pk_text=Cast("pk", CharField()))
    assert encounters.count() == demo["summary"]["encounters"] > 0
    # Written for the record the visit was recorded on: the encounter's patient, or a second record merged
    # into it since (the mpi stage).
    merged_into = Patient.objects.filter(pk=OuterRef("patient_id")).values("merged_into_id")
    audited = AuditEvent.objects.filter(object_type="encounter", object_id=OuterRef("pk_text"), action="create") \
        .annotate(survivor=Coalesce(Subquery(merged_into), "patient_id", output_field=BigIntegerField())) \
        .filter(survivor=OuterRef("patient_id"))
    cared = CareRelation.objects.filter(source_type="encounter", source_id=OuterRef("pk"),
                                        institution_id=OuterRef("institution_id"))
    assert not encounters.filter(~Exists(audited)).exists()
    assert not encounters.filter(~Exists(cared)).exists()
    assert encounters.filter(klass=EncounterClass.EMERGENCY).exists()


def test_patients_are_checked_in_where_they_were_not_registered(demo):
    # A second record's registration at the county hospital follows its resident's record when merged.
    checked_in = CareRelation.objects.filter(source_type__in=["check_in", "registration"],
                                             patient_id=OuterRef("patient_id"),
                                             institution_id=OuterRef("institution_id"))
    away = Encounter.objects.exclude(institution_id=F("patient__registered_at_id"))
    assert away.exists()
    assert not away.filter(~Exists(checked_in)).exists()
    assert AuditEvent.objects.filter(object_type="patient", action="create").count() == Patient.objects.count()


def test_linkage_merges_the_second_records_and_queues_the_doubtful(demo):
    summary = demo["summary"]
    merges = Merge.objects.select_related("survivor", "merged")
    assert merges.count() == summary["mpi.merged"] > 0
    for merge in merges:  # each second record (no resident ID) into a resident's record (with one)
        assert merge.merged.resident_id is None and merge.survivor.resident_id
        assert merge.merged.merged_into_id == merge.survivor_id
    assert summary["mpi.merged"] <= summary["duplicates"]
    assert LinkCandidate.objects.filter(status="pending").count() == summary["mpi.pending"]


def test_same_seed_gives_identical_data(demo):
    first, second = demo["fingerprints"]
    assert first == second
    a = {k: v for k, v in demo["first"].items() if k != "seconds"}
    b = {k: v for k, v in demo["summary"].items() if k != "seconds"}
    assert a == b


def test_indicators_in_plausible_ranges(demo):
    scope = Scope(start=SMALL.today - timedelta(days=40), end=SMALL.today)
    assert 0.50 <= grassroots_visit_rate(scope) <= 0.75
    assert 0.22 <= drug_ratio(scope) <= 0.45


def test_visits_lie_in_the_period(demo):
    starts = [timezone.localtime(s).date() for s in Encounter.objects.values_list("start", flat=True)]
    assert min(starts) >= date.fromisoformat(demo["summary"]["start"])
    assert max(starts) < SMALL.today


def test_daily_curve():
    monday, sunday = date(2025, 3, 10), date(2025, 3, 16)
    assert days.day_weight(sunday) < 0.6 * days.day_weight(monday)
    assert days.day_weight(date(2025, 1, 13)) > days.day_weight(date(2025, 7, 14))  # winter rise (both Mondays)
    assert days.day_weight(date(2025, 1, 30)) < 0.5 * days.day_weight(date(2025, 1, 16))  # Spring Festival
