"""The management centre's quality-control pages: the consortium manager records a pass (for one panel or
exam, or for all the member's items) and sees the passes in force and past, by member; bad input is a 400
naming the field, in Chinese or English, and stores nothing; a member of another consortium cannot be
chosen; the recognition rules page shows each rule and the members whose results it relies on today; a
doctor, a registrar, a system administrator or a nurse gets 403."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from yilian.network.acting import SYSTEM
from yilian.network.models import Consortium, Institution, InstitutionKind
from yilian.network.roles import Role
from yilian.results.actions import NewQualityPass, do_record_quality_passes
from yilian.results.models import QualityPass
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid

PASSES = reverse("results:quality")
RULES = reverse("results:quality_rules")
# The action's own messages (results.actions.check_quality_pass); the others are Django's form messages.
ENDS_BEFORE = "The pass must end on or after the day it starts."
NO_ISSUER = "Name who issued the pass (1–100 characters)."


def passes_stored() -> list[tuple]:
    return list(QualityPass.objects.order_by("pk").values_list(
        "institution_id", "item__code", "valid_from", "valid_to", "issuer"))


def record(institution, item_code="", *, start: date, end: date, issuer="县临床检验中心") -> QualityPass:
    [qc] = do_record_quality_passes(SYSTEM, [NewQualityPass(institution.pk, item_code, start, end, issuer)])
    return qc


@pytest.fixture
def other_consortium(db):
    other = Consortium.objects.create(name="邻县医共体", short_name="邻县", division_code="330783")
    return Institution.objects.create(consortium=other, code="X-H01", name="邻县人民医院", short_name="邻县医院",
                                      kind=InstitutionKind.GENERAL_SECONDARY, division_code="330783")


@pytest.fixture
def foreign_manager(other_consortium):
    return f.make_membership(other_consortium, Role.MANAGER, username="foreign_manager")


def test_manager_records_a_pass_for_an_item_and_for_all_items(client_as, net, manager, other_consortium):
    client = client_as(manager)
    page = client.get(PASSES)
    assert page.status_code == 200
    choices = dict(page.context["form"].fields["institution"].choices)
    assert set(choices) == {"", net.county.pk, net.township.pk, net.village.pk}  # the consortium's members only
    assert contains(page, 'value="CBC"') and contains(page, 'value="CT-HEAD"') and contains(page, 'value="*"')
    assert not contains(page, 'value="K"')  # a lab item passes through its panel
    assert contains(page, 'data-testid="rules-link"')

    sent = client.post(PASSES, {"institution": net.township.pk, "item": "CBC", "valid_from": "2026-01-01",
                                "valid_to": "2026-12-31", "issuer": " 省临床检验中心 "})
    assert sent.status_code == 302 and sent["Location"] == PASSES
    sent = client.post(PASSES, {"institution": net.county.pk, "item": "*", "valid_from": "2026-03-01",
                                "valid_to": "2027-02-28", "issuer": "县医学影像质控中心"})
    assert sent.status_code == 302
    assert passes_stored() == [
        (net.township.pk, "CBC", date(2026, 1, 1), date(2026, 12, 31), "省临床检验中心"),
        (net.county.pk, None, date(2026, 3, 1), date(2027, 2, 28), "县医学影像质控中心"),
    ]
    page = client.get(PASSES, follow=True)
    township, county = QualityPass.objects.order_by("pk")
    for qc in (township, county):
        assert contains(page, f'data-testid="pass-{qc.pk}"')
    assert contains(page, "血常规") and contains(page, "2027-02-28")
    assert contains(page, '<option value="省临床检验中心">')  # earlier issuers are suggested


def test_the_recorded_pass_makes_a_township_result_recognisable(client_as, net, manager):
    """The pass the page records is the one the recognition check reads."""
    from yilian.results import orders
    from yilian.results.tests.ordering import report

    registrar = f.make_membership(net.county, Role.REGISTRAR)
    doctor = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
    patient = f.register_patient(registrar, sex="1", resident_id="", birth_date=date(1960, 5, 1))
    earlier = report(patient, net.township, "CBC", days_ago=1)
    before = orders.do_order(f.actor(doctor), orders.NewOrder(patient.pk, "CBC"))
    assert before.check.reports == []
    today = timezone.localdate()
    client_as(manager).post(PASSES, {"institution": net.township.pk, "item": "CBC",
                                     "valid_from": (today - timedelta(days=30)).isoformat(),
                                     "valid_to": (today + timedelta(days=30)).isoformat(), "issuer": "县临床检验中心"})
    after = orders.do_order(f.actor(doctor), orders.NewOrder(patient.pk, "CBC"))
    assert [r.pk for r in after.check.reports] == [earlier.pk]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("data", "field", "english"), [
    ({"valid_from": "2026-06-01", "valid_to": "2026-05-31"}, "valid_to", ENDS_BEFORE),
    ({"issuer": ""}, "issuer", NO_ISSUER),
    ({"issuer": "   "}, "issuer", NO_ISSUER),
    ({"issuer": "质" * 101}, "issuer", NO_ISSUER),
    ({"item": ""}, "item", "required"),
    ({"item": "NOPE"}, "item", "valid choice"),
    ({"item": "K"}, "item", "valid choice"),  # a lab item, not a panel
    ({"institution": ""}, "institution", "required"),
    ({"institution": "abc"}, "institution", "valid choice"),
    ({"institution": "99999999"}, "institution", "valid choice"),
    ({"valid_from": "2026-02-30"}, "valid_from", "valid date"),
    ({"valid_to": ""}, "valid_to", "required"),
])
def test_bad_input_is_400_naming_the_field_and_stores_nothing(client_as, net, manager, lang, data, field, english):
    record(net.county, start=date(2026, 1, 1), end=date(2026, 12, 31))
    client = client_as(manager, **LANGUAGES[lang])
    before = passes_stored()
    good = {"institution": net.township.pk, "item": "CBC", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
            "issuer": "县临床检验中心"}
    resp = client.post(PASSES, {**good, **data})
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert list(errors) == [field]
    assert marked_invalid(resp, field)
    assert contains(resp, f'data-field-errors="{field}"')
    assert contains(resp, 'open data-testid="record"')  # the form stays open, beside its errors
    message = errors[field][0]
    if lang == "en":
        assert english in message and is_english(message), message
    elif english in (ENDS_BEFORE, NO_ISSUER):
        with translation.override("zh-hans"):
            assert message == translation.gettext(english)  # the catalogue's Chinese once it carries it
    else:
        assert not is_english(message), message  # Django's own words, in Chinese
    assert passes_stored() == before


def test_a_member_of_another_consortium_cannot_be_chosen(client_as, net, manager, foreign_manager,
                                                         other_consortium):
    ours = record(net.county, start=date(2026, 1, 1), end=date(2099, 12, 31))
    theirs = record(other_consortium, start=date(2026, 1, 1), end=date(2099, 12, 31), issuer="邻县检验中心")
    resp = client_as(manager, language="en").post(PASSES, {
        "institution": other_consortium.pk, "item": "*", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
        "issuer": "县临床检验中心"})
    assert resp.status_code == 400 and list(form_errors(resp)) == ["institution"]
    assert QualityPass.objects.count() == 2
    # Each manager sees their own consortium's passes and suggested issuers only.
    page = client_as(manager).get(PASSES)
    assert contains(page, f'data-testid="pass-{ours.pk}"') and not contains(page, f'data-testid="pass-{theirs.pk}"')
    assert not contains(page, "邻县")
    theirs_page = client_as(foreign_manager).get(PASSES)
    assert contains(theirs_page, f'data-testid="pass-{theirs.pk}"')
    assert not contains(theirs_page, f'data-testid="pass-{ours.pk}"') and not contains(theirs_page, "县临床检验中心")
    # A filter on another consortium's member is refused, naming the filter.
    refused = client_as(manager, language="en").get(PASSES, {"institution": other_consortium.pk})
    assert refused.status_code == 400
    assert contains(refused, 'id="filter-institution-errors"') and not contains(refused, "邻县")


def test_passes_in_force_to_come_and_past_filtered_by_member(client_as, net, manager):
    today = timezone.localdate()
    current = record(net.county, start=today - timedelta(days=100), end=today)  # its last day
    upcoming = record(net.village, "ECG-12", start=today + timedelta(days=1), end=today + timedelta(days=365))
    past = record(net.township, "CBC", start=today - timedelta(days=400), end=today - timedelta(days=1))
    client = client_as(manager, language="en")
    page = client.get(PASSES)
    assert [qc.pk for qc in page.context["current"]] == [current.pk, upcoming.pk]  # by member code
    assert [qc.state for qc in page.context["current"]] == ["current", "upcoming"]
    assert [qc.pk for qc in page.context["past"]] == [past.pk]
    assert contains(page, "In force") and contains(page, "Not yet in force") and contains(page, "All items")

    township = client.get(PASSES, {"institution": net.township.pk})
    assert township.status_code == 200 and township.context["shown"] == net.township.pk
    assert township.context["current"] == [] and [qc.pk for qc in township.context["past"]] == [past.pk]
    assert contains(township, f'<option value="{net.township.pk}" selected>')
    assert contains(township, "No pass in force")
    for bad in ("abc", "-1", "99999999999999999999999"):
        assert client.get(PASSES, {"institution": bad}).status_code == 400


def test_past_passes_are_paged(client_as, net, manager):
    today = timezone.localdate()
    do_record_quality_passes(SYSTEM, [
        NewQualityPass(net.township.pk, "", today - timedelta(days=400 + i), today - timedelta(days=1 + i), "县中心")
        for i in range(55)])
    client = client_as(manager)
    first = client.get(PASSES)
    assert len(first.context["past"]) == 50 and contains(first, 'data-testid="pager"')
    second = client.get(PASSES, {"institution": net.township.pk, "page": "2"})
    assert len(second.context["past"]) == 5
    assert contains(second, f"institution={net.township.pk}&amp;page=1")
    assert client.get(PASSES, {"page": "x"}).status_code == 200  # the first page


def test_rules_page_shows_each_rule_and_who_qualifies_today(client_as, net, manager):
    today = timezone.localdate()
    record(net.county, start=today - timedelta(days=10), end=today + timedelta(days=10))  # all items
    record(net.township, "CBC", start=today - timedelta(days=10), end=today + timedelta(days=10))
    record(net.village, "CBC", start=today - timedelta(days=30), end=today - timedelta(days=1))  # expired
    client = client_as(manager, language="en")
    page = client.get(RULES)
    assert page.status_code == 200
    rows = {row["rule"].item.code: row for row in page.context["rows"]}
    assert {"CBC", "CARD", "CT-HEAD", "MR-HEAD", "ECG-12"} <= set(rows)
    codes = [row["rule"].item.code for row in page.context["rows"]]
    assert codes.index("UR") < codes.index("CT-HEAD")  # panels first, then exams
    name = lambda row: [m.pk for m in row["qualifying"]]  # noqa: E731
    assert name(rows["CBC"]) == [net.county.pk, net.township.pk]
    assert name(rows["LIPID"]) == [net.county.pk]  # the township's pass is for CBC only
    assert name(rows["ECG-12"]) == [net.county.pk, net.village.pk, net.township.pk]  # no pass needed
    assert name(rows["MR-HEAD"]) == [net.county.pk]  # 2B or better: the county (2A)
    assert rows["CARD"]["qualifying"] is None
    assert rows["CBC"]["rule"].validity_days == 7 and contains(page, 'data-testid="rule-CBC"')
    assert contains(page, "Emergency or critical condition") and contains(page, "Pregnancy")
    assert contains(page, "never recognised")  # CARD
    assert contains(page, "Grade II-B") and contains(page, "Any member")
    assert contains(page, 'data-testid="passes-link"')


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.REGISTRAR, Role.SYSADMIN, Role.NURSE, Role.AUDITOR])
def test_roles_without_the_policy_capability_get_403(client_as, net, role):
    membership = f.make_membership(net.county, role, department=net.department(net.county))
    client = client_as(membership)
    assert client.get(PASSES).status_code == 403
    assert client.get(RULES).status_code == 403
    resp = client.post(PASSES, {"institution": net.county.pk, "item": "*", "valid_from": "2026-01-01",
                                "valid_to": "2026-12-31", "issuer": "县临床检验中心"})
    assert resp.status_code == 403
    assert not QualityPass.objects.exists()


def test_anonymous_is_sent_to_log_in(client, db):
    for url in (PASSES, RULES):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login/" in resp["Location"]
    assert client.post(PASSES, {}).status_code == 302 and not QualityPass.objects.exists()


def test_english_and_chinese(client_as, net, manager):
    record(net.township, "CBC", start=date(2026, 1, 1), end=date(2099, 12, 31))
    en = client_as(manager, language="en")
    for url, words in ((PASSES, ("Quality-control passes", "Record a pass", "In force and to come", "Past passes")),
                       (RULES, ("Recognition rules", "Valid for (days)", "Quality control required"))):
        page = en.get(url)
        html = page.content.decode()
        assert 'lang="en"' in html
        for word in words:
            assert word in html, word
    zh = client_as(manager)
    page = zh.get(PASSES)
    assert contains(page, 'lang="zh-hans"')
    assert contains(page, "成员机构") and contains(page, "城关镇卫生院") and contains(page, "血常规")  # translated words, data
    rules = zh.get(RULES)
    assert contains(rules, 'lang="zh-hans"') and contains(rules, "血细胞计数变化快")
