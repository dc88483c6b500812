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


# --------------------------------------------------------------------------------------------
# Failure modes found on the CUAD development set (synthetic snippets)
# --------------------------------------------------------------------------------------------


def test_bulleted_party_list_and_a_blank_form_party() -> None:
    text = (
        'FRANCHISE AGREEMENT\n\nTHIS FRANCHISE AGREEMENT (the "Agreement") is made as of the Effective Date '
        "by and between: \u25cf Pebble Creek Brands, LLC, a Delaware limited liability company, with its "
        'principal place of business at 1 Lake Road, Austin, Texas ("we" or "us"); and \u25cf a [corporation '
        'organized in] the state of ("you" or the "Franchisee").\n\nIntroduction\n\n'
        "We have developed a system."
    )
    assert _names(text) == ["Pebble Creek Brands, LLC"]


@pytest.mark.parametrize(
    ("preamble", "expected"),
    [
        (
            "made by and among Alder Inc., Birch LLC and Cedar Corp.",
            ["Alder Inc.", "Birch LLC", "Cedar Corp."],
        ),
        (
            'made by and among Alder Inc. ("Buyer"), a Maine corporation, Birch Holdings, LLC, a Texas '
            'limited liability company ("Birch"), and Cedar Corp., a Nevada corporation ("Cedar")',
            ["Alder Inc.", "Birch Holdings, LLC", "Cedar Corp."],
        ),
        (
            'entered into by and between Harrow Tools, Inc., a Delaware corporation (the "Company"), and '
            "Vale Strategic Partners LP, a Delaware limited partnership, Vale SP GP LLC, a Delaware limited "
            'liability company, and Vale Capital LP, a Delaware limited partnership (collectively, "Vale")',
            ["Harrow Tools, Inc.", "Vale Strategic Partners LP", "Vale SP GP LLC", "Vale Capital LP"],
        ),
        (
            'made by Quill Trust, Inc., a Maryland corporation (the "Company"), together with Quill '
            'Operating, L.P., a Delaware limited partnership (the "Partnership")',
            ["Quill Trust, Inc.", "Quill Operating, L.P."],
        ),
    ],
)
def test_comma_separated_corporate_names(preamble: str, expected: list[str]) -> None:
    text = f"This Agreement is {preamble}.\n\nWHEREAS the parties wish to cooperate."
    assert _names(text) == expected


def test_title_page_list_of_names_in_capitals() -> None:
    text = (
        "LICENSE AGREEMENT\n\nby and among\n\nNORTHGATE SYSTEMS CORPORATION,\n\nEASTLAKE ELEVATOR "
        "CORPORATION\n\nand\n\nWESTFIELD CLIMATE CORPORATION\n\nDated as of May 2, 2020\n\n1. Definitions"
    )
    assert _names(text) == [
        "NORTHGATE SYSTEMS CORPORATION",
        "EASTLAKE ELEVATOR CORPORATION",
        "WESTFIELD CLIMATE CORPORATION",
    ]


def test_unbalanced_quote_does_not_hide_the_next_party() -> None:
    text = (
        "THIS HOSTING AGREEMENT is entered into by and between LUMEN APPS INC a Nevada corporation having "
        'its place of business at 5 Vegas Drive (hereinafter, -Licensee"), and STREAMCO, Inc. a California '
        'corporation, having its place of business at PO Box 7 Irvine (hereinafter, "STREAMCO). STREAMCO '
        'and Licensee may be referred to as a "Party."   WHEREAS, STREAMCO provides hosting.'
    )
    assert _names(text) == ["LUMEN APPS INC", "STREAMCO, Inc."]


def test_names_in_running_text_before_descriptors() -> None:
    text = (
        'THIS AGREEMENT (the "AGREEMENT") entered into as of the 9 day of May, 2004 (the "EFFECTIVE DATE") '
        "sets out the terms under which Redfern Portal Systems, Inc., a Nevada corporation having an "
        'address at 12 Main Road, Margate, FL ("REDFERN"), authorizes Ostrich Direct, Inc., a Pennsylvania '
        'corporation, having an address at 9 Elm Avenue, Berwyn, PA ("RESELLER") to resell the Redfern '
        'Portals ("PORTALS").\n\nREDFERN AND RESELLER AGREE AS FOLLOWS:'
    )
    assert _names(text) == ["Redfern Portal Systems, Inc.", "Ostrich Direct, Inc."]


