"""Hand-written cases for the date rules of :mod:`legalai.analysis.keyterms`."""

from __future__ import annotations

import time

from legalai.analysis.keyterms import extract_key_terms
from legalai.analysis.types import KeyTerms


def _date(terms: KeyTerms, kind: str) -> str | None:
    return next((d.value for d in terms.dates if d.kind == kind), None)


def _evidence(text: str, terms: KeyTerms, kind: str) -> str:
    finding = next(d for d in terms.dates if d.kind == kind)
    return text[finding.start : finding.end]


# --- agreement date --------------------------------------------------------------------------


def test_amendment_date_beats_the_amended_agreement_date() -> None:
    text = (
        'AMENDMENT NO. 2\n\nThis Second Amendment (this "Amendment") to the Widget Supply Agreement '
        'dated as of March 3, 2011 between Alpha Widgets Inc. and Beta Parts LLC (the "Agreement") '
        "is entered into as of October 9, 2014.\n\nThe parties agree as follows."
    )
    terms = extract_key_terms(text)
    assert _date(terms, "agreement_date") == "2014-10-09"
    assert _evidence(text, terms, "agreement_date") == "October 9, 2014"


def test_referenced_agreement_with_definition_is_not_the_agreement_date() -> None:
    text = (
        "SERVICES AGREEMENT\n\nWHEREAS, the parties are parties to that certain Master Lease "
        'dated January 5, 2009 (the "Master Lease");\n\nThis Services Agreement is made this '
        "12th day of February, 2010 by and between Gamma Co. and Delta Co."
    )
    assert _date(extract_key_terms(text), "agreement_date") == "2010-02-12"


def test_title_block_dated_line() -> None:
    text = (
        "RESELLER AGREEMENT\n\nDated as of July 14, 2016\n\n"
        "Reference is made to the Original Agreement dated May 1, 2012."
    )
    assert _date(extract_key_terms(text), "agreement_date") == "2016-07-14"


def test_self_dating_sentence_at_the_end() -> None:
    text = (
        "COOPERATION AGREEMENT\n\nParty A and Party B agree as follows.\n\n1. Scope. Party A shall host the "
        "content.\n\n12. Miscellaneous. This Agreement is dated November 2, 2012.\n"
    )
    assert _date(extract_key_terms(text), "agreement_date") == "2012-11-02"


def test_signature_fallback_takes_the_latest_date_and_skips_filing_lines() -> None:
    text = (
        "CONSULTING AGREEMENT\n\n"
        + "The Consultant shall advise the Company on matters it requests from time to time.\n" * 120
        + "\n"
        "IN WITNESS WHEREOF, the parties have signed this Agreement.\n\n"
        "By: /s/ Ann Smith          By: /s/ Bob Jones\nDate: 2/10/2021           Date: 2/12/2021\n\n"
        "Source: EXAMPLE CORP, 10-K, 3/30/2021\n"
    )
    assert _date(extract_key_terms(text), "agreement_date") == "2021-02-12"


def test_end_dates_in_the_preamble_are_not_agreement_dates() -> None:
    text = (
        'ENDORSEMENT AGREEMENT\n\n(a) "Contract Period" means the period commencing upon execution and '
        "terminating on June 30, 2019.\n\nIN WITNESS WHEREOF the parties have executed this Agreement.\n"
        "Date: 4/2/2017\n"
    )
    assert _date(extract_key_terms(text), "agreement_date") == "2017-04-02"


# --- effective date --------------------------------------------------------------------------


def test_effective_date_label_and_definition() -> None:
    labelled = "SUPPLY CONTRACT\n\nEFFECTIVE DATE:  March 1, 2019\nTERMINATION DATE: February 28, 2022\n"
    terms = extract_key_terms(labelled)
    assert _date(terms, "effective_date") == "2019-03-01"
    assert _date(terms, "expiration_date") == "2022-02-28"
    defined = (
        "LICENSE AGREEMENT\n\nThis License Agreement is made on May 2, 2018.\n\n1. Definitions.\n"
        '"Commencement Date" means 1 July 2018;\n'
    )
    assert _date(extract_key_terms(defined), "effective_date") == "2018-07-01"


def test_effective_on_last_signature() -> None:
    text = (
        "HOSTING AGREEMENT\n\nThis Agreement is effective as of the date of the last signature below "
        '(the "Effective Date").\n\nIN WITNESS WHEREOF the parties have executed this Agreement.\n'
        "Date: 8/3/2020\nDate: 8/5/2020\n"
    )
    assert _date(extract_key_terms(text), "effective_date") == "2020-08-05"


def test_effective_date_from_term_commencement() -> None:
    text = (
        "PROMOTION AGREEMENT\n\nThis Promotion Agreement is dated as of April 20, 2001 between Foo Inc. "
        "and Bar Inc.\n\n3. Term. The term of this Agreement will begin on May 1, 2001 and end on "
        "April 30, 2002.\n"
    )
    terms = extract_key_terms(text)
    assert _date(terms, "agreement_date") == "2001-04-20"
    assert _date(terms, "effective_date") == "2001-05-01"
    assert _date(terms, "expiration_date") == "2002-04-30"


def test_effective_date_of_a_memorandum_in_the_recitals_is_ignored() -> None:
    text = (
        "MAINTENANCE AGREEMENT\n\nThis Agreement is made the 3rd day of May 2007.\n\nWHEREAS the parties "
        "signed a Memorandum of Understanding effective from 1 June 2006.\n\n2. This Agreement shall "
        "become effective on the date first above written.\n"
    )
    assert _date(extract_key_terms(text), "effective_date") == "2007-05-03"


