"""HubSpot CRM search: operators, numeric dates and ids, request limits, offset paging, the
10,000-result cap, a bulk-import day split by ``hs_object_id``, archived records and index lag.

Expected answers are computed from the generated world, independently of the sandbox code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline_tests.sandbox.test_hubspot_support import CONTACTS, HubSpot

Properties = dict[str, str | None]


def _ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _filter(name: str, operator: str, **values: Any) -> dict[str, Any]:
    return {"propertyName": name, "operator": operator, **values}


def _one_group(*filters: dict[str, Any], **body: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": list(filters)}], **body}


def _ids_where(api: HubSpot, test: Callable[[Properties], bool]) -> list[str]:
    return [str(c.id) for c in api.world.contacts if test(c.properties)]


def _all_ids(api: HubSpot, body: dict[str, Any]) -> list[str]:
    """Every id a search matches, paging by offset (small result sets only)."""
    ids: list[str] = []
    after = "0"
    while True:
        page = api.search({**body, "limit": 200, "after": after}).json()
        ids += [contact["id"] for contact in page["results"]]
        if "paging" not in page:
            return ids
        after = page["paging"]["next"]["after"]


@pytest.fixture
def api(sandbox: SandboxHandle) -> HubSpot:
    """The shared sandbox's HubSpot with limits off: these tests are about search semantics."""
    helper = HubSpot(sandbox)
    helper.control("PUT", "limits", {"enabled": False})
    return helper


# ---------------------------------------------------------------------------- defaults
def test_an_empty_search_returns_ten_contacts_by_id_with_default_properties(api: HubSpot) -> None:
    body = api.search({}).json()
    assert body["total"] == len(api.world.contacts)
    assert [c["id"] for c in body["results"]] == [str(1001 + i) for i in range(10)]
    assert set(body["results"][0]["properties"]) == {
        "firstname", "lastname", "email", "createdate", "hs_object_id", "lastmodifieddate",
    }  # fmt: skip


def test_requested_properties_come_back_with_unset_ones_as_null(api: HubSpot) -> None:
    body = api.search({"properties": ["hs_lead_status", "city"], "limit": 1}).json()
    assert body["results"][0]["properties"]["hs_lead_status"] is None
    assert set(body["results"][0]["properties"]) == {
        "hs_lead_status", "city", "createdate", "hs_object_id", "lastmodifieddate",
    }  # fmt: skip


# ---------------------------------------------------------------------------- operators
def test_dates_filter_as_epoch_milliseconds(api: HubSpot) -> None:
    stamps = sorted(_ms(str(c.properties["lastmodifieddate"])) for c in api.world.contacts)
    low, high = stamps[500], stamps[700]
    body = _one_group(
        _filter("lastmodifieddate", "GTE", value=str(low)),
        _filter("lastmodifieddate", "LT", value=str(high)),
    )
    expected = _ids_where(api, lambda p: low <= _ms(str(p["lastmodifieddate"])) < high)
    assert len(expected) == 200
    assert api.search(body).json()["total"] == 200
    assert sorted(_all_ids(api, body)) == sorted(expected)


def test_between_is_inclusive_at_both_ends(api: HubSpot) -> None:
    stamps = sorted(_ms(str(c.properties["lastmodifieddate"])) for c in api.world.contacts)
    body = _one_group(
        _filter("lastmodifieddate", "BETWEEN", value=str(stamps[10]), highValue=str(stamps[19]))
    )
    assert api.search(body).json()["total"] == 10


def test_hs_object_id_compares_as_a_number_not_as_text(api: HubSpot) -> None:
    total = len(api.world.contacts)
    assert (
        api.search(_one_group(_filter("hs_object_id", "GT", value="999"))).json()["total"] == total
    )
    assert (
        api.search(_one_group(_filter("hs_object_id", "LTE", value="1010"))).json()["total"] == 10
    )


def test_eq_on_text_ignores_case_and_neq_includes_unset_values(api: HubSpot) -> None:
    email = str(api.world.contacts[0].properties["email"])
    equal = api.search(_one_group(_filter("email", "EQ", value=email.upper()))).json()
    assert [c["id"] for c in equal["results"]] == ["1001"]
    not_equal = api.search(_one_group(_filter("firstname", "NEQ", value="Anna"))).json()
    assert not_equal["total"] == len(
        _ids_where(api, lambda p: (p["firstname"] or "").lower() != "anna")
    )


