from __future__ import annotations

from pathlib import Path

import pytest

from idc_server.config import ServerConfig, load_config


def test_defaults_serve_the_articles_port_on_all_interfaces() -> None:
    config = load_config([], env={})
    assert config == ServerConfig()
    assert config.address == "[::]:50051"
    assert config.data_dirs == ()


def test_environment_variables_set_values(tmp_path: Path) -> None:
    env = {"IDC_PORT": "6000", "IDC_DATA_DIR": str(tmp_path), "IDC_DEFAULT_SYMBOL": "AAPL"}
    config = load_config([], env=env)
    assert (config.port, config.data_dirs, config.default_symbol) == (6000, (tmp_path,), "AAPL")


def test_flags_override_environment_variables() -> None:
    config = load_config(["--port", "7000", "--host", "127.0.0.1"], env={"IDC_PORT": "6000"})
    assert config.address == "127.0.0.1:7000"


def test_missing_data_dir_is_rejected_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_config(["--data-dir", str(tmp_path / "absent")], env={})
    assert "is not a folder" in capsys.readouterr().err


def test_limits_and_convention_have_flags_and_variables() -> None:
    config = load_config(["--max-bars", "10"], env={"IDC_DEFAULT_CONVENTION": "tdx", "IDC_MAX_MESSAGE_BYTES": "1024"})
    assert (config.max_bars, config.default_convention, config.max_message_bytes) == (10, "tdx", 1024)


def test_environment_values_outside_the_choices_are_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_config([], env={"IDC_DEFAULT_CONVENTION": "excel"})
    assert "'excel' is not one of" in capsys.readouterr().err
