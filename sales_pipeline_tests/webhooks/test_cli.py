"""``sales-pipeline webhooks``: refuses to start or register without usable settings."""

import pytest

from sales_pipeline.cli import main
from sales_pipeline.cli.webhooks import register_lemlist_hook, serve_receiver
from sales_pipeline.settings import Settings

SECRET_VARIABLES = ("LEMLIST_WEBHOOK_SECRET", "HUBSPOT_CLIENT_SECRET", "LEMLIST_API_KEY")


def test_the_receiver_does_not_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (*SECRET_VARIABLES, "SALES_PIPELINE_WEBHOOK_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["webhooks", "--port", "0"]) == 2
    assert "set LEMLIST_WEBHOOK_SECRET and/or HUBSPOT_CLIENT_SECRET" in capsys.readouterr().out


def test_a_short_lemlist_secret_is_refused_without_being_printed() -> None:
    printed: list[str] = []
    settings = Settings.from_env({"LEMLIST_WEBHOOK_SECRET": "tooshort"})
    assert serve_receiver(settings, "127.0.0.1", 0, out=printed.append) == 2
    assert printed == [
        "cannot serve webhooks: LEMLIST_WEBHOOK_SECRET must have at least 16 characters"
    ]
    assert (
        register_lemlist_hook(
            Settings.from_env({"LEMLIST_WEBHOOK_SECRET": "tooshort", "LEMLIST_API_KEY": "k"}),
            "https://hooks.example.com/webhooks/lemlist",
            out=printed.append,
        )
        == 2
    )
    assert not any("tooshort" in line for line in printed)


def test_register_names_every_missing_setting() -> None:
    printed: list[str] = []
    assert register_lemlist_hook(Settings.from_env({}), None, out=printed.append) == 2
    assert printed == [
        "cannot register the Lemlist hook: set --url or SALES_PIPELINE_WEBHOOK_PUBLIC_URL, "
        "LEMLIST_API_KEY, LEMLIST_WEBHOOK_SECRET"
    ]
