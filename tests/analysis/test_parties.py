"""Party extraction from contract preambles (hand-written examples, offsets checked exactly)."""

from __future__ import annotations

import time

import pytest

from legalai.analysis.parties import extract_parties
from legalai.analysis.types import Party


def _names(text: str) -> list[str]:
    parties = extract_parties(text)
    for party in parties:
        assert text[party.start : party.end] == party.name
    return [p.name for p in parties]


def test_basic_between_with_descriptors_and_short_names() -> None:
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is made as of March 3, 2021 by and between Northwind "
        'Traders, Inc., a Delaware corporation ("Supplier"), and Bluebird Foods LLC, a Texas limited '
        'liability company ("Customer").\n\nWHEREAS, Supplier makes biscuits.'
    )
    parties = extract_parties(text)
    assert [(p.name, p.short_name, p.role) for p in parties] == [
        ("Northwind Traders, Inc.", "Supplier", "supplier"),
        ("Bluebird Foods LLC", "Customer", "customer"),
    ]
    for party in parties:
        assert text[party.start : party.end] == party.name


def test_address_after_corporate_suffix_is_not_part_of_the_name() -> None:
    text = (
        'Development Agreement "Agreement" between Quillon Labs AG Hauptgasse 12 8001 Zurich "Licensor" '
        'and Marsh Pharma S.A. Rua Azul 44 Lisbon "Licensee" regarding a product.'
    )
    assert _names(text) == ["Quillon Labs AG", "Marsh Pharma S.A."]


def test_labeled_parties_party_a_party_b() -> None:
    text = (
        "COOPERATION AGREEMENT\n\n"
        "Party A: Riverbend Energy Co., Ltd.   Legal Representative: Wang Li\n"
        "Party B (Carrier): Lakeside Freight Ltd. Address: 9 Harbour Road, Ningbo\n\n"
        "Party A and Party B agree as follows."
    )
    assert _names(text) == ["Riverbend Energy Co., Ltd.", "Lakeside Freight Ltd."]


def test_between_and_labels_on_their_own_lines() -> None:
    text = (
        "SERVICES AGREEMENT\n\nBetween: Copperleaf Systems Inc. 55 Elm Street, Springfield\n\n"
        "And: Harbor Analytics Limited Unit 4, Dock Lane, Cork\n\n1. Services"
    )
    assert _names(text) == ["Copperleaf Systems Inc.", "Harbor Analytics Limited"]


def test_period_inside_an_address_does_not_end_the_party_list() -> None:
    text = (
        "SUPPLY AGREEMENT THIS AGREEMENT is made on 2 May 2020. BETWEEN: FERNHILL PRODUCTS LTD., a company "
        "incorporated in Ireland, with its office at 3 Quay St. Galway. AND BRACKEN HOLDINGS LIMITED, a "
        "company incorporated in Malta, with its office at 7 Old Road, Valletta.\n\nWHEREAS the parties "
        "wish to trade."
    )
    assert _names(text) == ["FERNHILL PRODUCTS LTD.", "BRACKEN HOLDINGS LIMITED"]


def test_enumerated_following_parties() -> None:
    text = (
        "This Agreement is made and entered into as of June 1, 2001, by and among the following parties:\n\n"
        '    (a) Starling Media, Inc. ("Starling"), 10 Main Street, Boston;\n\n'
        '    (b) Wren Partners Co. ("Wren"), 20 High Street, Salem; and\n\n'
        '    (c) Heron Optics Group ("Heron"), 30 Bay Road, Lynn.\n\n1. Recitals.'
    )
    assert _names(text) == ["Starling Media, Inc.", "Wren Partners Co.", "Heron Optics Group"]


