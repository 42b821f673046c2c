"""Lemlist's API (campaigns, leads, unsubscribes, activities, hooks) as the sandbox emulates it."""

from .api import LemlistApi

__all__ = ["LemlistApi"]
