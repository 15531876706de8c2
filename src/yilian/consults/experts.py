"""Who is who in a consultation: the consultation centre, the partner hospitals, where experts come
from, and which requests a doctor may claim or a desk assign. Reads only; the rules that change state
are in `actions.py` and `operations.py`."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yilian.consults.models import Consultation, PartnerInstitution, Target
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import GRASSROOTS_KINDS, Institution, Membership
from yilian.network.roles import Cap, Role


def require(actor: Actor, cap: str, message: str) -> None:
    if not actor.can(cap):
        raise ActionError("role", message)


def require_doctor(actor: Actor, message: str) -> None:
    """Experts are doctors: the doctor role (with its `record_visit` capability), not a registrar."""
    if actor.role != Role.DOCTOR or not actor.can(Cap.RECORD_VISIT):
        raise ActionError("role", message)


def staff_id_of(actor: Actor) -> int | None:
    return actor.membership.staff_id if actor.membership else None


def consortium_of(institution_id) -> int | None:
    return Institution.objects.filter(pk=institution_id).values_list("consortium_id", flat=True).first()


def partner_ids(consortium_id: int) -> set[int]:
    return set(PartnerInstitution.objects.filter(institution__consortium_id=consortium_id)
               .values_list("institution_id", flat=True))


def centre_of(consortium_id: int) -> Institution | None:
    """The consortium's consultation centre: its lead institution (the member no other member leads;
    a partner hospital is never the centre)."""
    return (Institution.objects.filter(consortium_id=consortium_id, parent__isnull=True)
            .exclude(pk__in=partner_ids(consortium_id)).order_by("code").first())


def expert_institutions(consortium_id: int) -> QuerySet[Institution]:
    """Where experts come from: the consortium's hospitals (not its grassroots institutions) and the
    partner hospitals outside the county (which are hospitals too)."""
    return Institution.objects.filter(consortium_id=consortium_id).exclude(kind__in=GRASSROOTS_KINDS)


def is_doctor_at(staff_id, institution_id) -> bool:
    return isinstance(staff_id, int) and isinstance(institution_id, int) and Membership.objects.filter(
        staff_id=staff_id, institution_id=institution_id, role=Role.DOCTOR, active=True).exists()


def check_expert(consultation: Consultation, staff_id, institution_id, errors: dict, name: str) -> None:
    """An active doctor of an expert institution of the requester's consortium, not of the requesting
    institution, not the requesting doctor."""
    consortium_id = consortium_of(consultation.from_institution_id)
    allowed = expert_institutions(consortium_id).exclude(pk=consultation.from_institution_id)
    if (not allowed.filter(pk=institution_id if isinstance(institution_id, int) else None).exists()
            or not is_doctor_at(staff_id, institution_id) or staff_id == consultation.from_staff_id):
        errors[name] = _("Expert: choose a doctor of a hospital of the consortium or of a partner hospital, "
                         "not of the requesting institution.")


def claimable(actor: Actor) -> Q:
    """Requests this doctor may claim: to the centre when acting at the centre, to their department, or
    to them by name."""
    if actor.role != Role.DOCTOR or actor.membership is None:
        return Q(pk__in=[])
    m = actor.membership
    return (Q(target=Target.CENTRE, to_institution_id=m.institution_id)
            | Q(target=Target.DEPARTMENT, to_institution_id=m.institution_id, to_department_id=m.department_id)
            | Q(target=Target.EXPERT, to_staff_id=m.staff_id))


def assignable(actor: Actor) -> Q:
    """Requests this desk may assign: those addressed to its institution (the centre's desk, a
    department's hospital, the named expert's hospital)."""
    if not actor.can(Cap.RECORD_VISIT) or actor.membership is None:
        return Q(pk__in=[])
    return Q(to_institution_id=actor.institution_id)
