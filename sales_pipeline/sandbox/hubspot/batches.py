"""HubSpot's batch endpoints: ``/crm/v3/objects/contacts/batch/{read,create,update,upsert}`` and
``/crm/v3/properties/contacts/batch/create``.

Each takes at most 100 ``inputs`` and answers ``{"status":"COMPLETE","results",...,"startedAt",
"completedAt"}``: 200 (201 for creates) when every input succeeded, 207 with ``numErrors`` and
one ``errors`` entry per refused input otherwise (built from the error a single call would give).
"""

from __future__ import annotations

from typing import Any, Protocol

from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.http import Request, Response, json_response

from .contacts import ContactStore
from .errors import HubSpotError, api_error, validation_error
from .parsing import id_property, json_body, properties_of, require, string_list
from .properties import PropertyRegistry
from .records import iso_from_seconds

MAX_BATCH_INPUTS = 100
NOT_FOUND_IN_BATCH = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)


def batch_inputs(body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """The ``inputs`` array of a batch body of ``model``; 400 when it is missing, not objects or
    longer than 100."""
    require(body, model)
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise validation_error("Invalid input JSON: inputs must be an array of objects")
    if len(inputs) > MAX_BATCH_INPUTS:
        raise validation_error(
            f"Too many inputs: {len(inputs)}. A batch takes at most {MAX_BATCH_INPUTS} inputs."
        )
    return inputs


def _unique_ids(inputs: list[dict[str, Any]], fold_case: bool) -> None:
    """400 when two inputs name the same ``id`` (case-insensitively when ``fold_case``)."""
    keys = [str(item.get("id", "")) for item in inputs]
    seen = [key.lower() if fold_case else key for key in keys]
    duplicates = sorted(
        {key for key, folded in zip(keys, seen, strict=True) if seen.count(folded) > 1}
    )
    if duplicates:
        raise validation_error(
            f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
        )


def _batch_error(error: HubSpotError, context: dict[str, list[str]]) -> dict[str, Any]:
    """One entry of a 207 answer's ``errors``, made from the error a single call would give."""
    entry: dict[str, Any] = {
        "status": "error",
        "category": error.body.get("category", "VALIDATION_ERROR"),
        "message": error.body.get("message", ""),
        "context": context,
    }
    if "errors" in error.body:
        entry["errors"] = error.body["errors"]
    return entry


class Records(Protocol):
    """Where the contacts and property definitions live now (a reset replaces both)."""

    contacts: ContactStore
    registry: PropertyRegistry


class Batches:
    """The batch handlers, working on the same contacts and properties as the single calls."""

    def __init__(self, records: Records, clock: Clock) -> None:
        self.records = records
        self.clock = clock

    def _answer(
        self,
        started: float,
        results: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        ok: int = 200,
    ) -> Response:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = iso_from_seconds(started)
        body["completedAt"] = iso_from_seconds(self.clock.now())
        return json_response(207 if errors else ok, body)

    def read(self, request: Request) -> Response:
        """Contacts by id or by ``idProperty: email``; unknown ones in one OBJECT_NOT_FOUND."""
        started = self.clock.now()
        body = json_body(request)
        inputs = batch_inputs(body, "BatchReadInputSimplePublicObjectId")
        for item in inputs:
            require(item, "SimplePublicObjectId")
        string_list(body, "propertiesWithHistory")
        requested = string_list(body, "properties")
        by = id_property(body.get("idProperty"))
        names = self.records.registry.returned_names(requested or None)
        found: dict[int, dict[str, Any]] = {}
        missing: list[str] = []
        for item in inputs:
            key = str(item.get("id", ""))
            record = self.records.contacts.find(key, by)
            if record is None:
                missing.append(key)
            else:
                found.setdefault(record.id, record.to_json(names))
        errors = []
        if missing:
            errors.append(
                _batch_error(
                    api_error(404, "OBJECT_NOT_FOUND", NOT_FOUND_IN_BATCH), {"ids": missing}
                )
            )
        return self._answer(started, list(found.values()), errors)

    def create(self, request: Request) -> Response:
        """201 with every created contact, or 207 with an error per refused input
        (a duplicate email is a CONFLICT entry)."""
        started = self.clock.now()
        results, errors = [], []
        for index, item in enumerate(
            batch_inputs(json_body(request), "BatchInputSimplePublicObjectBatchInputForCreate")
        ):
            given = item.get("properties")
            email = given.get("email") if isinstance(given, dict) else None
            context = {"emails": [str(email)]} if email else {"inputIndex": [str(index)]}
            try:
                properties = properties_of(item, "SimplePublicObjectBatchInputForCreate")
                record = self.records.contacts.create(properties)
                results.append(record.to_json(self.records.registry.returned_names(properties)))
            except HubSpotError as error:
                errors.append(_batch_error(error, context))
        return self._answer(started, results, errors, ok=201)

    def update(self, request: Request) -> Response:
        """Updates by id (or per-input ``idProperty: email``); an error entry per refused input."""
        started = self.clock.now()
        inputs = batch_inputs(json_body(request), "BatchInputSimplePublicObjectBatchInput")
        for item in inputs:
            require(item, "SimplePublicObjectBatchInput")
        _unique_ids(inputs, fold_case=False)
        results, errors = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            try:
                properties = properties_of(item, "SimplePublicObjectBatchInput")
                record = self.records.contacts.update(
                    key, id_property(item.get("idProperty")), properties
                )
                results.append(record.to_json(self.records.registry.returned_names(properties)))
            except HubSpotError as error:
                errors.append(_batch_error(error, {"ids": [key]}))
        return self._answer(started, results, errors)

    def upsert(self, request: Request) -> Response:
        """Create-or-update by ``idProperty: email``; each result says whether it is ``new``."""
        started = self.clock.now()
        inputs = batch_inputs(json_body(request), "BatchInputSimplePublicObjectBatchInputUpsert")
        for item in inputs:
            require(item, "SimplePublicObjectBatchInputUpsert")
        _unique_ids(inputs, fold_case=True)
        results, errors = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            try:
                if item.get("idProperty") != "email":
                    raise validation_error(
                        "Upsert needs idProperty email, the unique contact property"
                    )
                properties = properties_of(item, "SimplePublicObjectBatchInputUpsert")
                record, created = self.records.contacts.upsert_by_email(key, properties)
                names = self.records.registry.returned_names([*properties, "email"])
                results.append({**record.to_json(names), "new": created})
            except HubSpotError as error:
                errors.append(_batch_error(error, {"ids": [key]}))
        return self._answer(started, results, errors)

    def create_properties(self, request: Request) -> Response:
        """201 with the new property definitions, or 207 with an error per refused input."""
        started = self.clock.now()
        results, errors = [], []
        for item in batch_inputs(json_body(request), "BatchInputPropertyCreate"):
            try:
                results.append(self.records.registry.create(item, self.clock.now()).to_json())
            except HubSpotError as error:
                errors.append(_batch_error(error, {"name": [str(item.get("name", ""))]}))
        return self._answer(started, results, errors, ok=201)
