"""Departments per institution kind, each under its national clinical subject code (诊疗科目).

`use` says what a department does in the demo:
  clinic    outpatient visits (doctors and nurses work there)
  emergency emergency visits (doctors and nurses)
  ward      no outpatient visits (anaesthesia, ICU, neonatal ward; doctors and nurses)
  medtech   laboratory, imaging, pathology (technicians, a few doctors)
`size` weighs the staff a department gets; `visits` its share of its institution's outpatient visits;
`audience` who comes (all, adult ≥15, child <15, female ≥15, maternal = women 18–45); `profile` names the
charge profile (data/charges.py).
"""

from typing import NamedTuple


class Dept(NamedTuple):
    subject: str
    name: str
    use: str
    size: float
    visits: float = 0.0
    audience: str = "all"
    profile: str = "medicine"


COUNTY_HOSPITAL = [
    Dept("03", "心血管内科", "clinic", 3, 8, "adult"),
    Dept("03", "呼吸内科", "clinic", 3, 9, "adult"),
    Dept("03", "消化内科", "clinic", 2, 7, "adult"),
    Dept("03", "神经内科", "clinic", 2, 6, "adult"),
    Dept("03", "内分泌科", "clinic", 2, 5, "adult"),
    Dept("04", "普通外科", "clinic", 3, 6, "adult", "surgery"),
    Dept("04", "骨科", "clinic", 3, 7, "adult", "surgery"),
    Dept("04", "泌尿外科", "clinic", 2, 3, "adult", "surgery"),
    Dept("05", "妇产科", "clinic", 3, 6, "female", "obgyn"),
    Dept("07", "儿科", "clinic", 3, 8, "child", "paeds"),
    Dept("10", "眼科", "clinic", 1, 3, "all", "eye_ent"),
    Dept("11", "耳鼻咽喉科", "clinic", 1, 3, "all", "eye_ent"),
    Dept("12", "口腔科", "clinic", 1, 3, "all", "dental"),
    Dept("20", "急诊医学科", "emergency", 3, 0, "all", "emergency"),
    Dept("21", "康复医学科", "clinic", 1, 2, "adult", "rehab"),
    Dept("50", "中医科", "clinic", 1, 2, "adult", "tcm"),
    Dept("26", "麻醉科", "ward", 2),
    Dept("28", "重症医学科", "ward", 2),
    Dept("30", "医学检验科", "medtech", 3),
    Dept("31", "病理科", "medtech", 1),
    Dept("32", "医学影像科", "medtech", 3),
]

TCM_HOSPITAL = [
    Dept("50", "中医内科", "clinic", 4, 10, "adult", "tcm"),
    Dept("50", "针灸推拿科", "clinic", 2, 5, "adult", "tcm_treat"),
    Dept("50", "中医骨伤科", "clinic", 2, 4, "adult", "tcm_treat"),
    Dept("50", "中医妇科", "clinic", 1, 3, "female", "tcm"),
    Dept("50", "中医儿科", "clinic", 1, 2, "child", "tcm"),
    Dept("50", "肛肠科", "clinic", 1, 2, "adult", "tcm_treat"),
    Dept("50", "治未病科", "clinic", 1, 2, "adult", "tcm"),
    Dept("03", "内科", "clinic", 2, 4, "adult"),
    Dept("04", "外科", "clinic", 1, 2, "adult", "surgery"),
    Dept("21", "康复医学科", "clinic", 1, 2, "adult", "rehab"),
    Dept("20", "急诊科", "emergency", 1, 0, "all", "emergency"),
    Dept("30", "医学检验科", "medtech", 1),
    Dept("32", "医学影像科", "medtech", 1),
]

MCH_HOSPITAL = [
    Dept("05", "妇科", "clinic", 2, 6, "female", "obgyn"),
    Dept("05", "产科", "clinic", 2, 5, "maternal", "obstetric"),
    Dept("05", "计划生育科", "clinic", 1, 1, "maternal", "obgyn"),
    Dept("06", "妇女保健科", "clinic", 1, 4, "female", "preventive"),
    Dept("07", "儿科", "clinic", 2, 7, "child", "paeds"),
    Dept("09", "儿童保健科", "clinic", 1, 6, "child", "preventive"),
    Dept("07", "新生儿科", "ward", 1),
    Dept("20", "急诊科", "emergency", 1, 0, "all", "emergency"),
    Dept("30", "医学检验科", "medtech", 1),
    Dept("32", "医学影像科", "medtech", 1),
]

TOWNSHIP_CENTRE = [
    Dept("02", "全科医疗科", "clinic", 4, 12, "all", "general"),
    Dept("50", "中医科", "clinic", 1, 3, "adult", "tcm_grass"),
    Dept("01", "预防保健科", "clinic", 1, 2, "all", "preventive"),
    Dept("30", "医学检验科", "medtech", 1),
    Dept("32", "医学影像科", "medtech", 1),
]

VILLAGE_CLINIC = [
    Dept("02", "全科医疗科", "clinic", 1, 1, "all", "village"),
]

BY_KIND = {
    "general_2": COUNTY_HOSPITAL,
    "tcm": TCM_HOSPITAL,
    "mch": MCH_HOSPITAL,
    "township": TOWNSHIP_CENTRE,
    "village": VILLAGE_CLINIC,
}
