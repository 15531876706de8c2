"""Reports for the timeline, trend and own-results tests, stored through `results.actions.store_report`
(so every flag, version and audit row is the real one)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from yilian.network.acting import SYSTEM
from yilian.results.actions import Incoming, IncomingObservation, store_report

SH = ZoneInfo("Asia/Shanghai")
_numbers = iter(range(1, 10**6))


def at(day: int, hour: int = 8, month: int = 11) -> datetime:
    """A time in Shanghai, in 2026."""
    return datetime(2026, month, day, hour, 0, tzinfo=SH)


def lab(patient, institution, when: datetime, values, *, code="ELEC", name="电解质", status="final",
        identifier=None, conclusion=""):
    """A lab report with `values`: [(code, name, value, unit[, flag[, reference]])]; `identifier` the same
    as an earlier report's makes this its next version."""
    observations = [IncomingObservation(v[0], v[1], v[2], v[3], flag=v[4] if len(v) > 4 else "",
                                        reference=v[5] if len(v) > 5 else "") for v in values]
    return store_report(SYSTEM, patient, Incoming(
        institution_id=institution.pk, channel="hl7", identifier_system=f"{institution.code}-LIS",
        identifier_value=identifier or f"L{next(_numbers):06d}", code=code, name=name, status=status,
        collected_at=when, reported_at=when + timedelta(hours=2), ordered_at=when - timedelta(minutes=30),
        conclusion=conclusion, observations=observations)).report


def exam(patient, institution, when: datetime, conclusion: str, *, code="CT-HEAD", name="头颅CT平扫",
         status="final", identifier=None):
    return store_report(SYSTEM, patient, Incoming(
        institution_id=institution.pk, channel="fhir", identifier_system=f"{institution.code}-PACS",
        identifier_value=identifier or f"E{next(_numbers):06d}", code=code, name=name, status=status,
        collected_at=when, reported_at=when + timedelta(hours=1), conclusion=conclusion)).report


def potassium(patient, institution, when, value, **kw):
    return lab(patient, institution, when, [("K", "钾", value, "mmol/L"), ("NA", "钠", "140", "mmol/L")], **kw)
