"""Factories shared by every app's tests.

A small consortium (a county hospital leading a township centre leading a village clinic), staff with a
membership per role, and patients registered and seen **through the actions layer**, so every care
relationship and audit row a test looks at is a real one.

Network rows (institutions, staff, memberships) are test scaffolding and are created directly; everything
about patients goes through `patients.actions`, `care.actions` and `access.actions`.
"""

import itertools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from yilian.access.actions import do_break_glass, do_grant, do_revoke_grant
from yilian.access.models import BreakGlass, Grant, GrantKind
from yilian.care.actions import Charge, Visit, do_open_encounter
from yilian.care.models import Encounter
from yilian.network.acting import SESSION_KEY, SYSTEM, Actor, actor_for_membership
from yilian.network.models import (
    Consortium,
    Department,
    Grade,
    Institution,
    InstitutionKind,
    Membership,
    Staff,
    Title,
)
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.actions import NewPatient, do_register_patient
from yilian.patients.models import Patient

PASSWORD = "Yilian-test-2026"
COUNTY_DIVISION = "330782"  # 义乌市: any real 6-digit GB/T 2260 code will do

_sequence = itertools.count(1)
# Given names built from these characters never collide with each other or with page furniture.
_GIVEN = "岚珂瑾璇琰瑶琛璟珩玥"

ROLE_TITLES = {
    Role.DOCTOR: Title.ATTENDING,
    Role.NURSE: Title.SENIOR_NURSE,
    Role.TECHNICIAN: Title.TECHNICIAN,
}


def next_number() -> int:
    return next(_sequence)


@dataclass
class Network:
    consortium: Consortium
    county: Institution
    township: Institution
    village: Institution
    departments: dict[str, Department] = field(default_factory=dict)

    def department(self, institution: Institution) -> Department:
        return self.departments[institution.code]


def make_network() -> Network:
    """A county hospital, a township health centre it leads, and a village clinic the centre leads; one
    department each (the county hospital has two)."""
    consortium = Consortium.objects.create(name="测试县医共体", short_name="测试医共体", division_code=COUNTY_DIVISION)
    county = Institution.objects.create(
        consortium=consortium, code="T-H01", name="测试县人民医院", short_name="县医院",
        kind=InstitutionKind.GENERAL_SECONDARY, grade=Grade.G2A, division_code=COUNTY_DIVISION,
    )
    township = Institution.objects.create(
        consortium=consortium, code="T-W01", name="城关镇卫生院", short_name="城关卫生院",
        kind=InstitutionKind.TOWNSHIP, grade=Grade.G1, division_code=COUNTY_DIVISION, parent=county,
    )
    village = Institution.objects.create(
        consortium=consortium, code="T-V01", name="东山村卫生室", short_name="东山村",
        kind=InstitutionKind.VILLAGE, division_code=COUNTY_DIVISION, parent=township,
    )
    departments = {
        county.code: Department.objects.create(institution=county, subject_code="03", name="内科"),
        township.code: Department.objects.create(institution=township, subject_code="02", name="全科"),
        village.code: Department.objects.create(institution=village, subject_code="02", name="全科"),
    }
    Department.objects.create(institution=county, subject_code="20", name="急诊科")
    return Network(consortium, county, township, village, departments)


def make_staff(username: str | None = None, *, name: str = "", title: str = Title.ATTENDING,
               password: str = PASSWORD) -> Staff:
    n = next_number()
    username = username or f"staff{n}"
    user = get_user_model().objects.create_user(username=username, password=password)
    return Staff.objects.create(user=user, name=name or f"职员{n}", title=title)


def make_membership(institution: Institution, role: str, *, staff: Staff | None = None,
                    department: Department | None = None, username: str | None = None,
                    active: bool = True) -> Membership:
    """A membership (and, unless `staff` is given, a new staff member with a log-in)."""
    if staff is None:
        staff = make_staff(username, title=ROLE_TITLES.get(role, Title.ADMINISTRATOR))
    return Membership.objects.create(staff=staff, institution=institution, department=department, role=role,
                                     active=active)


def actor(membership: Membership, source: str = "127.0.0.1") -> Actor:
    return actor_for_membership(membership, source=source)


