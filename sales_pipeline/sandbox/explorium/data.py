"""What the emulated Explorium knows about the world, indexed for matching, and its record shapes.

Only people and companies flagged ``known`` exist for Explorium. Everything is indexed once at
start, so matching and enrichment are dictionary look-ups whatever the size of the world.

Record shapes follow the vendor's OpenAPI document (``ProfilesOutputSchema``,
``ContactsInformationOutputSchema``, ``FirmographicsOutputSchema``), including its lower-case
``country_name``/``region_name`` vocabularies and its enum placement: ``job_seniority_level``
carries a ``JobLevel`` (``cxo``, ``vp``...) and ``job_level_main``/``job_level_array`` a
``JobSeniorityLevel`` (``c-suite``, ``vice president``...). There is no ``job_level`` field.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sales_pipeline.sandbox.core.world import COUNTRIES, Company, Person, World

PROSPECT_MATCH_KEYS = (
    "email",
    "full_name",
    "company_name",
    "phone_number",
    "linkedin",
    "business_id",
)
"""The only keys a ``prospects_to_match`` item may carry (api-facts: "no other keys")."""
BUSINESS_MATCH_KEYS = ("name", "domain", "url", "linkedin_url")

REGION_NAMES = {"North Holland": "noord-holland", "Stockholm": "stockholms län"}
"""World regions whose name in the vendor's ISO-3166-2 vocabulary is not just lower case."""

DEPARTMENTS = {
    "General": "c-suite",
    "Engineering": "engineering",
    "Marketing": "marketing",
    "Sales": "sales",
    "Operations": "operations",
    "Finance": "finance",
    "Human resources": "human resources",
    "Customer service": "support",
    "Legal": "legal",
}
"""World department (``JobDepartmentEnrichment``) to ``job_department_main`` (``JobDepartment``)."""

SKILLS = {
    "General": ["Leadership", "Strategy", "Fundraising"],
    "Engineering": ["Python", "Distributed Systems", "Kubernetes"],
    "Marketing": ["Demand Generation", "SEO", "Content Marketing"],
    "Sales": ["Negotiation", "Salesforce", "Pipeline Management"],
    "Operations": ["Process Improvement", "Supply Chain", "Lean"],
    "Finance": ["Financial Modeling", "Forecasting", "Excel"],
    "Human resources": ["Recruiting", "Onboarding", "Employee Relations"],
    "Customer service": ["Zendesk", "Customer Support", "Communication"],
    "Legal": ["Contracts", "Compliance", "GDPR"],
}


def _normal(text: str) -> str:
    """Case- and whitespace-insensitive form of a name."""
    return " ".join(text.split()).casefold()


def _url_key(url: str) -> str:
    """``host/path`` of a URL in lower case, without scheme, ``www.``, port, query or ``/`` tail."""
    text = url.strip().lower()
    for scheme in ("https://", "http://", "//"):
        text = text.removeprefix(scheme)
    text = text.removeprefix("www.")
    for separator in ("?", "#"):
        text = text.split(separator, 1)[0]
    host, _, path = text.partition("/")
    return f"{host.split(':', 1)[0]}/{path}".rstrip("/")


def _host(url: str) -> str:
    """The host of a URL or bare domain, as :func:`_url_key` normalizes it."""
    return _url_key(url).split("/", 1)[0]


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _roll(key: str, salt: str) -> int:
    """A stable pseudo-random integer in [0, 100) for ``key``: same world, same records."""
    return zlib.crc32(f"{salt}|{key}".encode()) % 100


def company_linkedin(company: Company) -> str:
    """The company's LinkedIn page (its slug is the unique first label of its domain)."""
    return f"https://www.linkedin.com/company/{company.domain.split('.', 1)[0]}"