# --- expiration date -------------------------------------------------------------------------


def test_survival_periods_do_not_count_as_the_term() -> None:
    text = (
        "RESELLER AGREEMENT\n\nThis Agreement is entered into as of January 15, 2012.\n\n"
        "4. Audit. During the Term and for seven (7) years after the expiration of this Agreement, "
        "Reseller shall keep records.\n\n"
        "9. Term. The term of this Agreement shall begin on the Effective Date and continue in effect "
        'for a period of three (3) years (the "Initial Term").\n'
    )
    assert _date(extract_key_terms(text), "expiration_date") == "2015-01-15"


def test_term_is_start_plus_duration_same_day() -> None:
    text = (
        "SUPPLY AGREEMENT\n\nThis Agreement is made as of June 1, 2020.\n\n"
        "10. Term. Unless terminated earlier, this Agreement shall terminate on the date five (5) years "
        "from the Effective Date.\n"
    )
    assert _date(extract_key_terms(text), "expiration_date") == "2025-06-01"


def test_anniversary_forms() -> None:
    numbered = (
        "ALLIANCE AGREEMENT\n\nThis Agreement is effective as of March 10, 2014.\n\nThe Agreement shall "
        "continue until the twelfth (12th) anniversary of the Effective Date.\n"
    )
    assert _date(extract_key_terms(numbered), "expiration_date") == "2026-03-10"
    counted = (
        "ALLIANCE AGREEMENT\n\nThis Agreement is effective as of March 10, 2014.\n\nThis Agreement shall "
        'continue until the four (4) year anniversary of the Effective Date (the "Initial Term").\n'
    )
    assert _date(extract_key_terms(counted), "expiration_date") == "2018-03-10"


def test_n_year_term_and_a_n_year_period() -> None:
    text = (
        "FRANCHISE AGREEMENT\n\nThis Agreement is dated as of February 1, 2003.\n\nThe term of this "
        "Agreement shall commence on the Effective Date and shall continue in effect for a TEN (10) "
        "year period.\n"
    )
    assert _date(extract_key_terms(text), "expiration_date") == "2013-02-01"


def test_explicit_end_dates() -> None:
    cases = {
        "This Agreement shall be in effect until October 7. 2023, unless sooner terminated.": "2023-10-07",
        "This Agreement shall be effective through and including June 30, 2008.": "2008-06-30",
        '"Contract Period" shall mean the period commencing on May 1, 2001 and concluding April 30, 2004.': (
            "2004-04-30"
        ),
        "This Agreement is effective as of March 1, 2002 and shall terminate on February 28, 2005.": (
            "2005-02-28"
        ),
        "The term of this Agreement will end the later of (i) July 1, 2009 or (ii) the final delivery.": (
            "2009-07-01"
        ),
    }
    for clause, expected in cases.items():
        text = f"DISTRIBUTION AGREEMENT\n\nThis Agreement is made as of January 2, 2001.\n\n5. {clause}\n"
        assert _date(extract_key_terms(text), "expiration_date") == expected, clause


def test_end_of_calendar_year_and_last_day_of_month() -> None:
    current = (
        "AFFILIATE AGREEMENT\n\nThis Agreement is dated May 8, 2015.\n\n"
        "This agreement shall remain in effect until the end of the current calendar year "
        "and shall renew automatically for one (1) year periods.\n"
    )
    assert _date(extract_key_terms(current), "expiration_date") == "2015-12-31"
    named = (
        "LICENSE\n\nThis Agreement is dated May 8, 2015.\n\nThis agreement will be in effect until the end "
        "of 2016.\n"
    )
    assert _date(extract_key_terms(named), "expiration_date") == "2016-12-31"
    month = (
        "SPONSORSHIP AGREEMENT\n\nThis Agreement is dated May 8, 2015.\n\nThe term of this Agreement shall "
        "expire upon the later of (a) the end of the season and (b) the last day in February, 2020.\n"
    )
    assert _date(extract_key_terms(month), "expiration_date") == "2020-02-29"


def test_contract_year_definitions_are_not_the_end_of_term() -> None:
    text = (
        "COLLABORATION AGREEMENT\n\nThis Agreement is made as of April 2, 2019.\n\n"
        '"Contract Year" means the period commencing on the Effective Date and ending on '
        "December 31, 2019.\n\n"
        "This Agreement shall continue until the fifth (5th) anniversary of the Effective Date.\n"
    )
    assert _date(extract_key_terms(text), "expiration_date") == "2024-04-02"


def test_two_digit_years_and_day_first_dates() -> None:
    text = "LICENSE AGREEMENT\n\nIN WITNESS WHEREOF the parties signed.\n\nDate 24/07/05\n"
    assert _date(extract_key_terms(text), "agreement_date") == "2005-07-24"


def test_large_text_stays_fast() -> None:
    filler = "The Supplier shall deliver the goods and the term of payment is net thirty days. " * 380000
    text = "SUPPLY AGREEMENT\n\nThis Agreement is made as of June 1, 2020.\n\n" + filler
    started = time.perf_counter()
    terms = extract_key_terms(text)
    assert time.perf_counter() - started < 6.0
    assert _date(terms, "agreement_date") == "2020-06-01"
