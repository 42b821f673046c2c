"""Schedules and sensors described by their docstrings, as assets are."""

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from dagster import ScheduleDefinition, SensorDefinition

Definition = TypeVar("Definition", ScheduleDefinition, SensorDefinition)


def described(
    decorator: Callable[..., Callable[[Callable[..., Any]], object]],
    kind: type[Definition],
    **options: Any,
) -> Callable[[Callable[..., Any]], Definition]:
    """``decorator(**options)``, with the decorated function's docstring as the description
    Dagster shows; the result must be a ``kind``."""

    def apply(function: Callable[..., Any]) -> Definition:
        definition = decorator(description=inspect.getdoc(function), **options)(function)
        if not isinstance(definition, kind):
            raise TypeError(f"{function.__name__} did not become a {kind.__name__}")
        return definition

    return apply