def test_in_and_not_in_take_a_values_list(api: HubSpot) -> None:
    stages = ["lead", "subscriber"]
    inside = api.search(_one_group(_filter("lifecyclestage", "IN", values=stages))).json()["total"]
    outside = api.search(_one_group(_filter("lifecyclestage", "NOT_IN", values=stages))).json()[
        "total"
    ]
    assert inside == len(_ids_where(api, lambda p: p["lifecyclestage"] in stages))
    assert inside + outside == len(api.world.contacts)


def test_has_property_and_not_has_property_split_the_contacts(api: HubSpot) -> None:
    has = api.search(_one_group(_filter("email", "HAS_PROPERTY"))).json()["total"]
    has_not = api.search(_one_group(_filter("email", "NOT_HAS_PROPERTY"))).json()["total"]
    assert has_not == len(_ids_where(api, lambda p: not p["email"])) > 0
    assert has + has_not == len(api.world.contacts)


def test_contains_token_matches_whole_words_or_wildcards(api: HubSpot) -> None:
    email = str(api.world.contacts[0].properties["email"])
    domain = email.split("@")[1]
    wildcard = api.search(
        _one_group(_filter("email", "CONTAINS_TOKEN", value=f"*@{domain}"))
    ).json()
    expected = _ids_where(api, lambda p: (p["email"] or "").lower().endswith(f"@{domain}"))
    assert sorted(
        _all_ids(api, _one_group(_filter("email", "CONTAINS_TOKEN", value=f"*@{domain}")))
    ) == sorted(expected)
    assert wildcard["total"] == len(expected)
    token = api.search(
        _one_group(_filter("email", "CONTAINS_TOKEN", value=domain.split(".")[0]))
    ).json()
    assert token["total"] == len(expected)
    negated = api.search(
        _one_group(_filter("email", "NOT_CONTAINS_TOKEN", value=f"*@{domain}"))
    ).json()
    assert negated["total"] == len(api.world.contacts) - len(expected)


def test_filter_groups_are_ored_and_filters_within_a_group_anded(api: HubSpot) -> None:
    both = {
        "filterGroups": [
            {"filters": [_filter("hs_object_id", "LTE", value="1005")]},
            {
                "filters": [
                    _filter("hs_object_id", "GTE", value="1100"),
                    _filter("hs_object_id", "LTE", value="1101"),
                ]
            },
        ]
    }
    assert _all_ids(api, both) == ["1001", "1002", "1003", "1004", "1005", "1100", "1101"]


def test_a_free_text_query_searches_names_and_emails(api: HubSpot) -> None:
    email = str(api.world.contacts[0].properties["email"])
    body = api.search({"query": email.upper()}).json()
    assert "1001" in [c["id"] for c in body["results"]]


def test_one_sort_orders_results_descending(api: HubSpot) -> None:
    body = api.search(
        {"sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], "limit": 50}
    ).json()
    stamps = [_ms(c["properties"]["lastmodifieddate"]) for c in body["results"]]
    newest = max(_ms(str(c.properties["lastmodifieddate"])) for c in api.world.contacts)
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] == newest


