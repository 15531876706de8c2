"""The consortium, its institutions (three county hospitals, a dozen township centres, a hundred village
clinics) and their departments, created through `yilian.network.actions`."""

from yilian.demo.data.county import (
    ADDRESS_PREFIX,
    CONSORTIUM_NAME,
    CONSORTIUM_SHORT,
    COUNTY,
    COUNTY_CODE,
    HOSPITALS,
    SEAT_TOWNSHIP,
    TOWNSHIPS,
)
from yilian.demo.data.departments import BY_KIND
from yilian.demo.data.villages import county_villages, seat_village
from yilian.demo.world import Place, World
from yilian.network.acting import SYSTEM
from yilian.network.actions import (
    NewConsortium,
    NewDepartment,
    NewInstitution,
    do_create_consortium,
    do_create_departments,
    do_create_institution,
    do_create_institutions,
)
from yilian.network.models import Grade, InstitutionKind

SEAT_NAME = dict((c, n) for c, n, _v, _central in TOWNSHIPS)[SEAT_TOWNSHIP]


def _hospitals() -> list[NewInstitution]:
    return [
        NewInstitution(code=code, name=name, short_name=short, kind=kind, grade=grade, division_code=COUNTY_CODE,
                       parent_code="" if key == "county" else HOSPITALS[0][1],
                       address=f"{ADDRESS_PREFIX}{SEAT_NAME}{street}")
        for key, code, name, short, kind, grade, street in HOSPITALS
    ]


def _townships() -> list[NewInstitution]:
    out = []
    for code, name, _villages, central in TOWNSHIPS:
        centre = "中心卫生院" if central else "卫生院"
        out.append(NewInstitution(
            code=code, name=f"{COUNTY}{name}{centre}", short_name=f"{name}{centre}", kind=InstitutionKind.TOWNSHIP,
            grade=Grade.G1, division_code=COUNTY_CODE, parent_code=HOSPITALS[0][1],
            address=f"{ADDRESS_PREFIX}{name}{seat_village(name)}",
        ))
    return out


def _villages(villages: dict[str, list[tuple[str, str]]]) -> list[NewInstitution]:
    out = []
    for code, name, _count, _central in TOWNSHIPS:
        for vcode, vname in villages[code]:
            out.append(NewInstitution(
                code=vcode, name=f"{COUNTY}{name}{vname}卫生室", short_name=f"{vname}卫生室",
                kind=InstitutionKind.VILLAGE, division_code=COUNTY_CODE, parent_code=code,
                address=f"{ADDRESS_PREFIX}{name}{vname}",
            ))
    return out


def create_network(world: World) -> None:
    consortium = do_create_consortium(
        SYSTEM, NewConsortium(name=CONSORTIUM_NAME, short_name=CONSORTIUM_SHORT, division_code=COUNTY_CODE))
    world.villages = county_villages(TOWNSHIPS)
    keys = {code: key for key, code, *_rest in HOSPITALS}
    lead, *others = _hospitals()  # the lead first: the others name it as theirs
    created = [do_create_institution(SYSTEM, consortium, lead)] + do_create_institutions(SYSTEM, consortium, others)
    for inst in created:
        world.places[keys[inst.code]] = Place(keys[inst.code], inst.kind, inst, BY_KIND[inst.kind])
    for inst in do_create_institutions(SYSTEM, consortium, _townships()):
        world.places[inst.code] = Place(inst.code, inst.kind, inst, BY_KIND[inst.kind], township=inst.code)
    for inst in do_create_institutions(SYSTEM, consortium, _villages(world.villages)):
        world.places[inst.code] = Place(inst.code, inst.kind, inst, BY_KIND[inst.kind], township=inst.code[:9])
    wanted = [NewDepartment(institution_id=p.institution.pk, subject_code=d.subject, name=d.name)
              for p in world.places.values() for d in p.specs]
    by_id = {p.institution.pk: p for p in world.places.values()}
    departments = do_create_departments(SYSTEM, wanted)
    for dept in departments:
        by_id[dept.institution_id].departments[dept.name] = dept
    kinds: dict[str, int] = {}
    for p in world.places.values():
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    world.counts.update({"institutions": len(world.places), "departments": len(departments)})
    world.say("institutions", f"1 consortium, {len(world.places)} institutions "
              f"({', '.join(f'{k} {n}' for k, n in kinds.items())}), {len(departments)} departments")
