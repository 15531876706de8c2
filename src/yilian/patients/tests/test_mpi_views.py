"""The master patient index pages: registration's search, the QR code and card, identifiers, check-in by
scan, the review queue and merges. Good and bad input, in both languages."""

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent, CareRelation
from yilian.network.roles import Role
from yilian.patients import matching
from yilian.patients.merging import do_merge
from yilian.patients.models import Identifier, LinkStatus, Merge, Patient, QrToken
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts


def details(patient, **overrides) -> dict:
    data = {"name": patient.name, "resident_id": "", "sex": patient.sex, "birth_date": patient.birth_date.isoformat(),
            "phone": patient.phone, "address": patient.address, "insurance": "", "mrn": ""}
    data.update(overrides)
    return data


@pytest.fixture
def village_desk(net):
    return f.make_membership(net.village, Role.REGISTRAR, username="village-desk")


# --- registration: search before create ----------------------------------------------------------------------


def test_search_shows_the_records_the_registrar_may_see_and_counts_the_others(client_as, registrar, village_desk):
    held_elsewhere = f.register_patient(village_desk)
    look_alike = "区" + held_elsewhere.name[1:]
    ours = f.second_record(registrar, held_elsewhere, name=look_alike, phone="13800000001")
    matching.do_index_patients([held_elsewhere.pk, ours.pk])
    typed = details(held_elsewhere, name=look_alike, phone="")
    resp = client_as(registrar, language="en").post(reverse("patients:register"), typed)
    assert resp.status_code == 200
    assert contains(resp, ours.masked_name) and contains(resp, ours.masked_phone)
    assert contains(resp, "1 possible match registered elsewhere")
    assert f.leaked(resp.content, held_elsewhere) == []
    assert contains(resp, f'name="claim" value="{ours.pk}"')
    assert contains(resp, "Date of birth: same")


