"""Test support for orders and recognition: the small consortium of `testing.factories` (county hospital
2A, township centre grade 1, village clinic ungraded), doctors at the county and the township, a patient
registered at the county (so the county cares for them), quality-control passes for the county and the
township, and reports stored through `results.actions.store_report` at chosen times."""

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from yilian.network.acting import SYSTEM
from yilian.network.models import Membership
from yilian.network.roles import Role
from yilian.patients.models import Patient
from yilian.results.actions import (
    Incoming,
    IncomingObservation,
    NewQualityPass,
    do_record_quality_passes,
    store_report,
)
from yilian.results.models import Report
from yilian.testing import factories as f

_numbers = itertools.count(1)

VALUES = {
    "CBC": [IncomingObservation("WBC", "白细胞", "12.5", "10^9/L"), IncomingObservation("HGB", "血红蛋白", "132", "g/L")],
    "ELEC": [IncomingObservation("K", "钾", "6.8", "mmol/L"), IncomingObservation("NA", "钠", "140", "mmol/L")],
    "LIPID": [IncomingObservation("TC", "总胆固醇", "4.1", "mmol/L")],
    "CARD": [IncomingObservation("CTNI", "肌钙蛋白I", "0.01", "ng/mL")],
}


@dataclass
class World:
    net: f.Network
    county_doctor: Membership
    county_doctor2: Membership
    township_doctor: Membership
    patient: Patient


def make_world() -> World:
    net = f.make_network()
    registrar = f.make_membership(net.county, Role.REGISTRAR)
    county_doctor = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
    county_doctor2 = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
    township_doctor = f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township))
    patient = f.register_patient(registrar, sex="1", resident_id="", birth_date=date(1960, 5, 1))
    for institution in (net.county, net.township):
        quality_pass(institution)
    return World(net, county_doctor, county_doctor2, township_doctor, patient)


def quality_pass(institution, item=None, valid_from: date | None = None, valid_to: date | None = None):
    """A pass for `item` (an `Item`, or None: all items), through the action; a year either side by default."""
    today = timezone.localdate()
    [qc] = do_record_quality_passes(SYSTEM, [NewQualityPass(
        institution.pk, item.code if item is not None else "", valid_from or today - timedelta(days=365),
        valid_to or today + timedelta(days=365), "县临床检验中心")])
    return qc


def report(patient: Patient, institution, code: str = "CBC", *, days_ago: float = 2, status: str = "final",
           collected_at: datetime | None = None, ordered_at: datetime | None = None, name: str = "",
           conclusion: str = "", identifier: str = "") -> Report:
    """A report of `code` collected `days_ago` days ago (or at `collected_at`), reported an hour later."""
    collected = collected_at or timezone.now() - timedelta(days=days_ago)
    observations = VALUES.get(code, [])
    data = Incoming(institution_id=institution.pk, channel="hl7", identifier_system=f"{institution.code}-LIS",
                    identifier_value=identifier or f"R{next(_numbers):06d}", code=code, name=name or code,
                    status=status, collected_at=collected, reported_at=collected + timedelta(hours=1),
                    ordered_at=ordered_at, observations=list(observations),
                    conclusion=conclusion or ("" if observations else "未见明显异常。"))
    return store_report(SYSTEM, patient, data).report
