"""``IdcClient(token=...)`` and ``idc-client``'s token: the bearer token on every call, plaintext and TLS."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from tls_support import LOOPBACK, make_ca, make_leaf

from idc.v1 import (
    indicator_graph_service_pb2,
    indicator_graph_service_pb2_grpc,
    indicator_service_pb2,
    indicator_service_pb2_grpc,
)
from idc_client import IdcClient, sma
from idc_client.cli import main

TOKEN = "s3cret-Token_0123456789.~+/="
ImageStream = Iterator[indicator_graph_service_pb2.GetChartResponse]


class Recorder(
    indicator_service_pb2_grpc.IndicatorServiceServicer, indicator_graph_service_pb2_grpc.IndicatorGraphServiceServicer
):
    """Answers every RPC with an empty result, recording each call's ``authorization`` metadata (None: absent)."""

    def __init__(self) -> None:
        self.headers: list[tuple[str, str | None]] = []

    def _record(self, rpc: str, context: grpc.ServicerContext) -> None:
        values = [value for key, value in context.invocation_metadata() if key == "authorization"]
        assert len(values) <= 1, f"{rpc} carried {len(values)} authorization headers"
        self.headers.append((rpc, str(values[0]) if values else None))

    def GetMACD(
        self, request: indicator_service_pb2.GetMACDRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.GetMACDResponse:
        self._record("GetMACD", context)
        return indicator_service_pb2.GetMACDResponse()

    def ComputeIndicators(
        self, request: indicator_service_pb2.ComputeIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ComputeIndicatorsResponse:
        self._record("ComputeIndicators", context)
        return indicator_service_pb2.ComputeIndicatorsResponse()

    def ListSymbols(
        self, request: indicator_service_pb2.ListSymbolsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListSymbolsResponse:
        self._record("ListSymbols", context)
        return indicator_service_pb2.ListSymbolsResponse()

    def ListIndicators(
        self, request: indicator_service_pb2.ListIndicatorsRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ListIndicatorsResponse:
        self._record("ListIndicators", context)
        return indicator_service_pb2.ListIndicatorsResponse()

    def DescribeIndicator(
        self, request: indicator_service_pb2.DescribeIndicatorRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.DescribeIndicatorResponse:
        self._record("DescribeIndicator", context)
        return indicator_service_pb2.DescribeIndicatorResponse()

    def Screen(
        self, request: indicator_service_pb2.ScreenRequest, context: grpc.ServicerContext
    ) -> indicator_service_pb2.ScreenResponse:
        self._record("Screen", context)
        return indicator_service_pb2.ScreenResponse()

    def GetMACDGraph(
        self, request: indicator_graph_service_pb2.GetMACDGraphRequest, context: grpc.ServicerContext
    ) -> Iterator[indicator_graph_service_pb2.GetMACDGraphResponse]:
        self._record("GetMACDGraph", context)
        yield indicator_graph_service_pb2.GetMACDGraphResponse(metadata=empty_image())

    def GetChart(
        self, request: indicator_graph_service_pb2.GetChartRequest, context: grpc.ServicerContext
    ) -> ImageStream:
        self._record("GetChart", context)
        yield indicator_graph_service_pb2.GetChartResponse(metadata=empty_image())


def empty_image() -> indicator_graph_service_pb2.ImageMetadata:
    """The metadata of a valid, empty PNG stream."""
    return indicator_graph_service_pb2.ImageMetadata(
        media_type="image/png", size_bytes=0, sha256=hashlib.sha256(b"").digest(), width_px=1, height_px=1
    )


def serve(recorder: Recorder, credentials: grpc.ServerCredentials | None = None) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    indicator_service_pb2_grpc.add_IndicatorServiceServicer_to_server(recorder, server)
    indicator_graph_service_pb2_grpc.add_IndicatorGraphServiceServicer_to_server(recorder, server)
    address = "127.0.0.1:0"
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    assert port != 0
    server.start()
    return server, port


@pytest.fixture
def plaintext() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    server, port = serve(recorder)
    yield recorder, f"127.0.0.1:{port}"
    server.stop(None).wait()


def call_everything(client: IdcClient) -> None:
    client.macd("SPY")
    client.macd_response("SPY")
    client.indicators([sma()], "SPY")
    client.indicators_response([sma()], "SPY")
    client.symbols()
    client.symbols_response()
    client.graph("SPY")
    client.chart("SPY")


RPCS = [
    "GetMACD",
    "GetMACD",
    "ComputeIndicators",
    "ComputeIndicators",
    "ListSymbols",
    "ListSymbols",
    "GetMACDGraph",
    "GetChart",
]


def test_every_call_sends_the_token_as_a_bearer_header(plaintext: tuple[Recorder, str]) -> None:
    recorder, target = plaintext
    with IdcClient(target, timeout=10, token=TOKEN, insecure_token=True) as client:
        call_everything(client)
    assert recorder.headers == [(rpc, f"Bearer {TOKEN}") for rpc in RPCS]


def test_a_token_over_plaintext_without_insecure_token_warns_but_is_still_sent(plaintext: tuple[Recorder, str]) -> None:
    recorder, target = plaintext
    with pytest.warns(FutureWarning, match="insecure_token=True"), IdcClient(target, timeout=10, token=TOKEN) as client:
        client.symbols()
    assert recorder.headers == [("ListSymbols", f"Bearer {TOKEN}")]


def test_without_a_token_no_call_sends_an_authorization_header(plaintext: tuple[Recorder, str]) -> None:
    recorder, target = plaintext
    with IdcClient(target, timeout=10) as client:
        call_everything(client)
    assert recorder.headers == [(rpc, None) for rpc in RPCS]


@pytest.mark.parametrize("token", ["", " ", "two words", "line\nbreak", "tab\t", "caf\u00e9", " padded"])
def test_a_token_that_cannot_be_a_header_raises_value_error(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        IdcClient("127.0.0.1:1", token=token, insecure_token=True)


def test_the_repr_never_shows_the_token() -> None:
    with IdcClient("127.0.0.1:1", token=TOKEN, insecure_token=True) as client:
        assert TOKEN not in repr(client)
        assert TOKEN not in str(client)


# -- over TLS, as call credentials ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files() -> tuple[bytes, bytes, bytes]:
    """A CA certificate, and a server certificate for localhost and 127.0.0.1 with its key (all PEM)."""
    ca = make_ca("idc client test CA")
    server = make_leaf("localhost", ca, LOOPBACK)
    return ca.cert_pem, server.cert_pem, server.key_pem


def test_over_tls_the_token_travels_as_call_credentials(tls_files: tuple[bytes, bytes, bytes]) -> None:
    ca, cert, key = tls_files
    recorder = Recorder()
    server, port = serve(recorder, grpc.ssl_server_credentials([(key, cert)]))
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=ca)
        with IdcClient(f"localhost:{port}", timeout=10, credentials=credentials, token=TOKEN) as client:
            call_everything(client)
        with IdcClient(f"localhost:{port}", timeout=10, credentials=credentials) as client:
            client.symbols()
    finally:
        server.stop(None).wait()
    assert recorder.headers == [(rpc, f"Bearer {TOKEN}") for rpc in RPCS] + [("ListSymbols", None)]


# -- the CLI ---------------------------------------------------------------------------------------


def test_cli_refuses_a_token_over_plaintext_without_insecure_token(
    plaintext: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder, target = plaintext
    monkeypatch.setenv("IDC_TOKEN", TOKEN)
    assert main(["symbols", "--target", target]) == 2
    err = capsys.readouterr().err
    assert err == "error: a bearer token needs TLS: add --tls or --ca, or --insecure-token for a server on this host\n"
    assert recorder.headers == []


def test_cli_token_comes_from_idc_token(plaintext: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch) -> None:
    recorder, target = plaintext
    monkeypatch.setenv("IDC_TOKEN", TOKEN)
    assert main(["symbols", "--target", target, "--insecure-token"]) == 0
    monkeypatch.setenv("IDC_TOKEN", "")
    assert main(["symbols", "--target", target]) == 0
    assert recorder.headers == [("ListSymbols", f"Bearer {TOKEN}"), ("ListSymbols", None)]


def test_cli_token_file_wins_over_idc_token(
    plaintext: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    recorder, target = plaintext
    monkeypatch.setenv("IDC_TOKEN", "from-the-environment")
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\nignored\n")
    assert main(["symbols", "--target", target, "--token-file", str(token_file), "--insecure-token"]) == 0
    assert recorder.headers == [("ListSymbols", f"Bearer {TOKEN}")]


def test_cli_deprecated_token_flag_still_works_and_says_so(
    plaintext: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IDC_TOKEN", raising=False)
    recorder, target = plaintext
    assert main(["symbols", "--target", target, "--token", TOKEN, "--insecure-token"]) == 0
    assert "--token is deprecated" in capsys.readouterr().err
    assert recorder.headers == [("ListSymbols", f"Bearer {TOKEN}")]


def test_cli_refuses_a_bad_token_without_calling(
    plaintext: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDC_TOKEN", "two words")
    recorder, target = plaintext
    assert main(["symbols", "--target", target, "--insecure-token"]) == 2
    assert "token" in capsys.readouterr().err
    assert recorder.headers == []


def test_cli_over_tls_with_ca_sends_the_token(
    tls_files: tuple[bytes, bytes, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca, cert, key = tls_files
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca)
    recorder = Recorder()
    server, port = serve(recorder, grpc.ssl_server_credentials([(key, cert)]))
    monkeypatch.setenv("IDC_TOKEN", TOKEN)
    try:
        assert main(["symbols", "--target", f"localhost:{port}", "--ca", str(ca_file)]) == 0
    finally:
        server.stop(None).wait()
    assert recorder.headers == [("ListSymbols", f"Bearer {TOKEN}")]


def test_cli_help_never_shows_the_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IDC_TOKEN", TOKEN)
    with pytest.raises(SystemExit):
        main(["symbols", "--help"])
    out = capsys.readouterr().out
    assert "--token-file" in out
    assert TOKEN not in out