def test_lower_case_brand_and_leading_the() -> None:
    text = (
        "This Co-Branding Agreement is entered into as of May 1, 2000 by and between the Pinecone "
        'Corporation ("Pinecone"), located at 1 Forest Way, Eugene, Oregon, and cloudnine.com, Inc., a '
        'Delaware corporation ("cloudnine").'
    )
    assert _names(text) == ["Pinecone Corporation", "cloudnine.com, Inc."]


def test_name_with_ampersand_and_its_role() -> None:
    text = (
        "This Distribution Agreement is entered into by and between AT&T Widgets LLC, a Delaware limited "
        'liability company ("Vendor"), and its Reseller, Gadget Hub, Inc., a Nevada corporation ("Hub").'
    )
    assert _names(text) == ["AT&T Widgets LLC", "Gadget Hub, Inc."]


def test_later_mentions_do_not_replace_the_preamble() -> None:
    text = (
        "This License Agreement is made by and between Oakridge Software, Inc., a California "
        'corporation ("OS"), and Maple Devices Corp., a Delaware corporation ("Maple").\n\n'
        "1. Definitions. Nothing creates a partnership between OS and Maple or between Maple and any "
        "other party."
    )
    assert _names(text) == ["Oakridge Software, Inc.", "Maple Devices Corp."]


def test_undersigned_signatories() -> None:
    text = (
        "JOINT FILING AGREEMENT\n\nThe undersigned hereby agree that the statement on Schedule 13D is filed "
        "on behalf of each of them.\n\nDated: May 1, 2020\n\n"
        "SILVERTON CAPITAL PARTNERS, L.P.\n\nBy: Silverton GP, LLC, its general partner\n\n"
        "By: /s/ Jane Roe Name: Jane Roe Title: Managing Member\n\n"
        "SILVERTON GP, LLC\n\nBy: /s/ Jane Roe Name: Jane Roe Title: Managing Member\n\n"
        "JANE ROE\n\n/s/ Jane Roe\n"
    )
    assert _names(text) == ["SILVERTON CAPITAL PARTNERS, L.P.", "SILVERTON GP, LLC", "JANE ROE"]


def test_collective_definitions_are_not_parties() -> None:
    text = (
        'This Agreement is made by and between Alder Tools Inc., a Maine corporation ("Alder"), and Birch '
        'Supply LLC, an Ohio limited liability company ("Birch" and together with its affiliates, the '
        '"Birch Parties").'
    )
    names = _names(text)
    assert names == ["Alder Tools Inc.", "Birch Supply LLC"]


@pytest.mark.parametrize("text", ["", " ", "\x00\x01garbage", "between", "between and and and", "(" * 5000])
def test_empty_and_garbage_input(text: str) -> None:
    parties = extract_parties(text)
    assert isinstance(parties, tuple)
    assert all(isinstance(p, Party) for p in parties)


def test_large_text_is_fast() -> None:
    preamble = (
        'This Agreement is made by and between Alder Tools Inc., a Maine corporation ("Alder"), and Birch '
        'Supply LLC, an Ohio limited liability company ("Birch").\n\n'
    )
    filler = "The parties between them agree that the undersigned, By: Acme Inc. shall deliver. " * 380_000
    text = preamble + filler  # ~30 MB
    started = time.perf_counter()
    names = [p.name for p in extract_parties(text)]
    assert time.perf_counter() - started < 2.0
    assert names == ["Alder Tools Inc.", "Birch Supply LLC"]


def test_parties_heading_with_numbered_entries_and_a_person() -> None:
    text = (
        "THIS AGREEMENT is entered into between the parties on 3 June 2021.\n\n"
        "PARTIES (1) Larkspur Analytics Limited is a company registered in England whose registered office "
        'is at 4 Mill Lane, Leeds (the "Employer"); and (2) Tobias Wren of [address removed] (the '
        '"Executive").\n\nAGREED TERMS 1. Definitions'
    )
    assert _names(text) == ["Larkspur Analytics Limited", "Tobias Wren"]


