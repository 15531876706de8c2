"""The model of `model.py` as a Splink 5 settings dictionary: the same levels as SQL conditions over the
columns of `batch.features_table`, the same m and u, the same prior, blocking on the same keys.

Each condition mirrors one function of `model.py`; `tests/test_linkage.py` checks that both give the same
level for every blocked pair of a generated register.
"""

from yilian.patients.matching.keys import KINDS
from yilian.patients.matching.model import (
    FIELDS,
    LOWER,
    MISSING,
    PARAMETERS,
    PRIOR,
    PRIOR_WEIGHT,
    SIMILAR_NAME,
)

_YEAR, _MONTH, _DAY = "substr(born_{s}, 1, 4)", "substr(born_{s}, 5, 2)", "substr(born_{s}, 7, 2)"


def _part(template: str, side: str) -> str:
    return template.format(s=side)


def _same(template: str) -> str:
    return f"CAST({_part(template, 'l')} = {_part(template, 'r')} AS INTEGER)"


# field → (null condition, [(level, condition), …] in the order of PARAMETERS; the last level is ELSE)
CONDITIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "name": ("name_l IS NULL OR name_r IS NULL", [
        ("exact", "name_l = name_r"),
        ("pinyin", "pinyin_l = pinyin_r"),
        ("fuzzy", "fuzzy_l = fuzzy_r OR sound_l = sound_r"),
        ("similar", f"jaro_winkler_similarity(pinyin_l, pinyin_r) >= {SIMILAR_NAME}"),
    ]),
    "birth_date": ("born_l IS NULL OR born_r IS NULL", [
        ("exact", "born_l = born_r"),
        ("swapped", f"{_part(_YEAR, 'l')} = {_part(_YEAR, 'r')} AND {_part(_MONTH, 'l')} = {_part(_DAY, 'r')} "
                    f"AND {_part(_DAY, 'l')} = {_part(_MONTH, 'r')}"),
        ("one_off", f"{_same(_YEAR)} + {_same(_MONTH)} + {_same(_DAY)} = 2"),
    ]),
    "sex": ("sex_l IS NULL OR sex_r IS NULL", [
        ("same", "sex_l = sex_r"),
    ]),
    "phone": ("phone_l IS NULL OR phone_r IS NULL", [
        ("exact", "phone_l = phone_r"),
        ("last8", "length(phone_l) >= 8 AND length(phone_r) >= 8 AND right(phone_l, 8) = right(phone_r, 8)"),
    ]),
    "address": ("addr_l IS NULL OR addr_r IS NULL", [
        ("village", "(village_l <> '' AND village_l = village_r AND (town_l = '' OR town_r = '' OR town_l = town_r))"
                    " OR (village_l = '' AND village_r = '' AND town_l = '' AND town_r = '' AND place_l = place_r)"),
        ("township", "town_l <> '' AND town_l = town_r"),
    ]),
    "resident_id": ("rid_l IS NULL OR rid_r IS NULL", [
        ("exact", "rid_l = rid_r"),
        ("close", "length(rid_l) = 18 AND length(rid_r) = 18 AND (substr(rid_l, 1, 17) = substr(rid_r, 1, 17) OR "
                  "(substr(rid_l, 1, 14) <> substr(rid_r, 1, 14) "
                  "AND damerau_levenshtein(substr(rid_l, 1, 17), substr(rid_r, 1, 17)) <= 1))"),
    ]),
}

# field → Splink's comparison vector value (gamma) → level name; -1 is the null level.
LEVELS: dict[str, dict[int, str]] = {
    field: {-1: MISSING} | {len(PARAMETERS[field]) - 1 - i: level for i, level in enumerate(PARAMETERS[field])}
    for field in FIELDS
}


def _comparison(field: str) -> dict:
    null, conditions = CONDITIONS[field]
    levels = list(PARAMETERS[field])
    assert [name for name, _sql in conditions] == levels[:-1], field
    out = [{"sql_condition": null, "label_for_charts": MISSING, "is_null_level": True}]
    for (level, sql), (m, u) in zip([*conditions, (levels[-1], "ELSE")], PARAMETERS[field].values(), strict=True):
        out.append({"sql_condition": sql, "label_for_charts": level, "m_probability": m, "u_probability": u})
    return {"output_column_name": field, "comparison_levels": out}


# Splink's match weight (prior included) at the review threshold; the final weight (with the twins, newborn
# and two-IDs rules) is computed from the levels, in Python.
THRESHOLD = LOWER + PRIOR_WEIGHT - 1e-9


def settings() -> dict:
    """The Splink settings dictionary."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": PRIOR,
        "blocking_rules_to_generate_predictions": [{"blocking_rule": f"l.k_{kind} = r.k_{kind}"} for kind in KINDS],
        "comparisons": [_comparison(field) for field in FIELDS],
        "retain_matching_columns": True,  # with the gamma (level) columns
        "retain_intermediate_calculation_columns": False,
    }