def test_power_of_attorney_appointment() -> None:
    text = (
        "LIMITED POWER OF ATTORNEY\n\nKNOW ALL MEN BY THESE PRESENTS, dated as of May 1, 2004, that HALYARD "
        'INVESTMENT COMPANY, a statutory trust organized under the laws of Delaware (the "Adviser"), does '
        "hereby nominate, constitute and appoint HALYARD SERVICES COMPANY, a statutory trust organized "
        'under the laws of Delaware ("HSC"), to act as agent of the Adviser.\n\nThe Adviser ratifies this.'
    )
    assert _names(text) == ["HALYARD INVESTMENT COMPANY", "HALYARD SERVICES COMPANY"]


def test_title_before_the_first_name_and_a_bare_corporate_short_name() -> None:
    text = (
        "IP RIGHTS AGREEMENT   Sorrel, a California corporation having a place of business at 1 Atomic "
        'Court, San Diego (the "Investor"), and Thistle Minerals Ltd., a British Columbia corporation (the '
        '"Company") agree as follows:   I. Background'
    )
    assert _names(text) == ["Sorrel", "Thistle Minerals Ltd."]
    certificate = (
        'In connection with the sale of common shares (the "Securities") of Larch Pharma Inc. (the '
        '"Corporation") pursuant to an agency agreement dated as of May 2, 2015 between the Corporation '
        'and the agents named therein, [ ] (the "Agent"), the undersigned certify as follows.'
    )
    assert _names(certificate)[0] == "Larch Pharma Inc."


def test_joint_filing_list_after_a_phrase() -> None:
    text = (
        'Pursuant to the Securities Exchange Act of 1934, as amended, and the rules thereunder (the "Act") '
        "the undersigned hereby agree to the joint filing of Tern IV-A, L.P., Tern IV-B, L.P., Tern GP "
        "L.L.C. and Mary Q. Tern, on behalf of each of them of any filing required under the Act."
    )
    assert _names(text) == ["Tern IV-A, L.P.", "Tern IV-B, L.P.", "Tern GP L.L.C.", "Mary Q. Tern"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # labels inside one line of running text, each name cut at the next field
            "This Agreement takes effect on signature. Party A: Rowan Mobility Technology Co., Ltd. Legal "
            "Representative: Li Wei Party B: Hunan Birch Leasing Co., Ltd Legal Representative: Zhao Min "
            "Party A and Party B are each a Party. The platform is operated by Party A: Rowan Ride Market.",
            ["Rowan Mobility Technology Co., Ltd.", "Hunan Birch Leasing Co., Ltd"],
        ),
        (  # the name on the line after its label
            "COOPERATION AGREEMENT\n\n     Party A:\n\n  Cobalt Search Technology Co., Ltd.\n\n  Address:\n\n"
            "  10 Hill Street, Beijing\n\n    Party B:\n\n  Lotus Online Housing Co., Ltd.\n\n  Address:",
            ["Cobalt Search Technology Co., Ltd.", "Lotus Online Housing Co., Ltd."],
        ),
        (  # lower-case role labels; an empty field is not a name
            "SUPPLY CONTRACT Contract No: Date: The buyer/End-User: Shenzhen Vireo Supply Co., Ltd. ADD: Tel "
            "No. : The seller: ADD: The Contract is signed by the Buyer and Seller in Hong Kong.",
            ["Shenzhen Vireo Supply Co., Ltd."],
        ),
        (  # "Name:" inside a role field
            "SPONSOR:                         Name: Juniper Fish Grill Phone: 760/555-0100   Address: 1 "
            "Wright Place",
            ["Juniper Fish Grill"],
        ),
    ],
)
def test_labelled_parties(text: str, expected: list[str]) -> None:
    assert _names(text) == expected


def test_form_fields_complete_a_one_party_preamble() -> None:
    text = (
        "Effective Date:  11/4/10\n\nCompany Name:  Quartzline, Inc.\n\nCompany Address:  1 North Avenue\n\n"
        'This AGREEMENT is entered into as of the Effective Date by and between Pioneer Bank, N.A. ("Pioneer '
        'Bank"), a national banking association, and the above-named Supplier, a corporation.'
    )
    assert _names(text) == ["Pioneer Bank, N.A.", "Quartzline, Inc."]
    reseller = (
        "Signature Page\n\nReseller Full Legal Name Larkin.org, a nonprofit public benefit corporation\n\n"
        "This Sub-Reseller Agreement is made and entered into by and between tallyhub.com, inc., a Delaware "
        'corporation ("Tallyhub") and the Reseller named above.'
    )
    assert _names(reseller) == ["tallyhub.com, inc.", "Larkin.org"]