def new_patient(**overrides) -> NewPatient:
    """Registration data for a fresh synthetic person: a valid resident ID (GB 11643), a unique name and a
    unique mobile number."""
    n = next_number()
    born = overrides.pop("born", date(1950, 1, 1) + timedelta(days=(n * 397) % 20000))
    sequence = overrides.pop("sequence", (n * 7) % 1000)
    rid = residentid.make(COUNTY_DIVISION, born, sequence)
    given = _GIVEN[n % len(_GIVEN)] + _GIVEN[(n // len(_GIVEN)) % len(_GIVEN)]
    data = {"name": f"欧阳{given}", "resident_id": rid, "sex": "", "birth_date": born,
            "phone": f"139{n:08d}", "address": "东山村3组"}
    if "resident_id" in overrides and "birth_date" not in overrides:
        data["birth_date"] = None  # taken from the given resident ID, if any
    data.update(overrides)
    return NewPatient(**data)


def register_patient(by: Membership, **overrides) -> Patient:
    """Register a patient at `by`'s institution (which must have the register capability)."""
    return do_register_patient(actor(by), new_patient(**overrides))


def open_encounter(by: Membership, patient: Patient, *, department: Department | None = None, start=None,
                   charges: list[Charge] | None = None, **visit) -> Encounter:
    """Open an encounter at `by`'s institution through the actions layer."""
    department = department or Department.objects.filter(institution_id=by.institution_id).first()
    return do_open_encounter(actor(by), Visit(
        patient_id=patient.pk, department_id=department.pk, start=start or timezone.now() - timedelta(hours=1),
        charges=list(charges or []), **visit,
    ))


def grant(patient: Patient, *, to_institution: Institution | None = None, to_staff: Staff | None = None,
          days: int = 30, kind: str = GrantKind.REFERRAL, scope: str = "all", by: Actor = SYSTEM) -> Grant:
    return do_grant(by, patient_id=patient.pk, kind=kind, scope=scope,
                    to_institution_id=to_institution.pk if to_institution else None,
                    to_staff_id=to_staff.pk if to_staff else None,
                    valid_to=timezone.now() + timedelta(days=days), reason="转诊")


def revoke(g: Grant, by: Actor = SYSTEM) -> Grant:
    return do_revoke_grant(by, g)


def expire_grant(g: Grant) -> Grant:
    """Move the grant's period into the past (test helper: the application never rewrites a grant)."""
    now = timezone.now()
    Grant.objects.filter(pk=g.pk).update(valid_from=now - timedelta(days=10), valid_to=now - timedelta(seconds=1))
    g.refresh_from_db()
    return g


def break_glass(by: Membership, patient: Patient, reason: str = "急诊昏迷，需查既往史") -> BreakGlass:
    return do_break_glass(actor(by), patient.pk, reason)


def expire_break_glass(glass: BreakGlass) -> BreakGlass:
    """Let the 24 hours run out (test helper)."""
    now = timezone.now()
    BreakGlass.objects.filter(pk=glass.pk).update(started_at=now - timedelta(hours=25),
                                                  expires_at=now - timedelta(seconds=1))
    glass.refresh_from_db()
    return glass


def log_in(client, membership: Membership):
    """Log the client in as the membership's user, acting as that membership."""
    client.force_login(membership.staff.user)
    session = client.session
    session[SESSION_KEY] = membership.pk
    session.save()
    return client


def identifying_strings(patient: Patient) -> dict[str, str]:
    """What must never appear where the patient may not be seen (keys are safe to print, values not)."""
    values = {
        "name": patient.name,
        "resident_id": patient.resident_id or "",
        "resident_id_masked": patient.masked_resident_id,
        "phone": patient.phone,
        "phone_masked": patient.masked_phone,
    }
    return {k: v for k, v in values.items() if v}


def leaked(body: bytes | str, patient: Patient) -> list[str]:
    """Which of the patient's identifying strings the body contains: field names only, never the values,
    so that a failing assertion prints nothing identifying."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:  # JSON escapes non-ASCII ("\u6b27"): look at the decoded values too
        text += json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        pass
    return sorted(k for k, v in identifying_strings(patient).items() if v in text)


def link_candidate(a: Patient, b: Patient, *, weight: float = 20.0, status: str = "pending",
                   agreement: dict | None = None):
    """A pair as the batch linkage (`yilian mpi link`) writes it; test scaffolding, created directly."""
    from yilian.patients.models import LinkCandidate

    left, right = sorted([a, b], key=lambda p: p.pk)
    return LinkCandidate.objects.create(
        left=left, right=right, match_weight=weight, probability=1 / (1 + 2 ** -(weight - 20)),
        agreement=agreement or {"name": "pinyin", "birth_date": "exact", "sex": "same", "phone": "missing",
                                "address": "village", "resident_id": "missing"},
        status=status,
    )


def second_record(by: Membership, original: Patient, **overrides) -> Patient:
    """The same person registered again at `by`'s institution without a resident ID (a look-alike surname,
    as the demo's second records at the county hospital)."""
    data = {"name": "区" + original.name[1:] if original.name.startswith("欧") else original.name,
            "resident_id": "", "sex": original.sex, "birth_date": original.birth_date, "phone": original.phone,
            "address": original.address}
    data.update(overrides)
    return do_register_patient(actor(by), NewPatient(**data))