def test_this_is_the_person_from_the_page(client_as, net, registrar, colleague, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    client = client_as(desk)
    resp = client.post(reverse("patients:register"), {**details(patient, mrn="WS-1"), "claim": patient.pk})
    assert resp.status_code == 302 and resp["Location"] == reverse("patients:detail", args=[patient.pk])
    assert Identifier.objects.filter(patient=patient, system="T-W01", value="WS-1").exists()


def test_this_is_the_person_by_resident_id_from_the_page(client_as, village_desk, patient):
    client = client_as(village_desk)
    data = details(patient, resident_id=patient.resident_id, sex="", birth_date="")
    searched = client.post(reverse("patients:register"), data)
    assert contains(searched, 'data-testid="exact-elsewhere"')
    # What the registrar typed, nothing more (no masked identifiers, no candidate card).
    assert f.leaked(searched.content, patient) == ["name", "phone", "resident_id"]
    assert not contains(searched, 'data-testid="candidate"')
    resp = client.post(reverse("patients:register"), {**data, "claim_identifier": "resident_id"})
    assert resp.status_code == 302
    assert CareRelation.objects.filter(patient=patient, institution=village_desk.institution).exists()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_claim_bad_input(client_as, village_desk, patient, lang):
    client = client_as(village_desk, **LANGUAGES[lang])
    before = row_counts("patients.Identifier")
    resp = client.post(reverse("patients:register"), {**details(patient, mrn="病历号"), "claim_identifier":
                                                      "resident_id", "resident_id": "11010519491231002X"})
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert {"mrn"} <= set(errors)
    assert marked_invalid(resp, "mrn")
    if lang == "en":
        assert all(is_english(e) for e in errors["mrn"])
    assert row_counts("patients.Identifier") == before


# --- the patient page: identifiers and the QR code --------------------------------------------------------------


def test_patient_page_shows_masked_identifiers_and_the_qr_code(client_as, registrar, patient):
    resp = client_as(registrar).get(reverse("patients:detail", args=[patient.pk]))
    assert resp.status_code == 200
    assert contains(resp, "<svg") and contains(resp, 'data-testid="qr"')
    assert not contains(resp, patient.resident_id)
    assert contains(resp, reverse("patients:card", args=[patient.pk]))


def test_link_and_unlink_from_the_page(client_as, registrar, patient):
    client = client_as(registrar)
    resp = client.post(reverse("patients:link_identifier", args=[patient.pk]),
                       {"type": "insurance", "value": "A12345678", "system": ""})
    assert resp.status_code == 302
    card = Identifier.objects.get(patient=patient, type="insurance")
    resp = client.post(reverse("patients:unlink_identifier", args=[patient.pk, card.pk]))
    assert resp.status_code == 302
    assert not Identifier.objects.filter(pk=card.pk).exists()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("data", "field", "english"), [
    ({"type": "insurance", "value": "1"}, "value", "6–20"),
    ({"type": "passport", "value": "E1234567"}, "system", "three letters"),
    ({"type": "consortium", "value": "1"}, "type", "valid choice"),
    ({"type": "insurance", "value": ""}, "value", "required"),
])
def test_link_bad_input(client_as, registrar, patient, lang, data, field, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("patients.Identifier")
    resp = client.post(reverse("patients:link_identifier", args=[patient.pk]), {"system": "", **data})
    assert resp.status_code == 400
    errors = {k: v for k, v in resp.context["identifier_form"].errors.items()}
    assert field in errors
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(errors[field])
        assert all(is_english(str(e)) for e in errors[field])
    assert row_counts("patients.Identifier") == before


def test_card_page_and_rotation(client_as, registrar, patient):
    client = client_as(registrar)
    token = QrToken.objects.get(patient=patient).token
    card = client.get(reverse("patients:card", args=[patient.pk]))
    assert card.status_code == 200 and contains(card, token) and contains(card, "@media print")
    resp = client.post(reverse("patients:rotate_qr", args=[patient.pk]))
    assert resp.status_code == 302
    assert not contains(client.get(reverse("patients:card", args=[patient.pk])), token)


def test_a_merged_record_redirects_to_its_survivor(client_as, registrar, owner, patient):
    second = f.second_record(registrar, patient)
    do_merge(f.actor(registrar), patient.pk, second.pk)
    resp = client_as(owner).get(reverse("patients:detail", args=[second.pk]))
    assert resp.status_code == 302 and resp["Location"] == reverse("patients:detail", args=[patient.pk])
    card = client_as(owner).get(reverse("patients:card", args=[second.pk]))
    assert card["Location"] == reverse("patients:card", args=[patient.pk])
    outsider = f.make_membership(patient.registered_at.members.first(), Role.DOCTOR)
    assert client_as(outsider).get(reverse("patients:detail", args=[second.pk])).status_code == 404


# --- check-in by scan ----------------------------------------------------------------------------------------


def test_qr_check_in_page(client_as, net, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    client = client_as(desk)
    assert client.get(reverse("patients:qr_check_in")).status_code == 200
    resp = client.post(reverse("patients:qr_check_in"), {"token": QrToken.objects.get(patient=patient).token})
    assert resp.status_code == 302 and resp["Location"] == reverse("patients:detail", args=[patient.pk])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("token", "english"), [("", "required"), ("nope", "not valid"), ("x" * 101, "at most")])
def test_qr_check_in_bad_input(client_as, net, patient, lang, token, english):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    client = client_as(desk, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent")
    resp = client.post(reverse("patients:qr_check_in"), {"token": token})
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert marked_invalid(resp, "token")
    if lang == "en":
        assert english in " ".join(errors["token"])
        assert all(is_english(e) for e in errors["token"])
    assert row_counts("access.AuditEvent") == before


# --- the desk: review queue and merges ----------------------------------------------------------------------


@pytest.fixture
def pair(registrar, patient):
    second = f.second_record(registrar, patient)
    return f.link_candidate(patient, second, weight=24)


def unmasked(body, patient) -> list[str]:
    """The desk sees masked data only: which full values show."""
    return [k for k in f.leaked(body, patient) if not k.endswith("_masked")]


def test_review_queue_and_decision(client_as, registrar, patient, pair):
    client = client_as(registrar, language="en")
    queue = client.get(reverse("patients:links"))
    assert queue.status_code == 200
    assert contains(queue, patient.masked_name) and unmasked(queue.content, patient) == []
    review = client.get(reverse("patients:link_review", args=[pair.pk]))
    assert review.status_code == 200 and unmasked(review.content, patient) == []
    assert contains(review, patient.masked_resident_id)
    assert contains(review, "Name: same sound") or contains(review, "Name:")
    resp = client.post(reverse("patients:link_review", args=[pair.pk]), {"decision": "same",
                                                                          "survivor": patient.pk})
    assert resp.status_code == 302
    pair.refresh_from_db()
    assert pair.status == LinkStatus.SAME and Merge.objects.get().survivor_id == patient.pk
    again = client.get(reverse("patients:link_review", args=[pair.pk]))
    assert again.status_code == 302  # decided: back to the queue
    merges = client.get(reverse("patients:merges"))
    assert merges.status_code == 200 and unmasked(merges.content, patient) == []
    undo = client.post(reverse("patients:unmerge", args=[Merge.objects.get().pk]))
    assert undo.status_code == 302
    assert Patient.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_review_needs_confirmation_for_twins(client_as, registrar, patient, lang):
    twin = f.register_patient(registrar, resident_id="", birth_date=patient.birth_date, sex=patient.sex,
                              name="欧阳明", address=patient.address, phone=patient.phone)
    pair = f.link_candidate(patient, twin)
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("access.AuditEvent", "patients.Merge")
    resp = client.post(reverse("patients:link_review", args=[pair.pk]), {"decision": "same"})
    assert resp.status_code == 400
    assert contains(resp, 'name="confirm"') and contains(resp, 'id="decision-errors"')
    if lang == "en":
        assert is_english(form_errors(resp)["confirm"][0])
    assert row_counts("access.AuditEvent", "patients.Merge") == {**before, "access.AuditEvent":
                                                                  before["access.AuditEvent"] + 2}  # the re-shown pair
    resp = client.post(reverse("patients:link_review", args=[pair.pk]), {"decision": "same", "confirm": "on"})
    assert resp.status_code == 302 and Merge.objects.count() == 1


def test_review_bad_decision_is_400(client_as, registrar, pair):
    resp = client_as(registrar).post(reverse("patients:link_review", args=[pair.pk]), {"decision": "maybe"})
    assert resp.status_code == 400
    pair.refresh_from_db()
    assert pair.status == LinkStatus.PENDING


def test_the_desk_is_at_the_lead_institution_only(client_as, net, pair):
    township = f.make_membership(net.township, Role.REGISTRAR)
    client = client_as(township)
    before = AuditEvent.objects.count()
    for url in (reverse("patients:links"), reverse("patients:link_review", args=[pair.pk]),
                reverse("patients:merges")):
        assert client.get(url).status_code == 403
    assert client.post(reverse("patients:unmerge", args=[1])).status_code == 403
    assert AuditEvent.objects.count() == before
    assert reverse("patients:links") not in [i["url"] for i in client.get("/").context["nav"]]


def test_unknown_pair_goes_back_to_the_queue(client_as, registrar):
    resp = client_as(registrar).get(reverse("patients:link_review", args=[999999]))
    assert resp.status_code == 302 and resp["Location"] == reverse("patients:links")
