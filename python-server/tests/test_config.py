from __future__ import annotations

from pathlib import Path

import pytest

from idc_server.config import ServerConfig, load_config
from idc_server.core import limits


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


def test_execution_limits_have_flags_and_variables() -> None:
    config = load_config(
        ["--render-workers", "3", "--max-streams", "8", "--stream-stall-seconds", "2.5"],
        env={"IDC_RENDER_QUEUE": "5", "IDC_MAX_CHART_COST": "1000", "IDC_METRICS_HOST": "127.0.0.1"},
    )
    assert (config.render_workers, config.max_streams, config.stream_stall_seconds) == (3, 8, 2.5)
    assert (config.render_queue, config.max_chart_cost, config.metrics_host) == (5, 1000, "127.0.0.1")


def test_the_chart_cost_default_is_the_cores() -> None:
    assert ServerConfig().max_chart_cost == limits.DEFAULT_MAX_CHART_COST


@pytest.mark.parametrize("flag", ["--max-streams", "--max-streams-per-peer", "--render-queue", "--max-chart-cost"])
def test_execution_limits_below_one_are_rejected(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_config([flag, "0"], env={})
    assert f"{flag} must be at least 1" in capsys.readouterr().err


# --data-url / IDC_DATA_URL: one flag for every kind of store, checked at start without connecting.
def test_a_parquet_dataset_url_is_taken_from_the_flag_or_the_variable(tmp_path: Path) -> None:
    url = f"parquet://{tmp_path}"
    assert load_config(["--data-url", url], env={}).data_urls == (url,)
    assert load_config([], env={"IDC_DATA_URL": url}).data_urls == (url,)
    assert load_config([], env={}).data_urls == ()


def test_a_postgresql_url_is_not_connected_at_parse_time_and_never_printed() -> None:
    url = "postgresql://reader:s3cret@db.invalid:5432/market"
    config = load_config(["--data-url", url], env={})
    assert config.data_urls == (url,)
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://db/market", "mysql scheme is not a kind of store; use one of file: (file:///data/bars), parquet:"),
        ("parquet:///no/such/lake", "--data-url: parquet: '/no/such/lake' is not a folder"),
        ("file://otherhost/data", "--data-url: file: URLs name a local folder; 'otherhost' is a host"),
    ],
)
def test_a_url_no_store_takes_stops_the_server_at_start(
    url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        load_config(["--data-url", url], env={})
    assert exited.value.code == 2
    assert says in capsys.readouterr().err