def test_initial_letters_are_not_enumerators_and_double_spaced_digits_stay() -> None:
    text = (
        'This Agreement is entered into by and between Q.RIVET, INC., a Delaware corporation ("Q.rivet"), '
        'and  GRID  7 SOLUTIONS, INC. ("GRID  7"), a Virginia corporation with offices at 1501  Elm  Drive.'
    )
    assert _names(text) == ["Q.RIVET, INC.", "GRID  7 SOLUTIONS, INC."]


def test_address_and_government_body_are_not_parties() -> None:
    text = (
        "This Sponsorship Agreement is entered into by and between brightpath.com, inc., a Delaware "
        'corporation ("Brightpath"), and Tollgate Foods, Inc., a Utah corporation, located at 4700 Ridge '
        'Avenue, Provo, Utah 84601 ("Sponsor"). A copy was filed with the Securities and Exchange Commission.'
    )
    assert _names(text) == ["brightpath.com, inc.", "Tollgate Foods, Inc."]


def test_seat_city_and_state_after_the_name_are_cut() -> None:
    text = (
        "This Development Agreement is between Marlow Bio Ltd. of Shanghai, China, a Chinese company "
        '("Marlow"), and Kestrel Oils, Tucson, Ariz. (hereinafter "Kestrel"); and Vantage Bancorp, Inc. of '
        'Ohio, an Ohio corporation ("Vantage").'
    )
    assert _names(text) == ["Marlow Bio Ltd.", "Kestrel Oils", "Vantage Bancorp, Inc. of Ohio"]


def test_short_names_in_the_preamble_resolve_to_defined_full_names() -> None:
    text = (
        'Gentlemen:\n\nThe undersigned holds shares of Ridgeway Tools, Inc. ("RTI"), a Delaware '
        'corporation, and will hold shares of Copperline Holdings Corp. ("Copperline"), pursuant to the '
        'Agreement and Plan of Merger (the "Merger Agreement") by and among Copperline, Copperline Sub Corp. '
        '("Sub") and RTI.\n\n1. Affiliate Status.'
    )
    assert _names(text) == ["Copperline Holdings Corp.", "Copperline Sub Corp.", "Ridgeway Tools, Inc."]


def test_between_and_labels_and_a_description_after_the_suffix() -> None:
    text = (
        "CONSULTING AGREEMENT\n\nTHIS AGREEMENT made effective the 2 day of May 2019.\n\nBETWEEN:\n\n"
        "ALDERWOOD NATURALS, INC., a company having its office at 9 Pine Street, Victoria\n\n"
        '("Alderwood")\n\nAND:\n\nDR. JUNO PARK INC., Businessperson, having an office at 2 Bay Road\n\n'
        '(the "Contractor")\n\nWHEREAS the Contractor consults.'
    )
    assert _names(text) == ["ALDERWOOD NATURALS, INC.", "DR. JUNO PARK INC."]


def test_role_word_and_another_partys_short_name_are_dropped() -> None:
    text = (
        "This Agreement is made by and between FALCON PIPELINE COMPANY, a Delaware Corporation, "
        'hereinafter referred to as "Transporter" and HARBOR GAS COMPANY, a Kentucky Corporation, '
        'hereinafter referred to as "Shipper." Transporter and Shipper agree as follows.'
    )
    assert _names(text) == ["FALCON PIPELINE COMPANY", "HARBOR GAS COMPANY"]


def test_multi_column_suffix_and_numbered_list_after_and() -> None:
    text = (
        "HOSTING AGREEMENT\n\nThis AGREEMENT is made the 2nd day of March 1999\n\nBETWEEN\n\n"
        '    1. Osprey Data Corp., a Delaware corporation ("Osprey"), having an address at 3 Elm Street\n\n'
        "    AND\n\n"
        '    2. Plover Press Limited a company registered in England ("Plover")\n\n    WHEREAS:\n'
    )
    assert _names(text) == ["Osprey Data Corp.", "Plover Press Limited"]
