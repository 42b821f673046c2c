"""HubSpot OAuth tokens kept in the store, shared by every process that uses the database."""

from __future__ import annotations

from sales_pipeline.clients import OAuthTokens, Secret
from sales_pipeline.store.pipeline_store import PipelineStore


class StoreTokenStore:
    """The HubSpot client's token-store protocol over :class:`PipelineStore`: every exchange
    and refresh is persisted, so a rotated refresh token survives the process and is shared by
    every process using the same database."""

    def __init__(self, store: PipelineStore) -> None:
        self._store = store

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""
        saved = self._store.load_oauth_token(key)
        if saved is None:
            return None
        return OAuthTokens(
            access_token=Secret(saved["access_token"]),
            refresh_token=Secret(saved["refresh_token"]),
            expires_at=float(saved["expires_at"]),
        )

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Persist ``tokens`` under ``key``."""
        self._store.save_oauth_token(
            key,
            {
                "access_token": tokens.access_token.reveal(),
                "refresh_token": tokens.refresh_token.reveal(),
                "expires_at": tokens.expires_at,
            },
        )
