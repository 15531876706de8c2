"""The log scanner itself: it must catch what it is there to catch."""

import logging
from datetime import date

from yilian.logfilter import mask_text
from yilian.patients.residentid import make
from yilian.testing.logscan import find_leaks


def test_scanner_flags_names_ids_and_phones():
    rid = make("130499", date(1970, 3, 4), 111)
    lines = [
        "app INFO registered patient 42",
        f"app INFO looked up {rid}",
        "app INFO called 13812345678",
        "app INFO greeted 张三丰",
        "app INFO patient id 130499********1234 masked",
    ]
    leaks = find_leaks(lines, {"张三丰"})
    assert leaks == lines[1:4]


def test_scanner_ignores_ids_with_a_wrong_check_digit():
    rid = make("130499", date(1970, 3, 4), 111)
    wrong = rid[:17] + ("0" if rid[17] != "0" else "1")
    assert find_leaks([f"x INFO order number {wrong}"], set()) == []


def test_logging_filter_masks_identifiers(caplog):
    rid = make("110105", date(1990, 1, 1), 123)
    assert mask_text(f"id {rid} phone 13912345678") == f"id {rid[:6]}********{rid[-4:]} phone 139****5678"
    logger = logging.getLogger("yilian.test")
    from yilian.logfilter import MaskIdentifiers

    record = logger.makeRecord("yilian.test", logging.INFO, __file__, 1, "id %s", (rid,), None)
    MaskIdentifiers().filter(record)
    assert rid not in record.getMessage()