class Directory:
    """Explorium's knowledge: known prospects and businesses, indexed by every match key."""

    def __init__(self, world: World) -> None:
        self._headquarters: dict[str, tuple[str, str]] = {}
        for country, region, city in COUNTRIES:
            self._headquarters.setdefault(country, (region, city))
        self.prospects: dict[str, Person] = {}
        self._by_email: dict[str, Person] = {}
        self._by_linkedin: dict[str, Person] = {}
        self._by_phone: dict[str, Person] = {}
        self._by_name: defaultdict[tuple[str, str], list[Person]] = defaultdict(list)
        for person in world.people:
            if not person.known:
                continue
            self.prospects[person.prospect_id] = person
            self._by_email.setdefault(person.email.lower(), person)
            self._by_linkedin.setdefault(_url_key(person.linkedin), person)
            if person.phone:
                self._by_phone.setdefault(_digits(person.phone), person)
            key = (_normal(person.full_name), _normal(person.company.name))
            self._by_name[key].append(person)
        self.businesses: dict[str, Company] = {}
        self._by_domain: dict[str, Company] = {}
        self._by_company_linkedin: dict[str, Company] = {}
        self._by_company_name: dict[str, Company] = {}
        for company in world.companies:
            if not company.known:
                continue
            self.businesses[company.business_id] = company
            self._by_domain[_host(company.domain)] = company
            self._by_company_linkedin[_url_key(company_linkedin(company))] = company
            self._by_company_name.setdefault(_normal(company.name), company)

    def match_prospect(self, fields: Mapping[str, str]) -> Person | None:
        """The known person ``fields`` identify, by email, LinkedIn, phone, then name + company.

        Emails compare case-insensitively; ``business_id``, when given, restricts the match to
        that company.
        """
        business_id = fields.get("business_id")
        candidates: list[Person | None] = [
            self._by_email.get(fields.get("email", "").strip().lower()),
            self._by_linkedin.get(_url_key(fields.get("linkedin", ""))),
            self._by_phone.get(_digits(fields.get("phone_number", ""))),
        ]
        name, company = fields.get("full_name"), fields.get("company_name")
        if name and company:
            candidates.extend(self._by_name.get((_normal(name), _normal(company)), []))
        for person in candidates:
            if person and (not business_id or person.company.business_id == business_id):
                return person
        return None

    def match_business(self, fields: Mapping[str, str]) -> Company | None:
        """The known company ``fields`` identify, by domain, URL host, LinkedIn page, then name.

        Names compare case-insensitively; when several known companies share a name, the first
        one generated wins, as a vendor would pick its best candidate.
        """
        for found in (
            self._by_domain.get(_host(fields.get("domain", ""))),
            self._by_domain.get(_host(fields.get("url", ""))),
            self._by_company_linkedin.get(_url_key(fields.get("linkedin_url", ""))),
            self._by_company_name.get(_normal(fields.get("name", ""))),
        ):
            if found:
                return found
        return None

    def _location(self, country: str, region: str) -> dict[str, str]:
        return {
            "country_name": country.lower(),
            "region_name": REGION_NAMES.get(region, region.lower()),
        }

    def profile(self, person: Person) -> dict[str, Any]:
        """The person's ``ProfilesOutputSchema`` record."""
        company = person.company
        department = DEPARTMENTS[person.department]
        start_year = 2012 + _roll(person.prospect_id, "start") % 12
        return {
            "full_name": person.full_name,
            **self._location(person.country, person.region),
            "city": person.city,
            "linkedin": person.linkedin,
            "company_name": company.name,
            "company_website": f"https://{company.domain}",
            "company_linkedin": company_linkedin(company),
            "job_title": person.job_title,
            "job_department": person.department,
            "job_department_main": department,
            "job_department_array": [department],
            "job_seniority_level": person.job_level,
            "job_level_main": person.seniority,
            "job_level_array": [person.seniority],
            "experience": [
                {
                    "company": {"name": company.name, "website": f"https://{company.domain}"},
                    "title": {"name": person.job_title},
                    "start_date": f"{start_year}-{1 + _roll(person.prospect_id, 'month') % 12:02d}",
                    "is_primary": True,
                }
            ],
            "skills": SKILLS[person.department],
        }

    def contacts(self, person: Person, kinds: frozenset[str]) -> dict[str, Any]:
        """The person's ``ContactsInformationOutputSchema`` record for ``kinds`` (email, phone).

        Empty when the vendor holds nothing of the kinds asked for (no phone, say). The work
        email comes back whatever its status: ``professional_email_status`` may be ``invalid``.
        """
        record: dict[str, Any] = {}
        if "email" in kinds:
            emails = [{"address": person.email, "type": "professional"}]
            if _roll(person.prospect_id, "personal") < 30:
                local = person.email.split("@", 1)[0]
                emails.append({"address": f"{local}@mail.example.net", "type": "personal"})
            record["emails"] = emails
            record["professions_email"] = person.email
            record["professional_email_status"] = person.email_status
        if "phone" in kinds and person.phone:
            record["phone_numbers"] = [{"phone_number": person.phone}]
            if _roll(person.prospect_id, "mobile") < 50:
                record["mobile_phone"] = person.phone
        return record

    def firmographics(self, company: Company) -> dict[str, Any]:
        """The company's ``FirmographicsOutputSchema`` record."""
        region, city = self._headquarters[company.country]
        return {
            "business_id": company.business_id,
            "name": company.name,
            "business_description": (
                f"{company.name} provides {company.naics_description.lower()} "
                f"from {city}, {company.country}."
            ),
            "website": f"https://{company.domain}",
            **self._location(company.country, region),
            "city_name": city,
            "naics": company.naics,
            "naics_description": company.naics_description,
            "number_of_employees_range": company.size_range,
            "yearly_revenue_range": company.revenue_range,
            "linkedin_industry_category": company.industry,
            "linkedin_profile": company_linkedin(company),
        }
