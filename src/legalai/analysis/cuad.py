"""The 41 CUAD clause categories (names exactly as in CUAD v1) with a plain-language gloss.

CUAD: the Contract Understanding Atticus Dataset, The Atticus Project, CC BY 4.0.
The glosses are ours, written for the summaries a lawyer reads.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "Document Name": "The name of the contract.",
    "Parties": "The parties who signed the contract.",
    "Agreement Date": "The date of the contract.",
    "Effective Date": "The date the contract takes effect.",
    "Expiration Date": "The date the initial term ends.",
    "Renewal Term": "The contract renews after its initial term, and for how long.",
    "Notice Period to Terminate Renewal": "Notice must be given by a deadline to stop renewal.",
    "Governing Law": "Which jurisdiction's law governs the contract.",
    "Most Favored Nation": "A party is entitled to terms at least as good as those given to any third party.",
    "Competitive Restriction Exception": "Carve-outs from a non-compete, exclusivity or no-solicit clause.",
    "Non-Compete": "A party may not compete with the other, or operate in a market or territory.",
    "Exclusivity": "A party must deal exclusively with the other, or may not deal with its competitors.",
    "No-Solicit of Customers": "A party may not solicit the other party's customers.",
    "No-Solicit of Employees": "A party may not solicit or hire the other party's employees.",
    "Non-Disparagement": "A party may not disparage the other.",
    "Termination for Convenience": "A party may end the contract without cause.",
    "Rofr/Rofo/Rofn": "A right of first refusal, first offer or first negotiation.",
    "Change of Control": "A merger or change of control gives rights (to terminate, to consent).",
    "Anti-Assignment": "Assigning the contract needs consent or notice.",
    "Revenue/Profit Sharing": "A party must share revenue or profits with the other.",
    "Price Restrictions": "Limits on raising or lowering prices.",
    "Minimum Commitment": "A minimum order size, purchase or payment commitment.",
    "Volume Restriction": "Limits or fees tied to usage or volume beyond a threshold.",
    "IP Ownership Assignment": "Intellectual property created by one party becomes the other's.",
    "Joint IP Ownership": "Some intellectual property is owned jointly.",
    "License Grant": "A licence is granted to a party.",
    "Non-Transferable License": "A licence that cannot be transferred or sublicensed.",
    "Affiliate License-Licensor": "The licence covers intellectual property of the licensor's affiliates.",
    "Affiliate License-Licensee": "The licence extends to the licensee's affiliates.",
    "Unlimited/All-You-Can-Eat-License": "An unlimited-use licence (enterprise-wide, all-you-can-eat).",
    "Irrevocable or Perpetual License": "A licence that is irrevocable or perpetual.",
    "Source Code Escrow": "Source code is deposited with an escrow agent for release on certain events.",
    "Post-Termination Services": "Obligations that continue after the contract ends (transition, wind-down).",
    "Audit Rights": "A party may audit the other's books, records or compliance.",
    "Uncapped Liability": "Some liability is not capped, or a cap does not apply to certain claims.",
    "Cap on Liability": "Liability is capped at an amount or limited in time.",
    "Liquidated Damages": "Fixed damages or termination fees are payable on breach or termination.",
    "Warranty Duration": "How long a warranty lasts.",
    "Insurance": "A party must maintain insurance.",
    "Covenant Not to Sue": "A party may not sue or challenge the other (e.g. its intellectual property).",
    "Third Party Beneficiary": "A third party may enforce the contract.",
}

# Key-term categories are reported as key terms; the others are clauses.
KEY_TERM_CATEGORIES = frozenset(
    {
        "Document Name",
        "Parties",
        "Agreement Date",
        "Effective Date",
        "Expiration Date",
        "Renewal Term",
        "Notice Period to Terminate Renewal",
        "Governing Law",
    }
)

# Clauses a reviewer usually wants to hear about first, most important first.
PRIORITY = (
    "Uncapped Liability",
    "Cap on Liability",
    "Non-Compete",
    "Exclusivity",
    "Termination for Convenience",
    "Change of Control",
    "Anti-Assignment",
    "Liquidated Damages",
    "Most Favored Nation",
    "Minimum Commitment",
    "IP Ownership Assignment",
    "License Grant",
    "Irrevocable or Perpetual License",
    "Renewal Term",
    "Notice Period to Terminate Renewal",
    "No-Solicit of Employees",
    "No-Solicit of Customers",
    "Rofr/Rofo/Rofn",
    "Audit Rights",
    "Insurance",
    "Warranty Duration",
    "Revenue/Profit Sharing",
    "Price Restrictions",
    "Covenant Not to Sue",
    "Source Code Escrow",
)
