"""杏林县, a fictional county of 邯郸市, 河北省 (SYNTHETIC: no county of this name or code exists).

130499 follows the GB/T 2260 pattern of 邯郸市's counties (1304xx) but is not assigned to any real one.
Township codes extend it to 9 digits (GB/T 10114: 100–199 towns 镇, 200–399 townships 乡), village codes
to 12 digits (村民委员会 200–399 within the township).
"""

PROVINCE = "河北省"
CITY = "邯郸市"
COUNTY = "杏林县"
COUNTY_CODE = "130499"
ADDRESS_PREFIX = f"{PROVINCE}{CITY}{COUNTY}"

CONSORTIUM_NAME = "杏林县紧密型县域医疗卫生共同体"
CONSORTIUM_SHORT = "杏林县医共体"

# (9-digit code, name, villages with a clinic, central health centre 中心卫生院?)
TOWNSHIPS: list[tuple[str, str, int, bool]] = [
    ("130499100", "杏林镇", 9, True),  # the county seat (县城驻地)
    ("130499101", "柳营镇", 10, True),
    ("130499102", "固献镇", 9, False),
    ("130499103", "南堡镇", 9, False),
    ("130499104", "辛庄营镇", 8, False),
    ("130499105", "漳北镇", 10, True),
    ("130499106", "槐树屯镇", 8, False),
    ("130499200", "东杨乡", 8, False),
    ("130499201", "西营乡", 8, False),
    ("130499202", "白塔乡", 8, False),
    ("130499203", "双庙乡", 7, False),
    ("130499204", "高家寨乡", 8, False),
]

# The three county-level hospitals, all in the county seat: (key, code, name, short name, kind, grade, street).
HOSPITALS: list[tuple[str, str, str, str, str, str, str]] = [
    ("county", f"{COUNTY_CODE}-01", f"{COUNTY}人民医院", "县人民医院", "general_2", "2A", "人民路118号"),
    ("tcm", f"{COUNTY_CODE}-02", f"{COUNTY}中医医院", "县中医院", "tcm", "2A", "建设大街36号"),
    ("mch", f"{COUNTY_CODE}-03", f"{COUNTY}妇幼保健院", "县妇幼保健院", "mch", "2B", "育才路9号"),
]
SEAT_TOWNSHIP = "130499100"
