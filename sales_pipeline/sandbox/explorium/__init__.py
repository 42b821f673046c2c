"""Explorium's partner API (matching, bulk enrichment, credits) as the sandbox emulates it."""

from .api import ExploriumApi

__all__ = ["ExploriumApi"]
