"""Settings: where each comes from, bad values explained, secrets kept owner-only, rotation live."""

from __future__ import annotations

import stat

import httpx
import pytest

from navmetrics import config
from navmetrics.receiver import create_receiver_app
from tests.conftest import SOFTWARE_MEXICO, ServerThread
from tests.test_receiver import callback_body


def test_the_environment_wins_over_the_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('EDGES_API_KEY = "from-file"\nNAVMETRICS_PUBLIC_URL = "https://t.example"\n')
    settings = config.load_settings({"EDGES_API_KEY": "from-env"}, secrets)
    assert settings.api_key == "from-env" and settings.public_url == "https://t.example"
    assert settings.mode == "live, with callbacks"
    assert config.load_settings({}, secrets).api_key == "from-file"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"NAVMETRICS_RECEIVER_PORT": "eighty"}, "not a port number"),
        ({"NAVMETRICS_RECEIVER_PORT": "70000"}, "outside 1-65535"),
    ],
)
def test_bad_values_say_what_to_do(tmp_path, env, words):
    with pytest.raises(config.ConfigError, match=words):
        config.load_settings(env, tmp_path / "none.toml")


def test_a_broken_secrets_file_says_which_file(tmp_path):
    broken = tmp_path / "secrets.toml"
    broken.write_text("EDGES_API_KEY = \n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load_settings({}, broken)


def test_saved_secrets_are_owner_only_and_keep_the_others(tmp_path):
    path = tmp_path / "secrets.toml"
    config.save_secret("EDGES_BASE_URL", "https://edges.example/v1", path)
    config.save_secret("EDGES_API_KEY", 'k"ey\\with quotes', path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = config.load_settings({}, path)
    assert (
        settings.api_key == 'k"ey\\with quotes' and settings.base_url == "https://edges.example/v1"
    )
    with pytest.raises(config.ConfigError, match="http"):
        config.save_settings(api_key="", base_url="edges", public_url="", env={}, path=path)


def test_mask_never_shows_enough_to_use():
    assert config.mask("sk-live-abcdefghijklmnop") == "sk-l…op"
    assert config.mask("short") == "•••••" and config.mask(None) == "(not set)"


def test_a_rotated_token_takes_effect_at_once_in_the_running_receiver(db_path):
    old = config.rotate_callback_token(db_path)
    app = create_receiver_app(db_path, config.TokenSource(db_path))
    with ServerThread(app) as server:
        url = f"{server.url}/callbacks"
        assert (
            httpx.post(
                url, json=callback_body(SOFTWARE_MEXICO), headers={"Authorization": f"Bearer {old}"}
            ).status_code
            == 200
        )
        new = config.rotate_callback_token(db_path)
        assert new != old
        assert (
            httpx.post(
                url, json=callback_body(SOFTWARE_MEXICO), headers={"Authorization": f"Bearer {old}"}
            ).status_code
            == 401
        )
        assert (
            httpx.post(
                url, json=callback_body(SOFTWARE_MEXICO), headers={"Authorization": f"Bearer {new}"}
            ).status_code
            == 200
        )
