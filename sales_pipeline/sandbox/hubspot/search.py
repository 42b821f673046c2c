"""HubSpot CRM search requests: validation, filter compilation and ordering.

:func:`parse_search` turns a ``POST /crm/v3/objects/contacts/search`` body into a
:class:`SearchQuery` or raises HubSpot's 400. The rules (from api-facts/hubspot.md): at most 5
filterGroups (OR) of at most 6 filters (AND), 18 filters in all; one sort at most; ``limit`` up
to 200 (default 10); ``after`` is a numeric offset; no page may reach past result 10,000.
Numeric properties (numbers, and dates as epoch milliseconds) compare as numbers, the others as
case-insensitive text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import validation_error
from .parsing import require
from .properties import PropertyDefinition, PropertyRegistry
from .records import ContactRecord

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000
"""No query pages past this many results (offset + limit)."""

TEXT_QUERY_PROPERTIES = ("firstname", "lastname", "email", "phone", "mobilephone", "company")
"""What the free-text ``query`` looks in."""

PAGING_PAST_CAP_MESSAGE = "There was a problem with the request."

Predicate = Callable[[ContactRecord], bool]
SortKey = Callable[[ContactRecord], Any]

_TOKEN_SPLIT = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Sort:
    """The single sort of a search; records without a value come last either way."""

    key: SortKey
    descending: bool

    def apply(self, records: list[ContactRecord]) -> list[ContactRecord]:
        """``records`` (in id order) sorted stably, so ties stay in id order."""
        present = [record for record in records if self.key(record) is not None]
        absent = [record for record in records if self.key(record) is None]
        present.sort(key=self.key, reverse=self.descending)
        return present + absent


@dataclass(frozen=True)
class SearchQuery:
    """A validated search: what matches, in which order, which page, which properties."""

    cache_key: str
    """Identifies the filters, query text and sort (not the page): same key, same id list."""
    groups: tuple[tuple[Predicate, ...], ...]
    text_tokens: tuple[str, ...]
    sort: Sort | None
    properties: tuple[str, ...] | None
    offset: int
    limit: int

    def matches(self, record: ContactRecord) -> bool:
        """Whether ``record`` satisfies the text query and any one filter group."""
        if self.text_tokens and not _matches_text(record, self.text_tokens):
            return False
        return not self.groups or any(all(test(record) for test in group) for group in self.groups)

    def order(self, records: list[ContactRecord]) -> list[ContactRecord]:
        """The matches in answer order (by id ascending unless a sort is given)."""
        return self.sort.apply(records) if self.sort else records


def _matches_text(record: ContactRecord, tokens: tuple[str, ...]) -> bool:
    haystack = " ".join(
        value.lower() for name in TEXT_QUERY_PROPERTIES if (value := record.properties.get(name))
    )
    return all(token in haystack for token in tokens)


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    raw = body.get(name, default)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not (
        isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit())
    ):
        raise validation_error(f"Invalid value for {name}: {raw!r}")
    return int(raw)


def parse_search(body: Any, registry: PropertyRegistry) -> SearchQuery:
    """Validate a search body; raises HubSpot's 400 ``VALIDATION_ERROR`` on any violation."""
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    raw_groups = body.get("filterGroups") or []
    raw_sorts = body.get("sorts") or []
    if not isinstance(raw_groups, list) or not isinstance(raw_sorts, list):
        raise validation_error("filterGroups and sorts must be arrays")
    groups = _compile_groups(raw_groups, registry)
    if len(raw_sorts) > 1:
        raise validation_error(f"Only one sort is supported, got {len(raw_sorts)}")
    sort = _compile_sort(raw_sorts[0], registry) if raw_sorts else None
    limit = _int_field(body, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        raise validation_error(f"limit must be at most {MAX_LIMIT}, got {limit}")
    offset = _int_field(body, "after", 0)
    if offset >= MAX_RESULTS or offset + limit > MAX_RESULTS:
        raise validation_error(PAGING_PAST_CAP_MESSAGE)
    text = body.get("query") or ""
    if not isinstance(text, str):
        raise validation_error("query must be a string")
    properties = body.get("properties")
    if properties is not None and (
        not isinstance(properties, list) or not all(isinstance(p, str) for p in properties)
    ):
        raise validation_error("properties must be an array of strings")
    cache_key = json.dumps([raw_groups, raw_sorts, text.lower()], sort_keys=True)
    return SearchQuery(
        cache_key=cache_key,
        groups=groups,
        text_tokens=tuple(text.lower().split()),
        sort=sort,
        properties=tuple(properties) if properties else None,
        offset=offset,
        limit=limit,
    )


def _compile_groups(
    raw_groups: list[Any], registry: PropertyRegistry
) -> tuple[tuple[Predicate, ...], ...]:
    if len(raw_groups) > MAX_GROUPS:
        raise validation_error(f"Too many filter groups: {len(raw_groups)} (at most {MAX_GROUPS})")
    compiled = []
    total = 0
    for group in raw_groups:
        if not isinstance(group, dict):
            raise validation_error("Each filter group must be an object")
        require(group, "FilterGroup")
        filters = group["filters"]
        if not isinstance(filters, list):
            raise validation_error("Each filter group needs a filters array")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"Too many filters in a group: {len(filters)} (at most {MAX_FILTERS_PER_GROUP})"
            )
        total += len(filters)
        compiled.append(tuple(_compile_filter(raw, registry) for raw in filters))
    if total > MAX_FILTERS:
        raise validation_error(f"Too many filters: {total} (at most {MAX_FILTERS})")
    return tuple(compiled)