def test_role_columns_in_capitals() -> None:
    text = (
        "TRANSPORTATION CONTRACT\n\nContract No. 5-2012\n\nSENDER OSPREY PETROLEUM EXPLORATION LIMITED\n\n"
        "TAX ID 830.051\n\nSHIPPER KESTREL PIPELINES S.A.   TAX ID 899.999\n\nTerm of execution: six months."
    )
    assert _names(text) == ["OSPREY PETROLEUM EXPLORATION LIMITED", "KESTREL PIPELINES S.A."]


def test_confirmation_to_and_from_headers() -> None:
    text = (
        "Interest Rate Cap Confirmation\n\nDate:               27 April 2006\n\n"
        'To:                 Harbor Trust Bank, N.A., as Master Servicer ("Counterparty")\n\n'
        "Attention:          Swaps Administration\n\n"
        'From:               Alpenbank AG, London Branch ("Alpenbank")\n\nDear Sirs\n\n'
        "The purpose of this communication is to confirm the terms of the Transaction."
    )
    assert _names(text) == ["Harbor Trust Bank, N.A.", "Alpenbank AG"]


def test_defined_terms_are_not_parties() -> None:
    text = (
        "This Content License Agreement is between Songbird Media, Inc. d/b/a Songbird Network, located at "
        '20 Old Road, Redding ("SBN"), and Distributor, as set forth below. Distribution is subject to the '
        'Master Terms of Service ("MTS") attached hereto. The Professional Golfers Tour (the "PGT") is not '
        "a party.\n\nDistributor's authorized signature is REQUIRED."
    )
    assert _names(text) == ["Songbird Media, Inc."]


def test_signature_columns_are_split() -> None:
    text = (
        'This Support Agreement is entered into by and between Wicket Technologies, Inc. ("Wicket") and '
        '________, a ____ corporation ("Licensee").\n\n1. Support.\n\nIN WITNESS WHEREOF the parties have '
        "signed.\n\nLICENSEE                                  WICKET TECHNOLOGIES, INC.\n\n"
        "By: ______                                By: ______\n"
    )
    assert _names(text) == ["Wicket Technologies, Inc."]


def test_letter_agreement_addressee() -> None:
    text = (
        "AGENCY AGREEMENT   May 25, 2016   Compass Rose Trading, LLC 1055 Jefferson Street N.W. Suite 303 "
        "Washington, DC 20007   As Sales Agent   Dear Ladies and Gentlemen:   Bluefin Residential REIT, "
        'Inc., a Maryland corporation (the "Company"), together with Bluefin Holdings, L.P., a Delaware '
        'limited partnership (the "Operating Partnership"), agrees that it may issue shares through the '
        "Agent.\n\n1. Issuance."
    )
    assert _names(text) == [
        "Bluefin Residential REIT, Inc.",
        "Bluefin Holdings, L.P.",
        "Compass Rose Trading, LLC",
    ]


def test_person_signing_for_a_company_and_agent_for_a_talent() -> None:
    text = (
        'This Website Agreement (the "Agreement") is entered into on May 1, 2018 by and between Ilona Marsh, '
        'director of CookLeaf (hereinafter referred to as "Client") and Owen Pike, director of Pike Web '
        'Works, PLC (hereinafter referred to as "Company").\n\n1. Services.'
    )
    assert _names(text) == ["CookLeaf", "Pike Web Works, PLC"]
    talent = (
        "THIS ENDORSEMENT AGREEMENT is made as of May 1, 2013 by and between Tarn Learning Limited of 69 "
        'Manor Road, Brentford ("Company") and Starline Speakers of 90 High Street, Burnham ("CSA") agent '
        'for Robin Fell ("Talent") in his individual capacity (collectively the "Parties").   WITNESSETH:'
    )
    assert _names(talent) == ["Tarn Learning Limited", "Starline Speakers", "Robin Fell"]


