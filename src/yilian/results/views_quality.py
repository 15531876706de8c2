"""The management centre's quality-control pages (capability `policy`, the consortium manager): the passes of
the consortium's members (in force and past, by member) with the form to record a new one, and the
recognition rules that decide what a pass is needed for. Views parse and call
`results.actions.do_record_quality_passes`, which checks the rest; no patient data is read here."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Grade
from yilian.network.roles import Cap
from yilian.results.actions import NewQualityPass, do_record_quality_passes
from yilian.results.forms_quality import QualityFilterForm, QualityPassForm, consortium_members
from yilian.results.models import Exclusion, ItemKind, QualityPass, Rule
from yilian.results.recognition import grades_at_least

CURRENT_MAX = 500  # passes in force or to come shown at once (a consortium has a few per member)
PAST_PER_PAGE = 50
ISSUERS_MAX = 20  # earlier issuers offered as suggestions


def _passes(member_ids: list[int], institution_id: int | None):
    rows = QualityPass.objects.filter(institution_id__in=member_ids).select_related("institution", "item")
    return rows.filter(institution_id=institution_id) if institution_id is not None else rows


def _state(qc: QualityPass, today) -> str:
    if qc.valid_from > today:
        return "upcoming"
    return "expired" if qc.valid_to < today else "current"


def _page(request, form: QualityPassForm | None = None, status: int = 200):
    members = list(consortium_members(request.actor.institution_id))
    member_ids = [m.pk for m in members]
    filter_form = QualityFilterForm(request.GET or None, members=members)
    shown = None
    if request.GET:
        if filter_form.is_valid():
            shown = filter_form.cleaned_data["institution"]
        elif status == 200:
            status = 400
    today = timezone.localdate()
    passes = _passes(member_ids, shown)
    current = list(passes.filter(valid_to__gte=today).order_by(
        "institution__code", F("item__code").asc(nulls_first=True), "valid_from", "pk")[:CURRENT_MAX + 1])
    for qc in current:
        qc.state = _state(qc, today)
    past = Paginator(passes.filter(valid_to__lt=today).order_by("-valid_to", "institution__code", "pk"),
                     PAST_PER_PAGE).get_page(request.GET.get("page"))
    issuers = (QualityPass.objects.filter(institution_id__in=member_ids).order_by("issuer")
               .values_list("issuer", flat=True).distinct()[:ISSUERS_MAX])
    return render(request, "results/quality/passes.html", {
        "form": form or QualityPassForm(members=members, initial={"institution": shown}),
        "filter": filter_form, "shown": shown, "today": today,
        "current": current[:CURRENT_MAX], "more_current": len(current) > CURRENT_MAX,
        "past": past, "query": urlencode({"institution": shown}) if shown else "",
        "issuers": list(issuers),
    }, status=status)


@require_http_methods(["GET", "POST"])
@requires(Cap.POLICY)
def passes(request):
    """The passes of the consortium's members; a POST records a new pass (all or nothing, errors beside the
    fields)."""
    if request.method == "GET":
        return _page(request)
    members = consortium_members(request.actor.institution_id)
    form = QualityPassForm(request.POST, members=members)
    if form.is_valid():
        data = form.cleaned_data
        row = NewQualityPass(institution_id=data["institution"], item_code=form.item_code,
                             valid_from=data["valid_from"], valid_to=data["valid_to"], issuer=data["issuer"])
        try:
            do_record_quality_passes(request.actor, [row])
        except ActionError as exc:
            exc.add_to(form)
        else:
            messages.success(request, _("Quality-control pass recorded."))
            return redirect("results:quality")
    return _page(request, form, status=400)


def _qualifying(rules: list[Rule], members, today) -> dict[int, list]:
    """For each recognisable rule, the members whose results it lets a doctor rely on today: of at least
    its grade and, when it requires quality control, holding a pass in force for the item or all items."""
    member_ids = [m.pk for m in members]
    all_items: set[int] = set()
    by_item: dict[int, set[int]] = {}
    for institution_id, item_id in QualityPass.objects.filter(
            institution_id__in=member_ids, valid_from__lte=today, valid_to__gte=today,
    ).values_list("institution_id", "item_id"):
        if item_id is None:
            all_items.add(institution_id)
        else:
            by_item.setdefault(item_id, set()).add(institution_id)
    out = {}
    for rule in rules:
        if not rule.recognisable:
            continue
        grades = set(grades_at_least(rule.min_grade))
        passed = all_items | by_item.get(rule.item_id, set())
        out[rule.pk] = [m for m in members if m.grade in grades and (not rule.requires_quality or m.pk in passed)]
    return out


@require_http_methods(["GET"])
@requires(Cap.POLICY)
def rules(request):
    """The recognition rules (read-only here: the system administrator changes them), with the members
    whose results each lets a doctor rely on today."""
    members = list(consortium_members(request.actor.institution_id))
    today = timezone.localdate()
    rows = sorted(Rule.objects.select_related("item"),
                  key=lambda r: (r.item.kind != ItemKind.PANEL, r.item.modality, r.item.code))
    qualifying = _qualifying(rows, members, today)
    exclusions = dict(Exclusion.choices)
    grades = dict(Grade.choices)
    table = [{"rule": r, "grade": grades.get(r.min_grade, r.min_grade) if r.min_grade else "",
              "exclusions": [str(exclusions.get(e, e)) for e in r.exclusions],
              "qualifying": qualifying.get(r.pk)} for r in rows]
    return render(request, "results/quality/rules.html", {
        "rows": table, "members": members, "today": today})