def _definition(name: Any, registry: PropertyRegistry) -> PropertyDefinition:
    definition = registry.get(name) if isinstance(name, str) else None
    if definition is None:
        raise validation_error(f'Property "{name}" does not exist')
    return definition


def _record_key(definition: PropertyDefinition) -> SortKey:
    """The comparable view of a record's value: a number, lower-case text, or ``None``."""
    name = definition.name
    if definition.numeric:
        return lambda record: record.number(name, definition.to_number)

    def text(record: ContactRecord) -> str | None:
        value = record.properties.get(name)
        return value.lower() if value else None

    return text


def _target(definition: PropertyDefinition, raw: Any) -> Any:
    """A filter value in the comparable view; 400 when it is missing or does not parse."""
    if raw is None or isinstance(raw, dict | list):
        raise validation_error(f"Filter on {definition.name} needs a scalar value")
    text = "true" if raw is True else "false" if raw is False else str(raw)
    if not definition.numeric:
        return text.lower()
    try:
        return definition.filter_number(text)
    except ValueError:
        raise validation_error(f"{text} is not a valid value for {definition.name}") from None


def _compile_filter(raw: Any, registry: PropertyRegistry) -> Predicate:
    if not isinstance(raw, dict):
        raise validation_error("Each filter must be an object")
    require(raw, "Filter")
    definition = _definition(raw.get("propertyName"), registry)
    operator = raw.get("operator")
    key = _record_key(definition)
    if operator == "HAS_PROPERTY":
        return lambda record: key(record) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda record: key(record) is None
    if operator in ("IN", "NOT_IN"):
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            raise validation_error(f"{operator} needs a non-empty values array")
        targets = frozenset(_target(definition, value) for value in values)
        if operator == "IN":
            return lambda record: key(record) in targets
        return lambda record: key(record) not in targets
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        contains = _token_matcher(definition, raw.get("value"))
        if operator == "CONTAINS_TOKEN":
            return contains
        return lambda record: not contains(record)
    if operator == "BETWEEN":
        low = _target(definition, raw.get("value"))
        high = _target(definition, raw.get("highValue"))
        return lambda record: (value := key(record)) is not None and low <= value <= high
    return _comparison(operator, key, _target(definition, raw.get("value")))


def _comparison(operator: Any, key: SortKey, target: Any) -> Predicate:
    if operator == "EQ":
        return lambda record: key(record) == target
    if operator == "NEQ":
        return lambda record: key(record) != target
    if operator == "LT":
        return lambda record: (value := key(record)) is not None and value < target
    if operator == "LTE":
        return lambda record: (value := key(record)) is not None and value <= target
    if operator == "GT":
        return lambda record: (value := key(record)) is not None and value > target
    if operator == "GTE":
        return lambda record: (value := key(record)) is not None and value >= target
    raise validation_error(f"Unknown filter operator: {operator}")


def _token_matcher(definition: PropertyDefinition, raw: Any) -> Predicate:
    """CONTAINS_TOKEN: a whole word of the value, or a ``*`` wildcard pattern over all of it."""
    if not isinstance(raw, str) or not raw:
        raise validation_error(f"CONTAINS_TOKEN on {definition.name} needs a string value")
    name = definition.name
    wanted = raw.lower()
    if "*" in wanted:
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("*")))
        return lambda record: bool(
            (value := record.properties.get(name)) and pattern.fullmatch(value.lower())
        )
    return lambda record: bool(
        (value := record.properties.get(name)) and wanted in _TOKEN_SPLIT.split(value.lower())
    )


def _compile_sort(raw: Any, registry: PropertyRegistry) -> Sort:
    """A sort given as ``{"propertyName","direction"}`` or as a name (``-name`` descending)."""
    if isinstance(raw, str):
        descending = raw.startswith("-")
        return Sort(_record_key(_definition(raw.lstrip("-"), registry)), descending)
    if not isinstance(raw, dict):
        raise validation_error("Each sort must be an object or a property name")
    direction = raw.get("direction", "ASCENDING")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise validation_error(f"Unknown sort direction: {direction}")
    definition = _definition(raw.get("propertyName"), registry)
    return Sort(_record_key(definition), direction == "DESCENDING")


def page_of(ids: Sequence[int], query: SearchQuery) -> Sequence[int]:
    """The ids of the requested page."""
    return ids[query.offset : query.offset + query.limit]
