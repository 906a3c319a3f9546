#!/usr/bin/env python3
"""Synthetic EOB uploads for the ingest benchmark, as NDJSON on stdout.

    python3 bench/eob/generate.py --count 100000 --members 5000 --seed 1 > eobs.ndjson

Each line is one upload: a FHIR R4 Bundle (type "collection") holding one
Patient and one CARIN Blue Button-shaped professional ExplanationOfBenefit that
references it by fullUrl "urn:uuid:...". Every EOB passes Portico's validator in
strict mode (core/src/eob/validate.rs): status, type, use, patient, created,
insurer, provider, outcome, insurance with exactly one focal entry, the CARIN
unique claim identifier, billablePeriod, and adjudication amounts on every item.

What varies, so that the benchmark does not measure one cached shape:
- members: --members of them, numbered from 1 (identifier system
  https://bench.example/member, value M0000123; email member123@bench.example),
  each with a plan and a stable Patient uuid; the member of a line is random;
- 1 to 8 items (most EOBs have 1 to 3), each a CPT-like service code with its
  display and a service date in the billable period;
- item adjudications: HL7 http://terminology.hl7.org/CodeSystem/adjudication
  (submitted, eligible, benefit, deductible, copay) and CARIN
  http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication (coinsurance,
  noncovered, memberliability, paidtoprovider); the plan-paid amount is either
  "benefit" or "paidtoprovider", never both (they feed the same statement column);
  amounts are decimals written with exactly two places;
- about 8% of items are denied, with an X12 claim adjustment reason on the
  noncovered adjudication and a processNote;
- the EOB's total list sums its items' adjudications by category;
- claim identifiers are unique per line, except about 2% of lines that
  re-publish an earlier claim: same member, plan and claim id, the same
  services, a new EOB id, meta.versionId one higher, a later created date and
  re-adjudicated amounts.

Lines are 4 to 6 KB for most EOBs (median about 5.4 KB; one item, about 4 KB;
eight items, up to about 14 KB). The output depends only on the arguments: the
same arguments give the same bytes, a smaller --count gives a prefix of a larger
one, and a member's Patient is the same in every line (for one Python version:
the stream comes from its `random`). Standard library only; Python 3.8+.

This only writes the data; the HTTP driver that posts it lives with the endpoint.
"""

import argparse
import datetime
import json
import os
import random
import sys
import uuid

MEMBER_SYSTEM = "https://bench.example/member"
HL7_ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN_ADJ = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"

# (code, display, typical billed charge in dollars: low, high)
SERVICES = [
    ("99202", "Office visit, new patient, 15-29 minutes", 90, 160),
    ("99203", "Office visit, new patient, 30-44 minutes", 140, 240),
    ("99204", "Office visit, new patient, 45-59 minutes", 210, 360),
    ("99212", "Office visit, established patient, 10-19 minutes", 60, 120),
    ("99213", "Office visit, established patient, 20-29 minutes", 95, 180),
    ("99214", "Office visit, established patient, 30-39 minutes", 140, 260),
    ("99215", "Office visit, established patient, 40-54 minutes", 200, 360),
    ("99395", "Preventive visit, established patient, 18-39 years", 180, 300),
    ("99396", "Preventive visit, established patient, 40-64 years", 200, 330),
    ("99283", "Emergency department visit, moderate severity", 400, 1100),
    ("99284", "Emergency department visit, high severity", 700, 1900),
    ("36415", "Routine venipuncture", 10, 35),
    ("80053", "Comprehensive metabolic panel", 40, 160),
    ("80061", "Lipid panel", 35, 120),
    ("83036", "Hemoglobin A1c", 25, 90),
    ("85025", "Complete blood count with automated differential", 25, 80),
    ("84443", "Thyroid stimulating hormone", 45, 140),
    ("81001", "Urinalysis with microscopy", 15, 50),
    ("87880", "Rapid strep test", 25, 70),
    ("87635", "SARS-CoV-2 amplified probe test", 50, 150),
    ("71046", "Chest X-ray, 2 views", 90, 300),
    ("73030", "Shoulder X-ray, 2 or more views", 80, 260),
    ("72148", "MRI lumbar spine without contrast", 900, 2800),
    ("70450", "CT head without contrast", 600, 1900),
    ("76700", "Ultrasound, complete abdomen", 300, 900),
    ("77067", "Screening mammography, bilateral", 180, 450),
    ("93000", "Electrocardiogram with interpretation", 40, 140),
    ("93306", "Echocardiography, complete, with Doppler", 800, 2200),
    ("97110", "Therapeutic exercises, each 15 minutes", 40, 110),
    ("97140", "Manual therapy, each 15 minutes", 40, 110),
    ("90471", "Immunization administration, one vaccine", 20, 60),
    ("90686", "Influenza vaccine, quadrivalent, preservative free", 25, 70),
    ("96372", "Therapeutic injection, subcutaneous or intramuscular", 30, 90),
    ("20610", "Arthrocentesis, major joint", 150, 400),
    ("11721", "Debridement of nails, 6 or more", 50, 140),
    ("17110", "Destruction of benign lesions, up to 14", 120, 320),
    ("45378", "Diagnostic colonoscopy", 1200, 3200),
    ("90834", "Psychotherapy, 45 minutes", 110, 220),
    ("92014", "Eye exam, established patient, comprehensive", 120, 260),
    ("99442", "Telephone evaluation, 11-20 minutes", 40, 100),
]

