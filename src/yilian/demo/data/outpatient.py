"""How the demo county's clinics run and how patients use them (synthetic; see docs/demo.md "Outpatient").

Fees follow the 诊查费 of charges.py: 5 yuan at a village clinic, 10 at a township centre, 8 / 20 / 50 at the
county hospital for ordinary / expert (主任 and 副主任医师) / special-needs (特需) clinics. A share goes from the
start of the activity period to its end where a pair is given (`ramp`): more visits booked, more expert
sessions, shorter waits as the months go by.
"""

from datetime import time

# --- policy rows ----------------------------------------------------------------------------------------

FEES = {  # institution key or kind → tier → yuan
    "county": {"ordinary": 8, "expert": 20, "special": 50},
    "tcm": {"ordinary": 8, "expert": 18, "special": 40},
    "mch": {"ordinary": 8, "expert": 18, "special": 40},
    "township": {"ordinary": 10, "expert": 15},  # expert: the county hospital's visiting experts
    "village": {"ordinary": 5},
}
REGISTRATION_VALID_DAYS = 3  # 一次挂号3天有效
MAX_DAILY_BOOKINGS = 1  # per patient, department and day
FREE_AGE = 65  # registration-free at township centres and village clinics
FREE_DEPARTMENT = "预防保健科"  # registration-free at township centres
CONTRACTED_CHRONIC = 0.85  # chronic patients with a family-doctor contract (registration-free at the grassroots)

# --- the timetable --------------------------------------------------------------------------------------

# (session, start, end): weekday clinics, the county hospital's evening clinics (错时门诊), weekend clinics.
MORNING = ("morning", time(8), time(12))
AFTERNOON = ("afternoon", time(14), time(18))
EVENING = ("evening", time(18), time(21))
WEEKEND = ("weekend", time(8), time(12))
FOLLOW_UP = ("morning", time(8), time(11))  # a village clinic's weekly chronic-disease clinic (慢病随访)
# Minutes per slot (分时段预约): an hour at the county hospital, two at the TCM and MCH hospitals; a township
# centre books by half-day (0: the whole session), a village clinic's weekly clinic is one slot.
SLOT_MINUTES = {"county": 60, "tcm": 120, "mch": 120, "township": 0, "village": 180}
CAPACITY = {"ordinary": 6, "expert": 4, "special": 2, "visiting": 15, "township": 30, "village": 12}
EXPERT_REFERRAL_PLACES = 1  # per county expert slot, held for referrals until 24 hours before (then anyone's)

EVENING_DEPARTMENTS = {"county": ("呼吸内科", "儿科", "口腔科", "骨科")}
WEEKEND_DEPARTMENTS = {  # ISO weekday → departments holding a weekend clinic
    "county": {"6": ("心血管内科", "呼吸内科", "消化内科", "妇产科", "儿科", "骨科", "眼科", "口腔科"),
               "7": ("呼吸内科", "儿科", "心血管内科")},
    "tcm": {"6": ("中医内科", "针灸推拿科", "中医儿科"), "7": ("中医内科",)},
    "mch": {"6": ("妇科", "儿科", "儿童保健科"), "7": ("儿科",)},
    "township": {"6": ("全科医疗科",)},
}
TOWNSHIP_DAYS = {"全科医疗科": ("12345", "12345"), "中医科": ("135", ""), "预防保健科": ("24", "")}  # (am, pm)
SPECIAL_CLINICS = {"county": (("心血管内科", "4"), ("骨科", "2"))}  # 特需: department, weekday (afternoon)
EXPERT_HALF_DAYS = ((1, 0.5), (2, 0.5))  # half-days a week each senior doctor holds an expert clinic
EXPERT_LATE_START = 0.3  # share of expert clinics that open during the period, not before it
VISITING_SECOND_DAY = 0.5  # share of township centres whose visiting expert comes twice a week by the end

# --- how patients use them ------------------------------------------------------------------------------

BOOKED = {"county": (0.50, 0.68), "tcm": (0.38, 0.50), "mch": (0.40, 0.52), "township": (0.24, 0.34)}
FOLLOW_UP_BOOKED = 0.45  # a chronic patient's visit to their own village clinic, moved to its weekly clinic
CHANNELS = {  # (the referral channel is the referrals app's: its bookings come with a referral)
    "county": (("window", 0.32), ("self_service", 0.46), ("phone", 0.22)),
    "hospital": (("window", 0.40), ("self_service", 0.35), ("phone", 0.25)),
    "township": (("window", 0.50), ("phone", 0.35), ("self_service", 0.15)),
    "village": (("phone", 0.90), ("window", 0.10)),
}
LEAD_HOURS = {"window": (0.5, 3.0), "self_service": (3, 168), "phone": (5, 120)}
WINDOW_AHEAD = 0.4  # share of window bookings made at an earlier visit, 2–14 days ahead
CANCELLED = 0.07  # per booked visit: another booking of the patient, cancelled
NO_SHOW = 0.04  # per booked visit: an earlier booking the patient missed
RETURNS = {"county": 0.12, "tcm": 0.10, "mch": 0.10, "township": 0.08, "village": 0.05}  # within validity
EVENING_SHARE = 0.25  # working-age weekday visits to a department holding an evening clinic that day
EXPERT_SHARE = {"hospital": 0.50, "township": 0.65}  # of a half-day's visits, when an expert sits
SPECIAL_SHARE = 0.30
DISABLED = 0.005

# --- waits, minutes -------------------------------------------------------------------------------------

BOOKED_WAIT = {"hospital": (30.0, 27.5), "township": (25.5, 23.5), "village": (12.0, 12.0)}  # booked time (or a
# later arrival) → into the room: mean at the start and at the end of the period
CALL_WAIT = 3.0  # check-in → call: mean
ARRIVAL = (-12.0, 10.0, -45.0, 30.0)  # booked patients' arrival around the booked time: mean, sd, min, max
WINDOW_QUEUE = (0.5, 6.0)  # a walk-in's wait at the registration window
CONSULT = {"hospital": (5, 25), "township": (5, 18), "village": (3, 12)}
