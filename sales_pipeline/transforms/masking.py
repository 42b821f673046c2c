"""Masks that keep personal data out of logs, metadata and the quarantine."""

from collections.abc import Callable, Mapping

import pandas as pd


def mask_text(value: str | None) -> str | None:
    """Keep the first character only: ``"José"`` -> ``"J***"``. None stays None."""
    if value is None or value == "":
        return value
    return f"{value[0]}***"


def mask_email(email: str | None) -> str | None:
    """Mask an email for logs and metadata: ``"john.doe@example.com"`` -> ``"j***@e***.com"``.

    The first letter of the local part and of the domain survive, and the top-level domain.
    Anything that is not an address is masked like text. None stays None.
    """
    if email is None:
        return None
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        return mask_text(email.strip())
    host, dot, tld = domain.rpartition(".")
    masked_domain = f"{host[0]}***.{tld}" if dot and host else f"{domain[0]}***"
    return f"{local[0]}***@{masked_domain}"


def mask_phone(phone: str | None) -> str | None:
    """Keep the last two digits only: ``"+1 555 0100"`` -> ``"***00"``. None stays None."""
    if phone is None or phone == "":
        return phone
    return f"***{''.join(ch for ch in phone if ch.isdigit())[-2:]}"


_MASKS: Mapping[str, Callable[[str | None], str | None]] = {
    "email": mask_email,
    "professional_email": mask_email,
    "first_name": mask_text,
    "last_name": mask_text,
    "linkedin_url": mask_text,
    "phone": mask_phone,
}
"""How each personal column is masked."""

PII_COLUMNS = tuple(_MASKS)
"""Columns :func:`masked_sample` masks."""


def mask_value(column: str, value: object) -> str:
    """One value of ``column`` as it may be shown anywhere: personal columns masked, other
    text cut to 24 characters, invisible and control characters escaped."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "null"
    mask = _MASKS.get(column)
    text = mask(str(value)) if mask is not None else str(value)
    shown = (text or "")[:24]
    return shown.encode("unicode_escape").decode("ascii") if not shown.isprintable() else shown


def masked_sample(df: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows with every :data:`PII_COLUMNS` column masked, for asset metadata."""
    sample = df.head(n).copy()
    for column in PII_COLUMNS:
        if column in sample.columns:
            sample[column] = sample[column].map(_MASKS[column], na_action="ignore")
    return sample
