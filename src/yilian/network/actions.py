"""Setting up the network: the consortium, its institutions and departments, staff and their memberships.

Only a system administrator acting as such (`Cap.CONFIGURE`), or the `SYSTEM` actor of a command that
bootstraps a site (there is no administrator before the first institution exists), may change the network.

Each `check_*` validates one item and raises ActionError naming the field; each `do_*` writes in a
transaction. The batch forms (`do_create_institutions`, `do_create_departments`, `do_create_staff_many`,
`do_grant_memberships`) run exactly the checks of the single forms, item by item, and then write with bulk
inserts, all or nothing; their error fields are prefixed `items[i].`.
"""

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from yilian.errors import ActionError, check_each
from yilian.network.acting import SYSTEM, Actor
from yilian.network.data.clinical_subjects import CLINICAL_SUBJECTS
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
from yilian.network.roles import Cap, Role

DIVISION = re.compile(r"^\d{6}$")
CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]{0,29}$")
LICENCE = re.compile(r"^[0-9A-Za-z\-]{0,30}$")
# 三员分立: one person never holds two of the three administrator roles.
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})


@dataclass
class NewConsortium:
    name: str
    short_name: str
    division_code: str


@dataclass
class NewInstitution:
    code: str
    name: str
    short_name: str
    kind: str
    division_code: str
    grade: str = Grade.UNGRADED
    parent_code: str = ""
    address: str = ""


@dataclass
class NewDepartment:
    institution_id: int
    subject_code: str
    name: str


@dataclass
class NewStaff:
    username: str
    name: str
    title: str
    licence_no: str = ""
    password: str = ""  # empty: the account gets an unusable password until one is set


@dataclass
class NewMembership:
    staff_id: int
    institution_id: int
    role: str
    department_id: int | None = None


def check_configure(actor: Actor) -> None:
    if actor != SYSTEM and not actor.can(Cap.CONFIGURE):
        raise ActionError("role", _("Your role may not configure the network."))