def test_spaced_recitals_heading_ends_the_list() -> None:
    text = (
        "THIS FIRST AMENDMENT is made as of May 1, 1990 by and among Sagewind, a California general "
        'partnership ("Partnership"), and WestWind Management Inc., a California corporation ("Manager"), '
        "with respect to the following facts:\n\n   R E C I T A L S\n\n   A.  The Partnership, all of the "
        "Partners except Alpha Gale (Prime), Inc. and Beta Gale (Prime) Inc., and Manager entered into the "
        "Agreement."
    )
    assert _names(text) == ["Sagewind", "WestWind Management Inc."]


def test_individual_signatures_in_a_joint_filing() -> None:
    text = (
        "JOINT FILING AGREEMENT\n\nThe undersigned hereby agree to jointly file this Schedule 13G.\n\n"
        "Dated: March 27, 2020.\n\n/s/ Shelby Q. Rowe Shelby Q. Rowe\n\nROWE FAMILY TRUST\n\n"
        "By: /s/ Shelby Q. Rowe Shelby Q. Rowe Co-Trustee\n\nMARIN INVESTMENT S.\u00c0 R.L. /s/ Ana Lis "
        "By: Ana Lis Title: Authorized Signatory DANI\u011aL K\u0158EMEN /s/ Daniel Kremen By: Daniel Kremen"
    )
    names = _names(text)
    assert "Shelby Q. Rowe" in names
    assert "ROWE FAMILY TRUST" in names
    assert "DANI\u011aL K\u0158EMEN" in names


def test_department_after_the_suffix_and_a_lower_case_corporate_word() -> None:
    text = (
        "This Agreement is entered into this 31 January, 1994 by and between PLOVER S.A., Departement "
        "ORION Systemes whose address is 33, route de la Dame, 77300 Paris (hereinafter referred to as "
        "ORION) and ZIMAGE corporation whose address is 1050 Fifth Street, San Jose, California 95112 "
        "(hereinafter referred to as ZIMAGE) for the Customer Support and Software Maintenance.\n\n"
        "WITNESSETH"
    )
    assert _names(text) == ["PLOVER S.A.", "ZIMAGE corporation"]


def test_and_inside_names_in_capitals_and_inside_a_descriptor() -> None:
    text = (
        "This Content License Agreement is between THE FENWICK FILM AND MEDIA CORPORATION, located at 1 "
        "Unicorn Road, Carlsbad, CA 92009 and LANTERN ENTERTAINMENT located at 12 Via Latina, Del Mar, CA "
        "92014\n\nLicensor: LANTERN ENTERTAINMENT Licensee THE FENWICK FILM AND MEDIA CORPORATION\n\n"
        "THIS CONTENT LICENSE AGREEMENT is made as of May 3, 2005."
    )
    assert _names(text) == ["THE FENWICK FILM AND MEDIA CORPORATION", "LANTERN ENTERTAINMENT"]
    descriptor = (
        "TRANSPORTATION CONTRACT\n\nGENERAL CLAUSES. PARTIES: The Parties of the Contract shall be: "
        "PETROSUR S A, hereinafter PETROSUR, a company of mixed economy, attached to the Ministry of Mines "
        "and Energy, with its domicile in Bogota, and the SENDER, identified in the Specific Conditions."
    )
    assert _names(descriptor) == ["PETROSUR"]


def test_entity_to_be_formed_after_an_and_label() -> None:
    text = (
        "Strategic Alliance Agreement\n\nThis Agreement is made and entered into this 30th day of June 2017,"
        "\n\nBetween: Keystone Capital Inc., having its office at 29 Commercial Blvd, Fort Lauderdale, "
        'Florida, hereinafter referred to as "KCI";\n\nAnd:\n\nA Cypress Trading Company to be formed by '
        "Chairman James Billie and Carl Tamsin, having an office at 18 Huff Road, Okeechobee, FL 34974, "
        'hereinafter referred to as "CTC".\n\nOverview'
    )
    assert _names(text) == ["Keystone Capital Inc.", "Cypress Trading Company"]


