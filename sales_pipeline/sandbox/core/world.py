"""The sandbox's deterministic world: companies, people, and the CRM records made of them.

Same seed, same world. HubSpot serves :attr:`World.contacts` (messy, as real CRMs are); Explorium
knows most of :attr:`World.people` and :attr:`World.companies` (``known`` flags), so about 70% of
contacts match by default; Lemlist starts from :attr:`World.seed` for its own few records.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# fmt: off
FIRST_NAMES = [
    "Anna", "Ben", "Carla", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Karin", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara",
    "José", "Zoë", "Łukasz", "Søren", "Chloé", "Björn", "Ayşe", "Nguyễn", "Dmitrij", "Hélène",
    "王芳", "Müller", "Saoirse", "Ólafur", "Renée", "François", "Małgorzata", "Jürgen",
]
LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Müller", "Rossi", "Dubois", "Kowalski", "Nakamura",
    "O'Brien", "Van der Berg", "Núñez", "Øvergård", "Schäfer", "Lefèvre", "Ivanova", "Chen",
    "Patel", "Silva", "Andersson", "Jensen", "Novak", "Horváth", "Papadopoulos", "Yılmaz",  # noqa: RUF001 (a real Turkish name)
]
COMPANY_WORDS = [
    "Acme", "Blue", "Nimbus", "Vertex", "Quantum", "Harbor", "Summit", "Pioneer", "Atlas",
    "Nova", "Cedar", "Orbit", "Lumen", "Granite", "Falcon", "Beacon", "Crescent", "Delta",
]
# fmt: on
COMPANY_KINDS = ["Labs", "Systems", "Analytics", "Logistics", "Health", "Software", "Capital"]
COMPANY_SUFFIXES = ["Inc", "GmbH", "Ltd", "SAS", "AB", "BV", "LLC"]
SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"]
REVENUES = ["0-500K", "500K-1M", "1M-5M", "5M-10M", "10M-25M", "25M-75M", "75M-200M", "200M-500M"]
COUNTRIES = [
    ("United States", "California", "San Francisco"),
    ("United States", "New York", "New York"),
    ("United Kingdom", "England", "London"),
    ("Germany", "Berlin", "Berlin"),
    ("France", "Île-de-France", "Paris"),
    ("Spain", "Madrid", "Madrid"),
    ("Netherlands", "North Holland", "Amsterdam"),
    ("Sweden", "Stockholm", "Stockholm"),
    ("Canada", "Ontario", "Toronto"),
    ("Brazil", "São Paulo", "São Paulo"),
    ("Japan", "Tokyo", "Tokyo"),
    ("India", "Karnataka", "Bengaluru"),
]
INDUSTRIES = [
    ("541511", "Custom Computer Programming Services", "Software Development"),
    ("518210", "Data Processing, Hosting, and Related Services", "IT Services and IT Consulting"),
    ("522110", "Commercial Banking", "Banking"),
    ("621111", "Offices of Physicians", "Hospitals and Health Care"),
    ("484121", "General Freight Trucking, Long-Distance", "Truck Transportation"),
    ("541613", "Marketing Consulting Services", "Marketing Services"),
]
# (job title, JobLevel enum value, JobSeniorityLevel enum value, department main); Explorium's
# profiles put the JobLevel value in `job_seniority_level` and the JobSeniorityLevel one in
# `job_level_main`, as its OpenAPI document does (see explorium/data.py).
ROLES = [
    ("Chief Executive Officer", "cxo", "c-suite", "General"),
    ("Chief Technology Officer", "cxo", "c-suite", "Engineering"),
    ("Chief Marketing Officer", "cxo", "c-suite", "Marketing"),
    ("VP of Sales", "vp", "vice president", "Sales"),
    ("VP Engineering", "vp", "vice president", "Engineering"),
    ("Head of Marketing", "director", "director", "Marketing"),
    ("Director of Operations", "director", "director", "Operations"),
    ("Sales Director", "director", "director", "Sales"),
    ("Engineering Manager", "manager", "manager", "Engineering"),
    ("Marketing Manager", "manager", "manager", "Marketing"),
    ("Account Executive", "senior", "senior non-managerial", "Sales"),
    ("Senior Software Engineer", "senior", "senior non-managerial", "Engineering"),
    ("Financial Analyst", "non-managerial", "non-managerial", "Finance"),
    ("HR Generalist", "non-managerial", "non-managerial", "Human resources"),
    ("Customer Support Specialist", "entry", "junior", "Customer service"),
    ("Marketing Intern", "training", "junior", "Marketing"),
    ("Founder", "owner", "founder", "General"),
    ("Legal Counsel", "senior", "senior non-managerial", "Legal"),
]
LIFECYCLE_STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead"]
MESSY_NAMES = [
    "<b>{}</b>",
    "<script>alert('x')</script>{}",
    "  {}  ",
    '{}<img src=x onerror="alert(1)">',
]
INVALID_EMAILS = ["not-an-email", "john@", "@example.com", "a b@example.com", "x@@y.com", "x@y"]
LONG_STRING = "A" * 10_240


def _hex_id(*parts: object, length: int) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:length]


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


@dataclass(frozen=True)
class Company:
    """A business Explorium may know (``known``), with its firmographics."""

    business_id: str
    name: str
    domain: str
    size_range: str
    revenue_range: str
    country: str
    naics: str
    naics_description: str
    industry: str
    known: bool


@dataclass(frozen=True)
class Person:
    """A human being: the truth behind HubSpot contacts and Explorium prospects."""

    prospect_id: str
    first_name: str
    last_name: str
    email: str
    company: Company
    job_title: str
    job_level: str
    seniority: str
    department: str
    country: str
    region: str
    city: str
    phone: str | None
    linkedin: str
    email_status: str
    known: bool

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"


@dataclass
class Contact:
    """One HubSpot contact record as the sandbox first stores it."""

    id: int
    properties: dict[str, str | None]
    created_at: datetime
    person: Person | None


@dataclass
class World:
    """Everything the three emulated vendors know at start."""

    seed: int
    now: datetime
    companies: list[Company]
    people: list[Person]
    contacts: list[Contact]
    people_by_email: dict[str, Person] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.people_by_email = {p.email.lower(): p for p in self.people}


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _make_companies(rng: random.Random, count: int) -> list[Company]:
    companies = []
    for index in range(count):
        name = (
            f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} "
            f"{rng.choice(COMPANY_SUFFIXES)}"
        )
        domain = f"{_slug(name)}{index}.example.com"
        country = rng.choice(COUNTRIES)[0]
        naics, naics_description, industry = rng.choice(INDUSTRIES)
        companies.append(
            Company(
                business_id=_hex_id("company", index, length=32),
                name=name,
                domain=domain,
                size_range=rng.choice(SIZES),
                revenue_range=rng.choice(REVENUES),
                country=country,
                naics=naics,
                naics_description=naics_description,
                industry=industry,
                known=rng.random() < 0.92,
            )
        )
    return companies


def _make_person(rng: random.Random, index: int, company: Company, match_rate: float) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    title, level, seniority, department = rng.choice(ROLES)
    country, region, city = rng.choice(COUNTRIES)
    local = f"{_slug(first) or 'user'}.{_slug(last) or 'x'}{index}"
    email_status = rng.choices(["valid", "catch-all", "invalid"], weights=[80, 13, 7])[0]
    return Person(
        prospect_id=_hex_id("prospect", index, length=40),
        first_name=first,
        last_name=last,
        email=f"{local}@{company.domain}",
        company=company,
        job_title=title,
        job_level=level,
        seniority=seniority,
        department=department,
        country=country,
        region=region,
        city=city,
        phone=f"+1555{index:07d}" if rng.random() < 0.6 else None,
        linkedin=f"https://www.linkedin.com/in/{local.replace('.', '-')}",
        email_status=email_status,
        known=company.known and rng.random() < match_rate,
    )


def _contact_properties(
    rng: random.Random, person: Person, modified: datetime, created: datetime, hs_id: int
) -> dict[str, str | None]:
    first, last = person.first_name, person.last_name
    if rng.random() < 0.02:
        first = rng.choice(MESSY_NAMES).format(first)
    email: str | None = person.email
    roll = rng.random()
    if roll < 0.03:
        email = None
    elif roll < 0.05:
        email = rng.choice(INVALID_EMAILS)
    company: str | None = person.company.name if rng.random() > 0.1 else None
    title: str | None = person.job_title if rng.random() > 0.15 else None
    if rng.random() < 0.003:
        title = LONG_STRING
    return {
        "email": email,
        "firstname": first if rng.random() > 0.02 else None,
        "lastname": last,
        "company": company,
        "jobtitle": title,
        "phone": person.phone if rng.random() > 0.3 else None,
        "country": person.country if rng.random() > 0.2 else None,
        "city": person.city if rng.random() > 0.4 else None,
        "website": f"https://{person.company.domain}" if rng.random() > 0.3 else None,
        "lifecyclestage": rng.choice(LIFECYCLE_STAGES),
        "hs_email_optout": "true" if rng.random() < 0.05 else "false",
        "createdate": _iso(created),
        "lastmodifieddate": _iso(modified),
        "hs_object_id": str(hs_id),
    }


def build_world(
    seed: int = 7,
    contacts: int = 5000,
    now: datetime | None = None,
    bulk_import: int = 0,
    match_rate: float = 0.75,
    days: int = 30,
) -> World:
    """Generate the world.

    ``contacts`` are spread over the ``days`` before ``now`` by ``lastmodifieddate``;
    ``bulk_import`` more share one timestamp (a bulk-import day, three days back at 02:00 UTC).
    About 2% of contacts are the same person again with the email in another casing.
    ``match_rate`` is the share of people (at known companies) that Explorium can match.
    """
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    companies = _make_companies(rng, max(10, (contacts + bulk_import) // 8))
    bulk_moment = (now - timedelta(days=3)).replace(hour=2, minute=0, second=0)
    people: list[Person] = []
    records: list[Contact] = []
    total = contacts + bulk_import
    for index in range(total):
        hs_id = 1001 + index
        if people and rng.random() < 0.02:
            twin = rng.choice(people)
            person = twin
        else:
            person = _make_person(rng, index, rng.choice(companies), match_rate)
            people.append(person)
        if index < contacts:
            modified = now - timedelta(seconds=rng.uniform(60, days * 86_400))
            modified = modified.replace(microsecond=rng.randrange(0, 1000) * 1000)
        else:
            modified = bulk_moment
        created = modified - timedelta(days=rng.uniform(0, 400))
        properties = _contact_properties(rng, person, modified, created, hs_id)
        if person is not people[-1] and properties["email"]:
            properties["email"] = person.email.upper() if index % 2 else person.email.title()
        records.append(Contact(hs_id, properties, created, person))
    return World(seed=seed, now=now, companies=companies, people=people, contacts=records)