# ---------------------------------------------------------------------------- request limits
@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"filterGroups": [{"filters": [_filter("email", "HAS_PROPERTY")]}] * 6}, "six groups"),
        (_one_group(*[_filter("email", "HAS_PROPERTY")] * 7), "seven filters in a group"),
        ({"filterGroups": [{"filters": [_filter("email", "HAS_PROPERTY")] * 4}] * 4
          + [{"filters": [_filter("email", "HAS_PROPERTY")] * 3}]}, "nineteen filters"),
        ({"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]}, "two sorts"),
        ({"limit": 201}, "limit above 200"),
        ({"after": "nope"}, "a non-numeric after"),
        (_one_group(_filter("email", "LIKE", value="x")), "an unknown operator"),
        (_one_group(_filter("no_such_property", "EQ", value="x")), "an unknown property"),
        (_one_group(_filter("lastmodifieddate", "GTE", value="tuesday")), "a date that is no date"),
        (_one_group(_filter("email", "EQ")), "a missing value"),
        (_one_group(_filter("email", "IN", values=[])), "an empty values list"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_a_search_breaking_the_rules_is_a_validation_error(
    api: HubSpot, body: dict[str, Any], why: str
) -> None:
    answer = api.search(body)
    assert answer.status_code == 400, why
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_the_largest_allowed_search_is_accepted(api: HubSpot) -> None:
    groups = [{"filters": [_filter("hs_object_id", "GT", value="0")] * 6}] * 3
    answer = api.search({"filterGroups": groups, "limit": 200})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == 200


# ---------------------------------------------------------------------------- paging
def test_offset_paging_visits_every_match_once_and_ends_without_paging(api: HubSpot) -> None:
    body = _one_group(_filter("lifecyclestage", "EQ", value="lead"))
    ids = _all_ids(api, body)
    assert ids == _ids_where(api, lambda p: p["lifecyclestage"] == "lead")


def test_a_page_reaching_past_result_10000_is_refused_whatever_the_total(api: HubSpot) -> None:
    assert api.search({"after": "9800", "limit": 200}).status_code == 200
    refused = api.search({"after": "9900", "limit": 200})
    assert refused.status_code == 400
    assert refused.json()["message"] == "There was a problem with the request."
    assert api.search({"after": "10000", "limit": 1}).status_code == 400


# ---------------------------------------------------------------------------- writes and the index
def test_search_never_returns_archived_contacts(api: HubSpot) -> None:
    api.request("DELETE", f"{CONTACTS}/1001")
    body = api.search(_one_group(_filter("hs_object_id", "EQ", value="1001"))).json()
    assert body == {"total": 0, "results": []}


def test_with_no_lag_search_sees_writes_at_once(api: HubSpot) -> None:
    query = _one_group(_filter("hs_lead_status", "EQ", value="CONNECTED"))
    assert api.search(query).json()["total"] == 0
    api.request("PATCH", f"{CONTACTS}/1500", json={"properties": {"hs_lead_status": "CONNECTED"}})
    assert [c["id"] for c in api.search(query).json()["results"]] == ["1500"]


def test_a_configured_index_lag_hides_writes_until_the_clock_passes_it(api: HubSpot) -> None:
    api.configure(search_lag_seconds=2)
    created = api.post(CONTACTS, {"properties": {"email": "lagging@example.org"}}).json()
    api.request("PATCH", f"{CONTACTS}/1500", json={"properties": {"hs_lead_status": "CONNECTED"}})
    new_one = _one_group(_filter("email", "EQ", value="lagging@example.org"))
    updated = _one_group(_filter("hs_lead_status", "EQ", value="CONNECTED"))
    assert api.search(new_one).json()["total"] == 0
    assert api.search(updated).json()["total"] == 0
    assert api.get(f"{CONTACTS}/{created['id']}").status_code == 200, "reads by id do not lag"
    api.advance_clock(3)
    assert api.search(new_one).json()["total"] == 1
    assert api.search(updated).json()["total"] == 1


# ---------------------------------------------------------------------------- a bulk-import day
@pytest.fixture(scope="module")
def bulk() -> Iterator[HubSpot]:
    """A sandbox where 12,000 contacts share one ``lastmodifieddate`` (limits off)."""
    with run_sandbox(
        SandboxConfig(contacts=100, bulk_import=12_000, limits_enabled=False)
    ) as handle:
        yield HubSpot(handle)


def _bulk_window(api: HubSpot) -> dict[str, Any]:
    moment = _ms(str(api.world.contacts[-1].properties["lastmodifieddate"]))
    return {"filters": [_filter("lastmodifieddate", "EQ", value=str(moment))]}


def test_a_bulk_import_window_reports_all_12000_matches(bulk: HubSpot) -> None:
    body = bulk.search({"filterGroups": [_bulk_window(bulk)], "limit": 200}).json()
    assert body["total"] == 12_000
    assert body["paging"]["next"]["after"] == "200"


def test_paging_a_bulk_import_window_stops_at_10000(bulk: HubSpot) -> None:
    base = {"filterGroups": [_bulk_window(bulk)], "limit": 200}
    last_allowed = bulk.search({**base, "after": "9800"}).json()
    assert len(last_allowed["results"]) == 200
    assert last_allowed["paging"]["next"]["after"] == "10000", "the cursor points past the cap"
    assert bulk.search({**base, "after": "10000"}).status_code == 400


def test_a_keyset_split_on_hs_object_id_walks_the_whole_bulk_import(bulk: HubSpot) -> None:
    window = _bulk_window(bulk)
    seen: list[str] = []
    last_id = "0"
    while True:
        filters = [*window["filters"], _filter("hs_object_id", "GT", value=last_id)]
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "limit": 200,
        }
        page = bulk.search(body).json()
        if not page["results"]:
            break
        seen += [contact["id"] for contact in page["results"]]
        last_id = seen[-1]
    assert len(seen) == len(set(seen)) == 12_000
    assert [int(i) for i in seen] == sorted(int(i) for i in seen)
