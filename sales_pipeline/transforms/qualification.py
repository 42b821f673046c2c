"""ICP scoring, campaign routing and exclusions."""

from collections.abc import Collection, Mapping
from typing import Annotated, Any, Self

import numpy as np
import pandas as pd
import yaml
from pandera.typing.pandas import DataFrame
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sales_pipeline.domain.outcomes import (
    EmailStatus,
    EnrichmentStatus,
    ExclusionReason,
    SuppressionSource,
)
from sales_pipeline.transforms.frames import is_in
from sales_pipeline.transforms.schemas import QualifiedLeads, validated


def _lower_keys(values: Any) -> Any:
    """Lower-case and trim the names of a list or mapping of rule values."""
    if isinstance(values, Mapping):
        return {str(k).strip().lower(): v for k, v in values.items()}
    if isinstance(values, list | tuple | set | frozenset):
        return [str(v).strip().lower() for v in values]
    return values


Points = Annotated[float, Field(ge=0.0, le=1.0)]


class Criterion(BaseModel):
    """One ICP dimension: its weight in the score and the points (0..1) each value earns.

    ``values`` may be a list (each value earns 1) or a mapping of value -> points; values are
    compared case-insensitively, and a value not listed earns 0.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(default=0.0, ge=0.0)
    values: dict[str, Points] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _list_means_full_points(cls, values: Any) -> Any:
        """Lower-case the values; a plain list gives each of them full points."""
        values = _lower_keys(values)
        return dict.fromkeys(values, 1.0) if isinstance(values, list) else values


_CRITERION_COLUMNS = {
    "job_level": "job_level",
    "department": "job_department",
    "company_size": "company_size",
    "country": "country",
}
"""Criterion (and segment condition) -> the enriched column it looks at."""


class Segment(BaseModel):
    """A campaign route: leads with at least ``min_score`` whose values are among every
    non-empty condition's (case-insensitively) go to ``campaign_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    job_level: frozenset[str] = frozenset()
    department: frozenset[str] = frozenset()
    company_size: frozenset[str] = frozenset()
    country: frozenset[str] = frozenset()
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator(*_CRITERION_COLUMNS, mode="before")
    @classmethod
    def _lower(cls, values: Any) -> Any:
        """Lower-case the condition's values."""
        return _lower_keys(values)


DEFAULT_SEGMENT = "default"
"""The segment of leads that match no configured segment and go to the default campaign."""


class QualificationRules(BaseModel):
    """ICP scoring and campaign routing, from config (YAML or a dict), for example::

        threshold: 0.5
        job_level: {weight: 3, values: {c-suite: 1, vice president: 0.9, director: 0.7}}
        department: {weight: 2, values: [sales, marketing]}
        company_size: {weight: 2, values: {"51-200": 1, "201-500": 1, "11-50": 0.5}}
        country: {weight: 1, values: [united states, germany]}
        allowed_email_statuses: [valid, catch-all]
        segments:
          - {name: enterprise, campaign_id: cam_ent, company_size: ["1001-5000"], min_score: 0.6}
        default_campaign_id: cam_general

    The ICP score is the weighted mean of the criteria's points (0..1). A lead goes to the first
    segment whose conditions it meets, else to ``default_campaign_id`` (segment ``default``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(ge=0.0, le=1.0)
    job_level: Criterion = Criterion()
    department: Criterion = Criterion()
    company_size: Criterion = Criterion()
    country: Criterion = Criterion()
    allowed_email_statuses: frozenset[EmailStatus] = frozenset(
        {EmailStatus.VALID, EmailStatus.CATCH_ALL}
    )
    segments: tuple[Segment, ...] = ()
    default_campaign_id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        """Some criterion carries weight; segment names are unique and not ``default``."""
        if sum(criterion.weight for criterion in self.criteria().values()) <= 0:
            raise ValueError("at least one criterion needs a positive weight")
        names = [segment.name for segment in self.segments]
        if len(set(names)) != len(names) or DEFAULT_SEGMENT in names:
            raise ValueError(f"segment names must be unique and not {DEFAULT_SEGMENT!r}: {names}")
        return self

    def criteria(self) -> dict[str, Criterion]:
        """The four criteria by name."""
        return {name: getattr(self, name) for name in _CRITERION_COLUMNS}

    @classmethod
    def from_yaml(cls, text: str) -> Self:
        """Rules from YAML text (the caller reads the file)."""
        return cls.model_validate(yaml.safe_load(text))


def _lowered(enriched: pd.DataFrame, column: str) -> pd.Series:
    """A text column trimmed and lower-cased, for comparing with rule values."""
    return enriched[column].astype("str").str.strip().str.lower()


def icp_score(enriched: pd.DataFrame, rules: QualificationRules) -> pd.Series:
    """The weighted mean of each criterion's points for each row (0..1)."""
    criteria = rules.criteria()
    total = sum(c.weight for c in criteria.values())
    score = pd.Series(0.0, index=enriched.index)
    for name, criterion in criteria.items():
        points = _lowered(enriched, _CRITERION_COLUMNS[name]).map(criterion.values)
        score += criterion.weight * points.fillna(0.0).astype(float)
    return (score / total).clip(0.0, 1.0).rename("icp_score")