def test_parties_named_on_the_signature_pages() -> None:
    text = (
        "CABLE NETWORK CONSTRUCTION AND MAINTENANCE AGREEMENT   THIS AGREEMENT, made this 18th day of April "
        'between and among the Parties signatory hereto (hereinafter called "Parties"),   WITNESSETH:   '
        "WHEREAS, the Parties wish to build a cable.\n\n(c) Landing Point: Landing Point shall be the beach "
        "joint.\n\nIN WITNESS WHEREOF, the Parties have signed.     For and on behalf of Kelp "
        "Telecommunications Ltd.         By:\n\n        For and on behalf of Reef Telecom         By:\n\n"
        "        For and on behalf of Atoll Net (Preparatory Office) Tbk\n\n        By:\n"
    )
    assert _names(text) == ["Kelp Telecommunications Ltd.", "Reef Telecom", "Atoll Net"]


def test_clauses_about_the_parties_and_laws_are_not_preambles() -> None:
    text = (
        "SPONSORSHIP AGREEMENT SUMMARY\n\nSPONSOR:   Name: Juniper Fish Grill Phone: 760/555-0100\n\n"
        'BENEFITS:          Harbor Ballpark Funding LLC ("HBF") shall provide Sponsor with signage.\n\n'
        "Nothing herein establishes a partnership or agency relationship between HBF and Sponsor or between "
        'Gulls L.P. (the "Gulls") and Sponsor.'
    )
    assert _names(text) == ["Harbor Ballpark Funding LLC", "Juniper Fish Grill"]
    law = (
        "In accordance with the Law of the Republic on Joint Ventures Using Chinese and Foreign Investment "
        '(the "Joint Venture Law"), Poplar Group Limited Liability Company and Vireo Technology Inc., '
        "agree to establish a joint venture."
    )
    assert "Foreign Investment" not in _names(law)


def test_execution_clauses_and_entities_signing_by() -> None:
    text = (
        "Network Outsourcing Agreement\n\nThe Agreement between the Bank and the contractor is set out "
        "below.\n\n1. Services. The contractor provides services.\n\nEXECUTED as an agreement.\n\n"
        "SIGNED SEALED AND DELIVERED by BANK OF CORAL SEA LIMITED by its duly constituted Attorney in the "
        "presence of:\n\n"
        "Signed for and on behalf of NETCO (PNG) LIMITED by the authority of the Directors   )\n"
    )
    assert _names(text) == ["BANK OF CORAL SEA LIMITED", "NETCO"]
    acceptance = (
        "SOFTWARE DEVELOPMENT AGREEMENT\n\nThis Statement of Work is made part of the Software Development "
        "Agreement executed by and between Developer and Client on the Effective Date.\n\n1. Overview.\n\n"
        "IN WITNESS WHEREOF, the Parties have executed this Agreement. Acceptance by Developer LARK SOFTWARE "
        "DEVELOPERS, Inc. By: /s/ Jo Vale Jo Vale, VP\n\nAcceptance by Client: PELLET DELIVERS INC. By: /s/ "
        "Di Cole Di Cole"
    )
    assert _names(acceptance) == ["LARK SOFTWARE DEVELOPERS, Inc.", "PELLET DELIVERS INC."]


def test_side_by_side_signature_names_above_by_captions() -> None:
    text = (
        "DISTRIBUTOR AGREEMENT\n\n1. CERTIFICATION: The distributor certifies that the products will be "
        "resold.\n\n12. ENTIRE AGREEMENT: This Agreement is the whole agreement.\n\n"
        "GRANITE TEST SYSTEMS, INC.        COBALT TECHNICAL SERVICES\n\n"
        "BY                                      BY   --------------------\n"
    )
    assert _names(text) == ["GRANITE TEST SYSTEMS, INC.", "COBALT TECHNICAL SERVICES"]


@pytest.mark.parametrize(
    "text",
    [
        "This Agreement is made between " + " " * 200_000 + "Acme Inc.",
        "This Agreement is made between Acme Inc." + "\t" * 200_000 + "and Beta LLC",
        "This Agreement is made between Acme Inc." + "\n" * 100_000 + "and Beta LLC",
        "This Agreement is made between Acme Inc." + "\n \n" * 50_000 + "and Beta LLC",
        "IN WITNESS WHEREOF " + ("For and on behalf of " + "Acme " * 40) * 2000,
    ],
)
def test_long_whitespace_runs_are_linear(text: str) -> None:
    started = time.perf_counter()
    extract_parties(text)
    assert time.perf_counter() - started < 1.0