def _text(errors: dict, field: str, value: str, max_length: int, message: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > max_length:
        errors[field] = message
    return value


# --- consortium ---------------------------------------------------------------------------------------


def check_consortium(actor: Actor, data: NewConsortium) -> NewConsortium:
    check_configure(actor)
    errors: dict[str, str] = {}
    name = _text(errors, "name", data.name, 100, _("Name: 1–100 characters."))
    short = _text(errors, "short_name", data.short_name, 30, _("Short name: 1–30 characters."))
    code = (data.division_code or "").strip()
    if not DIVISION.match(code):
        errors["division_code"] = _("An administrative division code is 6 digits (GB/T 2260).")
    if "name" not in errors and Consortium.objects.filter(name=name).exists():
        errors["name"] = _("A consortium with this name already exists.")
    if errors:
        raise ActionError(errors=errors)
    return NewConsortium(name=name, short_name=short, division_code=code)


def do_create_consortium(actor: Actor, data: NewConsortium) -> Consortium:
    clean = check_consortium(actor, data)
    try:
        with transaction.atomic():
            return Consortium.objects.create(name=clean.name, short_name=clean.short_name,
                                             division_code=clean.division_code)
    except IntegrityError:
        raise ActionError("name", _("A consortium with this name already exists.")) from None


# --- institutions -------------------------------------------------------------------------------------


def check_institution(actor: Actor, consortium: Consortium, data: NewInstitution,
                      parents: dict[str, Institution] | None = None) -> NewInstitution:
    """`parents` maps codes to institutions already known (a batch passes the ones it looked up)."""
    check_configure(actor)
    errors: dict[str, str] = {}
    code = (data.code or "").strip()
    if not CODE.match(code):
        errors["code"] = _("Institution code: 1–30 letters, digits, dots, hyphens or underscores.")
    name = _text(errors, "name", data.name, 100, _("Name: 1–100 characters."))
    short = _text(errors, "short_name", data.short_name, 30, _("Short name: 1–30 characters."))
    if data.kind not in InstitutionKind.values:
        errors["kind"] = _("Kind is not one of the known institution kinds.")
    if data.grade not in Grade.values:
        errors["grade"] = _("Grade is not one of the known hospital grades.")
    division = (data.division_code or "").strip()
    if not DIVISION.match(division):
        errors["division_code"] = _("An administrative division code is 6 digits (GB/T 2260).")
    address = (data.address or "").strip()
    if len(address) > 200:
        errors["address"] = _("Address: at most 200 characters.")
    parent_code = (data.parent_code or "").strip()
    if parent_code:
        parent = (parents or {}).get(parent_code) or Institution.objects.filter(code=parent_code).first()
        if parent is None or parent.consortium_id != consortium.pk:
            errors["parent_code"] = _("Lead institution: choose a member of the same consortium.")
        elif parent_code == code:
            errors["parent_code"] = _("An institution cannot lead itself.")
    if errors:
        raise ActionError(errors=errors)
    return NewInstitution(code=code, name=name, short_name=short, kind=data.kind, division_code=division,
                          grade=data.grade, parent_code=parent_code, address=address)


def do_create_institutions(actor: Actor, consortium: Consortium, items: Sequence[NewInstitution]) -> list[Institution]:
    """Create many institutions; each lead (`parent_code`) must exist already. All or nothing."""
    check_configure(actor)
    parent_codes = {i.parent_code.strip() for i in items if (i.parent_code or "").strip()}
    parents = {p.code: p for p in Institution.objects.filter(code__in=parent_codes)}
    clean = check_each("items", items, lambda item: check_institution(actor, consortium, item, parents))
    codes, names = [c.code for c in clean], [c.name for c in clean]
    taken_codes = set(Institution.objects.filter(code__in=codes).values_list("code", flat=True))
    taken_names = set(Institution.objects.filter(consortium=consortium, name__in=names).values_list("name", flat=True))
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for i, c in enumerate(clean):
        if c.code in taken_codes or c.code in seen_codes:
            raise ActionError(f"items.{i}.code", _("An institution with this code already exists."))
        if c.name in taken_names or c.name in seen_names:
            raise ActionError(f"items.{i}.name", _("An institution with this name already exists in the consortium."))
        seen_codes.add(c.code)
        seen_names.add(c.name)
    rows = [
        Institution(consortium=consortium, code=c.code, name=c.name, short_name=c.short_name, kind=c.kind,
                    grade=c.grade, division_code=c.division_code, address=c.address,
                    parent=parents[c.parent_code] if c.parent_code else None)
        for c in clean
    ]
    try:
        with transaction.atomic():
            return Institution.objects.bulk_create(rows)
    except IntegrityError:
        raise ActionError("code", _("An institution with this code already exists.")) from None


def do_create_institution(actor: Actor, consortium: Consortium, data: NewInstitution) -> Institution:
    try:
        (institution,) = do_create_institutions(actor, consortium, [data])
    except ActionError as exc:
        raise exc.unprefixed("items.0") from None
    return institution


# --- departments --------------------------------------------------------------------------------------


def check_department(actor: Actor, data: NewDepartment, institution_ids: set[int] | None = None) -> NewDepartment:
    check_configure(actor)
    errors: dict[str, str] = {}
    known = institution_ids if institution_ids is not None else set(
        Institution.objects.filter(pk=data.institution_id).values_list("pk", flat=True))
    if data.institution_id not in known:
        errors["institution_id"] = _("Institution: choose a member institution.")
    if data.subject_code not in CLINICAL_SUBJECTS:
        errors["subject_code"] = _("Clinical subject: choose a code from the national list (诊疗科目).")
    name = _text(errors, "name", data.name, 50, _("Name: 1–50 characters."))
    if errors:
        raise ActionError(errors=errors)
    return NewDepartment(institution_id=data.institution_id, subject_code=data.subject_code, name=name)


def do_create_departments(actor: Actor, items: Sequence[NewDepartment]) -> list[Department]:
    check_configure(actor)
    ids = set(Institution.objects.filter(pk__in={i.institution_id for i in items}).values_list("pk", flat=True))
    clean = check_each("items", items, lambda item: check_department(actor, item, ids))
    taken = set(Department.objects.filter(institution_id__in=ids).values_list("institution_id", "name"))
    for i, c in enumerate(clean):
        key = (c.institution_id, c.name)
        if key in taken:
            raise ActionError(f"items.{i}.name", _("This institution already has a department with this name."))
        taken.add(key)
    try:
        with transaction.atomic():
            return Department.objects.bulk_create(
                [Department(institution_id=c.institution_id, subject_code=c.subject_code, name=c.name) for c in clean]
            )
    except IntegrityError:
        raise ActionError("name", _("This institution already has a department with this name.")) from None


def do_create_department(actor: Actor, data: NewDepartment) -> Department:
    try:
        (department,) = do_create_departments(actor, [data])
    except ActionError as exc:
        raise exc.unprefixed("items.0") from None
    return department


# --- staff --------------------------------------------------------------------------------------------


def check_staff(actor: Actor, data: NewStaff) -> NewStaff:
    """A staff member and their log-in. A password, when given, must pass the site's password rules."""
    check_configure(actor)
    User = get_user_model()
    errors: dict[str, str] = {}
    username = (data.username or "").strip()
    try:
        if not username or len(username) > 150:
            raise ValidationError("length")
        User.username_validator(username)
    except ValidationError:
        errors["username"] = _("User name: 1–150 letters, digits and @/./+/-/_ only.")
    name = _text(errors, "name", data.name, 50, _("Name: 1–50 characters."))
    if data.title not in Title.values:
        errors["title"] = _("Professional title is not one of the known titles.")
    licence = (data.licence_no or "").strip()
    if not LICENCE.match(licence):
        errors["licence_no"] = _("Licence number: at most 30 letters, digits or hyphens.")
    if data.password:
        try:
            validate_password(data.password, User(username=username))
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ActionError(errors=errors)
    return NewStaff(username=username, name=name, title=data.title, licence_no=licence, password=data.password)


def _hash_passwords(passwords: list[str]) -> list[str]:
    # PBKDF2 releases the GIL: hash the few usable passwords of a batch in parallel.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(make_password, passwords))


def do_create_staff_many(actor: Actor, items: Sequence[NewStaff]) -> list[Staff]:
    """Create staff members with their log-ins. All or nothing."""
    check_configure(actor)
    clean = check_each("items", items, lambda item: check_staff(actor, item))
    User = get_user_model()
    names = [c.username for c in clean]
    taken = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    seen: set[str] = set()
    for i, c in enumerate(clean):
        if c.username in taken or c.username in seen:
            raise ActionError(f"items.{i}.username", _("This user name is already taken."))
        seen.add(c.username)
    usable = [i for i, c in enumerate(clean) if c.password]
    hashes = dict(zip(usable, _hash_passwords([clean[i].password for i in usable]), strict=True))
    users = []
    for i, c in enumerate(clean):
        user = User(username=c.username)
        if i in hashes:
            user.password = hashes[i]
        else:
            user.set_unusable_password()
        users.append(user)
    try:
        with transaction.atomic():
            users = User.objects.bulk_create(users)
            return Staff.objects.bulk_create(
                [Staff(user=u, name=c.name, title=c.title, licence_no=c.licence_no)
                 for u, c in zip(users, clean, strict=True)]
            )
    except IntegrityError:
        raise ActionError("username", _("This user name is already taken.")) from None


def do_create_staff(actor: Actor, data: NewStaff) -> Staff:
    try:
        (staff,) = do_create_staff_many(actor, [data])
    except ActionError as exc:
        raise exc.unprefixed("items.0") from None
    return staff


# --- memberships --------------------------------------------------------------------------------------


def check_membership(actor: Actor, data: NewMembership, *, staff_ids: set[int], institution_ids: set[int],
                     departments: dict[int, int], admin_roles: dict[int, set[str]]) -> NewMembership:
    """`departments` maps department id → institution id; `admin_roles` maps staff id → the administrator
    roles they already hold (the batch keeps it up to date as it goes)."""
    check_configure(actor)
    errors: dict[str, str] = {}
    if data.staff_id not in staff_ids:
        errors["staff_id"] = _("Staff member: choose an existing staff member.")
    if data.institution_id not in institution_ids:
        errors["institution_id"] = _("Institution: choose a member institution.")
    if data.department_id is not None and departments.get(data.department_id) != data.institution_id:
        errors["department_id"] = _("Department: choose a department of that institution.")
    if data.role not in Role.values:
        errors["role"] = _("Role is not one of the known roles.")
    elif data.role in ADMIN_ROLES and admin_roles.get(data.staff_id, set()) - {data.role}:
        errors["role"] = _("One person may not hold two of the three administrator roles (system, security, audit).")
    elif actor.membership is not None and data.staff_id == actor.membership.staff_id and data.role in ADMIN_ROLES:
        errors["role"] = _("You may not grant an administrator role to yourself.")
    if errors:
        raise ActionError(errors=errors)
    return data


def check_grants(actor: Actor, items: Sequence[NewMembership]) -> None:
    """Every check `do_grant_memberships` makes, without writing (the admin form shows them by field)."""
    check_configure(actor)
    staff_ids = set(Staff.objects.filter(pk__in={m.staff_id for m in items}).values_list("pk", flat=True))
    institution_ids = set(
        Institution.objects.filter(pk__in={m.institution_id for m in items}).values_list("pk", flat=True))
    departments = dict(
        Department.objects.filter(pk__in={m.department_id for m in items if m.department_id is not None})
        .values_list("pk", "institution_id"))
    admin_roles = _admin_roles(staff_ids)
    existing = set(Membership.objects.filter(staff_id__in=staff_ids)
                   .values_list("staff_id", "institution_id", "department_id", "role"))
    for i, item in enumerate(items):
        try:
            check_membership(actor, item, staff_ids=staff_ids, institution_ids=institution_ids,
                             departments=departments, admin_roles=admin_roles)
        except ActionError as exc:
            raise exc.prefixed(f"items.{i}") from None
        key = (item.staff_id, item.institution_id, item.department_id, item.role)
        if key in existing:
            raise ActionError(f"items.{i}.role", _("This staff member already holds this role there."))
        existing.add(key)
        if item.role in ADMIN_ROLES:
            admin_roles.setdefault(item.staff_id, set()).add(item.role)


def _admin_roles(staff_ids, exclude_membership: int | None = None) -> dict[int, set[str]]:
    """staff id → the administrator roles they hold in active memberships."""
    out: dict[int, set[str]] = {}
    rows = Membership.objects.filter(staff_id__in=staff_ids, role__in=ADMIN_ROLES, active=True)
    if exclude_membership is not None:
        rows = rows.exclude(pk=exclude_membership)
    for staff_id, role in rows.values_list("staff_id", "role"):
        out.setdefault(staff_id, set()).add(role)
    return out


def do_grant_memberships(actor: Actor, items: Sequence[NewMembership]) -> list[Membership]:
    """Grant many memberships. All or nothing."""
    check_grants(actor, items)
    try:
        with transaction.atomic():
            return Membership.objects.bulk_create(
                [Membership(staff_id=m.staff_id, institution_id=m.institution_id, department_id=m.department_id,
                            role=m.role) for m in items]
            )
    except IntegrityError:
        raise ActionError("role", _("This staff member already holds this role there.")) from None


def do_grant_membership(actor: Actor, data: NewMembership) -> Membership:
    try:
        (membership,) = do_grant_memberships(actor, [data])
    except ActionError as exc:
        raise exc.unprefixed("items.0") from None
    return membership


def check_membership_active(actor: Actor, membership: Membership, active: bool) -> None:
    """Reactivating an administrator role must not break 三员分立, nor may one reactivate one's own."""
    check_configure(actor)
    if not active or membership.role not in ADMIN_ROLES:
        return
    others = _admin_roles({membership.staff_id}, exclude_membership=membership.pk).get(membership.staff_id, set())
    if others - {membership.role}:
        raise ActionError("active", _(
            "One person may not hold two of the three administrator roles (system, security, audit)."))
    if actor.membership is not None and actor.membership.staff_id == membership.staff_id:
        raise ActionError("active", _("You may not grant an administrator role to yourself."))


def do_set_membership_active(actor: Actor, membership: Membership, active: bool) -> Membership:
    """Deactivate (the way to end a role: history stays) or reactivate a membership."""
    check_membership_active(actor, membership, active)
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(active=active)
    membership.active = active
    return membership


def do_save_network_row(actor: Actor, obj: Consortium | Institution | Department | Staff) -> None:
    """Save an edited consortium, institution, department or staff record after the row's own validation
    (field validators, constraints, `clean`). Creating rows goes through the `do_create_*` actions."""
    check_configure(actor)
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ActionError(errors={k: " ".join(v) for k, v in exc.message_dict.items()}) from None
    with transaction.atomic():
        obj.save()