def route(enriched: pd.DataFrame, score: pd.Series, rules: QualificationRules) -> pd.DataFrame:
    """The segment and campaign of each row: the first matching segment, else the default
    (segment and campaign null when there is no default campaign)."""
    segment: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    campaign: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    for rule in rules.segments:
        matches = segment.isna() & (score >= rule.min_score)
        for condition, column in _CRITERION_COLUMNS.items():
            allowed: frozenset[str] = getattr(rule, condition)
            if allowed:
                matches &= _lowered(enriched, column).isin(allowed)
        segment[matches] = rule.name
        campaign[matches] = rule.campaign_id
    if rules.default_campaign_id is not None:
        unrouted = segment.isna()
        segment[unrouted] = DEFAULT_SEGMENT
        campaign[unrouted] = rules.default_campaign_id
    return pd.DataFrame({"segment": segment, "campaign_id": campaign})


def qualify(
    enriched: pd.DataFrame,
    rules: QualificationRules,
    suppression_sources: pd.Series,
    pushed: Collection[str],
) -> DataFrame[QualifiedLeads]:
    """Score, route and decide who is pushed, keeping every contact with its reason.

    ``suppression_sources`` is :meth:`PipelineStore.suppression_sources` for ``enriched.email``
    (same index: a :class:`SuppressionSource` value, or null when not suppressed); ``pushed`` is
    the set of normalized emails already in a campaign. The first reason that applies, in
    :class:`ExclusionReason` order, is kept; excluded rows carry no segment or campaign.
    """
    if not suppression_sources.index.equals(enriched.index):
        raise ValueError("suppression_sources must have the same index as enriched")
    score = icp_score(enriched, rules)
    routed = route(enriched, score, rules)
    status = enriched["email_status"]
    allowed = [s.value for s in rules.allowed_email_statuses]
    conditions = {
        ExclusionReason.OPTED_OUT: enriched["opted_out"],
        ExclusionReason.BOUNCED: suppression_sources == SuppressionSource.LEMLIST_BOUNCE.value,
        ExclusionReason.UNSUBSCRIBED: suppression_sources.notna(),
        ExclusionReason.ALREADY_PUSHED: is_in(enriched["email"], pushed),
        ExclusionReason.ENRICHMENT_DEFERRED: enriched["enrichment_status"]
        == EnrichmentStatus.DEFERRED.value,
        ExclusionReason.INVALID_EMAIL: status == EmailStatus.INVALID.value,
        ExclusionReason.EMAIL_STATUS_NOT_ALLOWED: ~status.isin(allowed),
        ExclusionReason.BELOW_THRESHOLD: score < rules.threshold,
        ExclusionReason.NO_CAMPAIGN: routed["campaign_id"].isna(),
    }
    reason: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    for exclusion in ExclusionReason:
        reason = reason.mask(reason.isna() & conditions[exclusion].fillna(False), exclusion.value)
    excluded = reason.notna()
    frame = enriched.assign(
        icp_score=score,
        segment=routed["segment"].where(~excluded),
        campaign_id=routed["campaign_id"].where(~excluded),
        excluded=excluded,
        exclusion_reason=reason,
    )
    return validated(QualifiedLeads, frame)


def with_campaign_ids(
    rules: QualificationRules, campaigns: Mapping[str, str]
) -> QualificationRules:
    """``rules`` with every campaign named by Lemlist id, given ``campaigns`` (name -> id).

    A rule may name a campaign by id (``cam_...``, which must be among ``campaigns``' ids) or by
    name. Raises ValueError naming the campaign when it is neither.
    """
    ids = set(campaigns.values())

    def resolve(campaign: str) -> str:
        if campaign in ids:
            return campaign
        if campaign in campaigns:
            return campaigns[campaign]
        raise ValueError(f"no Lemlist campaign has the id or name {campaign!r}")

    segments = tuple(
        segment.model_copy(update={"campaign_id": resolve(segment.campaign_id)})
        for segment in rules.segments
    )
    default = None if rules.default_campaign_id is None else resolve(rules.default_campaign_id)
    return rules.model_copy(update={"segments": segments, "default_campaign_id": default})
