"""Test data for the FHIR ingest tests: a township centre's LIS as a sender with a bearer token, a patient
known by resident ID and record number, and the resources a member's LIS would post."""

import json
from dataclasses import dataclass

from django.test import Client

from yilian.interop.fhir import INTERPRETATION_URI, ITEM_URI, LOINC_URI, MRN_URI, RESIDENT_ID_URI
from yilian.interop.models import Sender
from yilian.interop.senders import digest
from yilian.network.roles import Role
from yilian.patients.models import Patient
from yilian.testing.factories import Network, make_membership, make_network, register_patient

TOKEN = "township-lis-token-0123456789abcdef"
COUNTY_TOKEN = "county-lis-token-0123456789abcdef"
REPORTS = "http://lis.t-w01.example/report"
BASE = "/fhir/r4b/"


@dataclass
class World:
    net: Network
    patient: Patient
    sender: Sender
    county_sender: Sender


def make_world() -> World:
    net = make_network()
    registrar = make_membership(net.township, Role.REGISTRAR)
    patient = register_patient(registrar, mrn="M0001")
    sender = Sender.objects.create(code="T-W01-LIS", name="城关卫生院检验系统", institution=net.township,
                                   token_digest=digest(TOKEN))
    county = Sender.objects.create(code="T-H01-LIS", name="县医院检验系统", institution=net.county,
                                   token_digest=digest(COUNTY_TOKEN))
    return World(net, patient, sender, county)


def by_resident_id(patient: Patient) -> dict:
    return {"reference": f"Patient?identifier={RESIDENT_ID_URI}|{patient.resident_id}"}


def by_record_number(institution_code: str = "T-W01", mrn: str = "M0001") -> dict:
    return {"identifier": {"system": f"{MRN_URI}{institution_code}", "value": mrn}}


def lab(code: str, value, unit: str = "mmol/L", *, loinc: str = "", id_: str = "", flag: str = "",
        low=None, high=None) -> dict:
    obs = {"resourceType": "Observation", "status": "final",
           "code": {"coding": [{"system": LOINC_URI, "code": loinc}] if loinc else [{"system": ITEM_URI,
                                                                                    "code": code}]},
           "valueQuantity": {"value": value, "unit": unit}}
    if id_:
        obs["id"] = id_
    if flag:
        obs["interpretation"] = [{"coding": [{"system": INTERPRETATION_URI, "code": flag}]}]
    if low is not None or high is not None:
        obs["referenceRange"] = [{k: {"value": v, "unit": unit} for k, v in (("low", low), ("high", high))
                                  if v is not None}]
    return obs


def electrolytes(patient: Patient, identifier: str = "R0001", status: str = "final", *, system: str = REPORTS,
                 **overrides) -> dict:
    """An electrolyte panel: potassium by LOINC (critically high), sodium, chloride flagged low by the LIS."""
    report = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": system, "value": identifier}],
        "status": status,
        "code": {"coding": [{"system": ITEM_URI, "code": "ELEC"}], "text": "电解质"},
        "subject": by_resident_id(patient),
        "effectiveDateTime": "2026-11-20T08:00:00+08:00",
        "issued": "2026-11-20T10:00:00+08:00",
        "contained": [lab("K", 6.8, loinc="2823-3", id_="k"), lab("NA", 140, id_="na", low=137, high=147),
                      lab("CL", 95, id_="cl", flag="L")],
        "result": [{"reference": "#k"}, {"reference": "#na"}, {"reference": "#cl"}],
        "conclusion": "血钾危急值",
    }
    report.update(overrides)
    return report


def glucose(patient: Patient, identifier: str = "G0001", value=7.2, **overrides) -> dict:
    obs = lab("GLU", value, loinc="14771-0")
    obs.update({"identifier": [{"system": REPORTS, "value": identifier}], "subject": by_resident_id(patient),
                "effectiveDateTime": "2026-11-20T07:30:00+08:00", "issued": "2026-11-20T09:00:00+08:00"})
    obs.update(overrides)
    return obs


def post(path: str, body, *, token: str | None = TOKEN, client: Client | None = None,
         content_type: str = "application/fhir+json", **headers):
    client = client or Client()
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body, ensure_ascii=False)
    return client.post(BASE + path, data=data, content_type=content_type, **headers)


def get(path: str, *, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return Client().get(BASE + path, **headers)