DIAGNOSES = [
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E78.5", "Hyperlipidemia, unspecified"),
    ("J06.9", "Acute upper respiratory infection, unspecified"),
    ("M54.50", "Low back pain, unspecified"),
    ("Z00.00", "General adult medical examination without abnormal findings"),
    ("F41.1", "Generalized anxiety disorder"),
    ("R10.9", "Unspecified abdominal pain"),
    ("J02.9", "Acute pharyngitis, unspecified"),
    ("M25.511", "Pain in right shoulder"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ("Z23", "Encounter for immunization"),
    ("R07.9", "Chest pain, unspecified"),
    ("H52.4", "Presbyopia"),
]

# (code, display, member owes the denied charge: PR rather than CO)
DENIALS = [
    ("50", "These are non-covered services because this is not deemed a medical necessity by the payer.", False),
    ("96", "Non-covered charge(s).", True),
    ("97", "The benefit for this service is included in the payment/allowance for another service/procedure that has already been adjudicated.", False),
    ("204", "This service/equipment/drug is not covered under the patient's current benefit plan.", True),
    ("27", "Expenses incurred after coverage terminated.", True),
    ("B7", "This provider was not certified/eligible to be paid for this procedure/service on this date of service.", False),
]

# (payer id, name, claim number prefix, copay dollars for office visits, coinsurance percent)
PLANS = [
    ("bench-blue", "Bench Blue PPO", "BBP", 25, 20),
    ("bench-care", "BenchCare HMO", "BCH", 20, 10),
    ("summit", "Summit Health Plan", "SHP", 40, 30),
    ("lakeside", "Lakeside Mutual", "LKM", 30, 20),
    ("prairie", "Prairie Benefit Trust", "PBT", 0, 20),
]

GIVEN = ["Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
         "Kara", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
         "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe"]
FAMILY = ["Abbott", "Baker", "Castillo", "Dubois", "Eriksen", "Fontaine", "Garcia", "Haddad",
          "Ito", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nguyen", "Okafor", "Patel",
          "Quintero", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Yilmaz", "Zhou"]
CLINICS = ["Northside Family Medicine", "Riverbend Clinic", "Harbor Imaging Center",
           "Oak Street Physicians", "Valley Orthopedics", "Cedar Lab Services",
           "Lakeview Cardiology", "Midtown Urgent Care", "Hillcrest Therapy Group",
           "Summit Eye Associates", "Maple Behavioral Health", "St. Brigid Emergency Physicians"]

OFFICE_VISITS = {"99202", "99203", "99204", "99212", "99213", "99214", "99215", "90834", "92014", "99442"}
PREVENTIVE = {"99395", "99396", "77067", "90471", "90686"}

START = datetime.date(2024, 1, 1)
DAYS = 730
ITEM_WEIGHTS = [45, 25, 12, 7, 4, 3, 2, 2]  # 1..8 items

# Amounts are written as "@@123.45@@" strings, then unquoted after json.dumps,
# so that every value has exactly two decimal places.
AMOUNT_MARK = "@@"


def money(cents):
    return {"value": "%s%d.%02d%s" % (AMOUNT_MARK, cents // 100, cents % 100, AMOUNT_MARK), "currency": "USD"}


def new_uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def coding(system, code, display=None):
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


class Member:
    """A member, the same in every line: derived from the seed and its number only."""

    def __init__(self, seed, number, providers):
        rng = random.Random("%d/member/%d" % (seed, number))
        self.number = number
        self.uuid = new_uuid(rng)
        self.member_id = "M%07d" % number
        self.plan = rng.choice(PLANS)
        self.given = rng.choice(GIVEN)
        self.family = rng.choice(FAMILY)
        self.gender = rng.choice(["female", "male"])
        self.birth = (datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 65))).isoformat()
        self.subscriber = "%s%09d" % (self.plan[2], rng.randrange(10 ** 9))
        # Each of their claims is from one of three providers.
        self.providers = rng.sample(providers, 3)

    def patient(self):
        return {
            "resourceType": "Patient",
            "id": self.uuid,
            "identifier": [{
                "type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MB", "Member Number"),
                "system": MEMBER_SYSTEM,
                "value": self.member_id,
            }],
            "active": True,
            "name": [{"family": self.family, "given": [self.given]}],
            "telecom": [{"system": "email", "value": "member%d@bench.example" % self.number}],
            "gender": self.gender,
            "birthDate": self.birth,
        }


def make_providers(seed):
    rng = random.Random("%d/providers" % seed)
    providers = []
    for i in range(200):
        npi = "1%09d" % rng.randrange(10 ** 9)
        name = rng.choice(CLINICS) if i % 3 else "Dr. %s %s" % (rng.choice(GIVEN), rng.choice(FAMILY))
        providers.append((npi, name))
    return providers


def services(claim_seed):
    """The services of a claim: the same for every version of it."""
    rng = random.Random(claim_seed)
    n = rng.choices(range(1, 9), weights=ITEM_WEIGHTS)[0]
    first = START + datetime.timedelta(days=rng.randrange(DAYS))
    picked = rng.sample(SERVICES, n)
    out = []
    for code, display, low, high in picked:
        day = first + datetime.timedelta(days=rng.choice([0, 0, 0, 1, 2, 7]))
        billed = rng.randrange(low * 100, high * 100 + 1)
        out.append((code, display, day, billed))
    diagnoses = rng.sample(DIAGNOSES, rng.choice([1, 1, 2, 3]))
    provider_pick = rng.randrange(3)
    return out, diagnoses, provider_pick


def adjudicate(rng, plan, items, plan_paid):
    """Per-item adjudications and the claim's totals by category."""
    _, _, _, copay_dollars, coins_pct = plan
    totals = {}
    item_json = []
    notes = []
    deductible_left = rng.choice([0, 0, 25000, 50000, 150000])
    for seq, (code, display, day, billed) in enumerate(items, start=1):
        adj = []

        def add(system, cat, cents, reason=None):
            a = {"category": coding(system, cat), "amount": money(cents)}
            if reason:
                a["reason"] = reason
            adj.append(a)
            totals[(system, cat)] = totals.get((system, cat), 0) + cents

        item = {
            "sequence": seq,
            "diagnosisSequence": [1],
            "productOrService": coding(CPT, code, display),
            "servicedDate": day.isoformat(),
            "net": money(billed),
        }
        add(HL7_ADJ, "submitted", billed)
        if rng.random() < 0.08:
            rcode, rtext, member_owes = rng.choice(DENIALS)
            add(HL7_ADJ, "eligible", 0)
            add(*plan_paid, 0)
            add(CARIN_ADJ, "noncovered", billed, reason=coding(CARC, rcode, rtext))
            add(CARIN_ADJ, "memberliability", billed if member_owes else 0)
            note = len(notes) + 1
            notes.append({"number": note, "type": "display", "text": "Line %d denied: %s" % (seq, rtext)})
            item["noteNumber"] = [note]
        else:
            allowed = billed * rng.randrange(45, 91) // 100
            deductible = 0 if code in PREVENTIVE else min(deductible_left, allowed)
            deductible_left -= deductible
            copay = 0
            if code in OFFICE_VISITS and copay_dollars and deductible == 0:
                copay = min(copay_dollars * 100, allowed)
            rest = allowed - deductible - copay
            coinsurance = 0 if code in PREVENTIVE else rest * coins_pct // 100
            paid = rest - coinsurance
            add(HL7_ADJ, "eligible", allowed)
            if deductible:
                add(HL7_ADJ, "deductible", deductible)
            if copay:
                add(HL7_ADJ, "copay", copay)
            if coinsurance:
                add(CARIN_ADJ, "coinsurance", coinsurance)
            add(*plan_paid, paid)
            add(CARIN_ADJ, "memberliability", deductible + copay + coinsurance)
        item["adjudication"] = adj
        item_json.append(item)
    total_json = [
        {"category": coding(system, cat, TOTAL_DISPLAY[cat]), "amount": money(cents)}
        for (system, cat), cents in sorted(totals.items(), key=lambda kv: TOTAL_ORDER.index(kv[0][1]))
    ]
    return item_json, total_json, notes


TOTAL_DISPLAY = {
    "submitted": "Submitted Amount",
    "eligible": "Eligible Amount",
    "deductible": "Deductible",
    "copay": "CoPay",
    "coinsurance": "Co-insurance",
    "benefit": "Benefit Amount",
    "paidtoprovider": "Paid to provider",
    "noncovered": "Noncovered",
    "memberliability": "Member liability",
}
TOTAL_ORDER = list(TOTAL_DISPLAY)


def eob_resource(rng, member, claim):
    claim_id, claim_seed, version, created = claim
    items, diagnoses, provider_pick = services(claim_seed)
    npi, provider_name = member.providers[provider_pick]
    plan = member.plan
    payer_id, plan_name = plan[0], plan[1]
    # What the plan paid: HL7 "benefit" or CARIN "paidtoprovider", one per EOB.
    plan_paid = (HL7_ADJ, "benefit") if rng.random() < 0.5 else (CARIN_ADJ, "paidtoprovider")
    item_json, total_json, notes = adjudicate(rng, plan, items, plan_paid)
    days = [d for _, _, d, _ in items]
    denied = len(notes)
    if denied == len(items):
        disposition = "Claim denied."
    elif denied:
        disposition = "Claim partially denied."
    else:
        disposition = "Claim settled as per contract."
    if version > 1:
        notes.append({"number": len(notes) + 1, "type": "display",
                      "text": "Adjusted claim: this version %d replaces version %d." % (version, version - 1)})
    stamp = "%sT%02d:%02d:%02dZ" % (created.isoformat(), rng.randrange(6, 22), rng.randrange(60), rng.randrange(60))
    eob = {
        "resourceType": "ExplanationOfBenefit",
        "id": new_uuid(rng),
        "meta": {"versionId": str(version), "lastUpdated": stamp},
        "contained": [{
            "resourceType": "Coverage",
            "id": "coverage",
            "status": "active",
            "subscriberId": member.subscriber,
            "beneficiary": {"reference": "urn:uuid:" + member.uuid},
            "payor": [{"display": plan_name}],
        }],
        "identifier": [{
            "type": coding("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType", "uc", "Unique Claim ID"),
            "system": "https://bench.example/payer/%s/claim" % payer_id,
            "value": claim_id,
        }],
        "status": "active",
        "type": coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional", "Professional"),
        "use": "claim",
        "patient": {"reference": "urn:uuid:" + member.uuid},
        "billablePeriod": {"start": min(days).isoformat(), "end": max(days).isoformat()},
        "created": stamp,
        "insurer": {"identifier": {"system": "https://bench.example/payer", "value": payer_id}, "display": plan_name},
        "provider": {"identifier": {"system": NPI, "value": npi}, "display": provider_name},
        "outcome": "complete",
        "disposition": disposition,
        "supportingInfo": [{
            "sequence": 1,
            "category": coding("http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType", "clmrecvddate"),
            "timingDate": (created - datetime.timedelta(days=rng.randrange(3, 20))).isoformat(),
        }],
        "diagnosis": [
            {"sequence": i, "diagnosisCodeableConcept": coding(ICD10, code, display)}
            for i, (code, display) in enumerate(diagnoses, start=1)
        ],
        "insurance": [{"focal": True, "coverage": {"reference": "#coverage", "display": plan_name}}],
        "item": item_json,
        "total": total_json,
    }
    if notes:
        eob["processNote"] = notes
    return eob


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, required=True, help="lines (uploads) to write")
    ap.add_argument("--members", type=int, default=5000, help="distinct members (default 5000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--republish", type=float, default=0.02,
                    help="share of lines that re-publish an earlier claim (default 0.02)")
    args = ap.parse_args()
    if args.count < 0 or args.members < 1:
        ap.error("--count must be >= 0 and --members >= 1")

    rng = random.Random(args.seed)
    providers = make_providers(args.seed)
    members = {}

    def member_of(number):
        if number not in members:
            members[number] = Member(args.seed, number, providers)
        return members[number]

    # Claims written so far: [member number, claim id, claim seed, version, created date].
    claims = []
    next_claim = 1
    out = sys.stdout
    for _ in range(args.count):
        if claims and rng.random() < args.republish:
            claim = rng.choice(claims)
            claim[3] += 1
            claim[4] = claim[4] + datetime.timedelta(days=rng.randrange(10, 91))
        else:
            number = rng.randrange(1, args.members + 1)
            plan_prefix = member_of(number).plan[2]
            claim_seed = rng.getrandbits(64)
            first = services(claim_seed)[0][0][2]
            created = first + datetime.timedelta(days=rng.randrange(7, 45))
            claim = [number, "%s%d%09d" % (plan_prefix, created.year % 100, next_claim), claim_seed, 1, created]
            next_claim += 1
            claims.append(claim)
        number, claim_id, claim_seed, version, created = claim
        member = member_of(number)
        eob = eob_resource(rng, member, (claim_id, claim_seed, version, created))
        bundle = {
            "resourceType": "Bundle",
            "id": new_uuid(rng),
            "type": "collection",
            "timestamp": eob["created"],
            "entry": [
                {"fullUrl": "urn:uuid:" + member.uuid, "resource": member.patient()},
                {"fullUrl": "urn:uuid:" + eob["id"], "resource": eob},
            ],
        }
        line = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False)
        out.write(line.replace('"' + AMOUNT_MARK, "").replace(AMOUNT_MARK + '"', ""))
        out.write("\n")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
