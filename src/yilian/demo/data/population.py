"""The demo county's people and how often they see a doctor (synthetic, in the shape of rural 河北).

Age bands follow the shape of the 2020 census for rural 河北 (older than the national average: young
adults work in the cities); the sex ratio leans male among children (出生性别比 about 1.1) and female among
the very old. Visit rates are outpatient visits per person per year (rural China: about 5–6 overall,
more for infants and the elderly).
"""

# (youngest age, oldest age, share of residents, males per 100 females, visits per person-year)
AGE_BANDS: list[tuple[int, int, float, float, float]] = [
    (0, 4, 0.048, 112, 6.0),
    (5, 14, 0.118, 112, 2.6),
    (15, 24, 0.090, 108, 1.6),
    (25, 34, 0.105, 104, 2.2),
    (35, 44, 0.115, 103, 2.6),
    (45, 54, 0.165, 101, 3.6),
    (55, 64, 0.160, 99, 5.0),
    (65, 74, 0.122, 95, 7.0),
    (75, 84, 0.060, 85, 8.0),
    (85, 99, 0.017, 65, 7.0),
]

# Chronic patients (hypertension, diabetes) collect prescriptions at the village clinic every month.
CHRONIC_FROM_AGE = 50
CHRONIC_SHARE = 0.20
CHRONIC_EXTRA_VISITS = 6.0  # more per year

# Where a visit goes (the first level of choice), by who the patient is; the weights are relative.
# Keys: village clinic, township centre, county hospital, TCM hospital, MCH hospital.
KIND_WEIGHTS = {
    "child": {"village": 0.26, "township": 0.26, "county": 0.24, "tcm": 0.03, "mch": 0.21},
    "woman": {"village": 0.28, "township": 0.27, "county": 0.27, "tcm": 0.09, "mch": 0.09},
    "man": {"village": 0.30, "township": 0.29, "county": 0.30, "tcm": 0.11, "mch": 0.0},
    "elder": {"village": 0.36, "township": 0.28, "county": 0.26, "tcm": 0.10, "mch": 0.0},
    "chronic": {"village": 0.65, "township": 0.30, "county": 0.05, "tcm": 0.0, "mch": 0.0},
}
# Share of a hospital's visits that are emergencies.
EMERGENCY_SHARE = {"county": 0.07, "tcm": 0.03, "mch": 0.04}
# A grassroots visit goes to the patient's own village clinic / township centre, or to another in the township.
OWN_GRASSROOTS = 0.93

# Recording quality (see docs/demo.md).
PHONE_MISSING = 0.15
ADDRESS_SHORT = 0.08  # 杏林县柳营镇张家庄村… without 河北省邯郸市
HOUSE_NUMBER_MISSING = 0.10
REGISTERED_AT_TOWNSHIP = 0.30  # otherwise at the village clinic
REGISTERED_AT_TOWNSHIP_SEAT = 0.55  # residents of the village where the township centre stands
DUPLICATE_SHARE = 0.12  # of residents seen at the county hospital, registered again there without an ID
DUPLICATE_VARIANTS = (  # (variant, share)
    ("exact", 0.20),  # same name and birth date, no resident ID
    ("surname", 0.30),  # look-alike surname (张 → 章)
    ("given", 0.30),  # a look-alike character in the given name
    ("swapped_date", 0.20),  # birth day and month swapped (when both ≤ 12)
)
