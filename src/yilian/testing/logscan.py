"""A pytest plugin: no log line produced by the test suite may carry a patient's name, resident ID or
phone number.

Every log record emitted anywhere during a test (any logger, any level from DEBUG up) is kept. After each
test that used the database, the names, resident IDs and phones of the patients in that test's database
are looked for in those lines; any resident-ID-shaped or mobile-shaped number is flagged as well. Leaks are
listed at the end and fail the run.
"""

import logging
import re

import pytest

from yilian.patients.residentid import InvalidResidentId, parse

ID_SHAPE = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
MOBILE_SHAPE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        except Exception:  # a record that cannot format is not our business here
            self.lines.append(f"{record.name} {record.levelname} {record.msg!r}")


def find_leaks(lines: list[str], values: set[str]) -> list[str]:
    """Lines that contain one of `values` (names of two or more characters, IDs, phones), a valid resident
    ID, or a mobile number."""
    leaks = []
    values = {v for v in values if v and len(v) >= 2}
    for line in lines:
        if any(v in line for v in values):
            leaks.append(line)
            continue
        for candidate in ID_SHAPE.findall(line):
            try:
                parse(candidate)
            except InvalidResidentId:
                continue
            leaks.append(line)
            break
        else:
            if MOBILE_SHAPE.search(line):
                leaks.append(line)
    return leaks


_collector = Collector()
_leaks: list[tuple[str, str]] = []
_lines_seen = 0


def _attach() -> None:
    root = logging.getLogger()
    if _collector not in root.handlers:
        root.addHandler(_collector)
    root.setLevel(logging.DEBUG)


def pytest_runtest_setup(item) -> None:
    _attach()  # Django's dictConfig may have replaced the root handlers since the last test
    _collector.lines.clear()


def _patient_values(item) -> set[str]:
    uses_db = item.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        getattr(item, "fixturenames", ())
    )
    if not uses_db:
        return set()
    from django.db import connection
    from pytest_django.plugin import blocking_manager_key

    from yilian.patients.models import Patient

    try:
        with item.session.config.stash[blocking_manager_key].unblock():
            rows = list(Patient.objects.values_list("name", "resident_id", "phone"))
    except Exception:  # the test's database is already gone or was never set up
        connection.close_if_unusable_or_obsolete()
        return set()
    return {v for row in rows for v in row if v}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    global _lines_seen
    lines = list(_collector.lines)
    if lines:
        values = _patient_values(item)
        _lines_seen += len(lines)
        for line in find_leaks(lines, values):
            _leaks.append((item.nodeid, line))
    yield


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(f"log scan: {_lines_seen} log lines checked, {len(_leaks)} with patient data")
    for nodeid, _line in _leaks[:50]:
        # Name the test and the logger, never the line itself: it holds the very data we must not print.
        terminalreporter.write_line(f"  LEAK in {nodeid}: {_line.split(' ', 1)[0]}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if _leaks and session.exitstatus == 0:
        session.exitstatus = 1
