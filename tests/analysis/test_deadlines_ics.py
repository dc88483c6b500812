"""Deadlines, durations, dates, and their iCalendar export."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from legalai.analysis.deadlines import find_deadlines, parse_date, parse_duration
from legalai.analysis.ics import PRODID, deadlines_to_ics
from legalai.analysis.types import Deadline

ANCHORS = {"Effective Date": "2025-01-15", "Expiration Date": "2027-01-15"}


def one(text: str, anchors: dict[str, str] | None = None) -> Deadline:
    found = find_deadlines(text, ANCHORS if anchors is None else anchors)
    assert len(found) == 1, found
    return found[0]


def test_relative_to_effective_date() -> None:
    text = "Licensee shall deliver the Software within thirty (30) days after the Effective Date."
    d = one(text)
    assert text[d.start : d.end] == "within thirty (30) days after the Effective Date"
    assert (d.anchor, d.relation, d.due_date) == ("Effective Date", "after", "2025-02-14")
    assert d.offset is not None and d.offset.value == 30 and d.offset.unit == "days"
    assert d.description == text


def test_absolute_dates() -> None:
    assert one("Payment is due no later than March 1, 2025.").due_date == "2025-03-01"
    assert one("Payment is due no later than March 1, 2025.").relation == "no_later_than"
    assert one("The report shall be delivered on or before December 31, 2024.").due_date == "2024-12-31"
    d = one("The filing must occur by June 30, 2025.")
    assert (d.due_date, d.anchor) == ("2025-06-30", "June 30, 2025")


def test_before_expiration_resolves_with_alias() -> None:
    text = "Either party may give notice at least ninety (90) days prior to the expiration of the Term."
    d = one(text)
    assert (d.anchor, d.relation, d.due_date) == ("expiration of the Term", "before", "2026-10-17")
    assert one(text, {}).due_date is None


def test_unresolved_anchor_and_business_days() -> None:
    d = one("Customer shall pay within 10 business days of receipt of the invoice.")
    assert (d.anchor, d.due_date) == ("receipt of the invoice", None)
    assert d.offset is not None and d.offset.unit == "business_days"
    d = one("Within 10 business days after the Effective Date, Licensee shall pay.")
    assert d.due_date == "2025-01-29"  # Wed 15 Jan + 10 business days


def test_months_and_years_arithmetic() -> None:
    assert one("within one (1) year after the Effective Date").due_date == "2026-01-15"
    assert one("no later than six (6) months after the Effective Date").due_date == "2025-07-15"
    assert one("within 30 days after March 31, 2025, pay").due_date == "2025-04-30"


def test_run_on_anchor_is_cut_to_known_name() -> None:
    text = "Within sixty days after the Effective Date Licensee shall pay."
    d = one(text)
    assert text[d.start : d.end] == "Within sixty days after the Effective Date"


def test_no_false_deadlines() -> None:
    assert find_deadlines("This Agreement is made by and between A and B on the date hereof.", ANCHORS) == []
    assert find_deadlines("The term is at least 30 days.", ANCHORS) == []


def test_description_trimmed() -> None:
    text = "Licensee " + "really " * 100 + "shall pay within 30 days after the Effective Date " + "x " * 200
    d = one(text + ".")
    assert len(d.description) <= 300 and "within 30 days" in d.description


@pytest.mark.parametrize(
    ("text", "value", "unit", "days"),
    [
        ("thirty (30) days", 30, "days", 30),
        ("12 months", 12, "months", 360),
        ("one year", 1, "years", 365),
        ("90 business days", 90, "business_days", 126),
        ("two weeks", 2, "weeks", 14),
        ("one hundred twenty (120) days", 120, "days", 120),
        ("twenty-one days", 21, "days", 21),
    ],
)
def test_parse_duration(text: str, value: float, unit: str, days: int) -> None:
    d = parse_duration(text)
    assert d is not None and (d.value, d.unit, d.days) == (value, unit, days)


def test_parse_duration_none() -> None:
    assert parse_duration("no time here") is None
    assert parse_duration("") is None


@pytest.mark.parametrize(
    "text",
    ["March 1, 2025", "1st day of March, 2025", "3/1/2025", "1 March 2025", "2025-03-01", "Mar. 1st, 2025"],
)
def test_parse_date(text: str) -> None:
    assert parse_date(text) == "2025-03-01"


def test_parse_date_invalid() -> None:
    assert parse_date("February 30, 2025") is None
    assert parse_date("nothing") is None


@pytest.mark.parametrize("text", ["", "\x00\xff" * 500, "within within within", "by " * 1000])
def test_never_raise(text: str) -> None:
    find_deadlines(text, {"Effective Date": "not a date"})
    parse_date(text)
    parse_duration(text)


def test_adversarial_30mb() -> None:
    n = 10_000_000
    text = "1" * n + " " * n + "A" * n
    t0 = time.perf_counter()
    find_deadlines(text, ANCHORS)
    assert time.perf_counter() - t0 < 20
    dense = "within thirty days after the " * (2_000_000 // 29)
    t0 = time.perf_counter()
    find_deadlines(dense, ANCHORS)
    assert time.perf_counter() - t0 < 20


# --- iCalendar -----------------------------------------------------------------------------------


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse_ics(ics: str) -> list[dict[str, str]]:
    assert ics.endswith("\r\n")
    raw_lines = ics.split("\r\n")[:-1]
    for line in raw_lines:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode("utf-8")) <= 75
    unfolded: list[str] = []
    for line in raw_lines:
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in unfolded and f"PRODID:{PRODID}" in unfolded
    events: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in unfolded:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            assert current is not None
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return events


def make(desc: str, due: str | None, start: int = 0) -> Deadline:
    return Deadline(description=desc, start=start, end=start + 10, due_date=due, anchor="Effective Date")


def test_ics_structure_escaping_and_folding() -> None:
    tricky = "Pay; now, \\ please\nnext line — ünïcödé 日本語 " + "long text " * 30
    deadlines = [("lease.pdf", make(tricky, "2025-03-01")), ("nda.docx", make("No date", None))]
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    ics = deadlines_to_ics(deadlines, "Deals, 2025", now=now)
    assert "\r\n" in ics and "\n" not in ics.replace("\r\n", "")
    events = parse_ics(ics)
    assert len(events) == 1
    event = events[0]
    assert event["DTSTART;VALUE=DATE"] == "20250301"
    assert event["DTSTAMP"] == "20250102T030405Z"
    assert event["UID"].endswith("@legalai")
    assert event["SUMMARY"].startswith("lease.pdf")
    assert unescape(event["DESCRIPTION"]).startswith(tricky.strip())
    assert "X-WR-CALNAME:Deals\\, 2025" in ics.replace("\r\n ", "")


def test_ics_uid_is_stable_and_distinct() -> None:
    a = deadlines_to_ics([("doc", make("x", "2025-03-01"))], "c")
    b = deadlines_to_ics([("doc", make("x", "2025-03-01"))], "c")
    c = deadlines_to_ics([("doc", make("x", "2025-03-01", start=5))], "c")
    uid = [parse_ics(x)[0]["UID"] for x in (a, b, c)]
    assert uid[0] == uid[1] != uid[2]


def test_ics_from_found_deadlines() -> None:
    text = "Licensee shall deliver within thirty (30) days after the Effective Date."
    found = find_deadlines(text, ANCHORS)
    events = parse_ics(deadlines_to_ics([("license.txt", d) for d in found], "Contracts"))
    assert [e["DTSTART;VALUE=DATE"] for e in events] == ["20250214"]
