"""TLS, mutual TLS and bearer tokens, over real servers with certificates made here."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tls_support import LOOPBACK, PemFiles, make_ca, make_leaf

from idc import indicator_graph_pb2, indicator_graph_pb2_grpc, indicator_pb2, indicator_pb2_grpc
from idc_client import IdcClient, sma
from idc_server.config import HEALTH_PREFIX, ServerConfig, load_config
from idc_server.observability import JSONFormatter
from idc_server.server import RunningServer, start_server

# Fresh random tokens, so that any appearance in a log is a leak and never a coincidence.
RIGHT_TOKEN = f"idc-right-{secrets.token_hex(16)}"
SECOND_TOKEN = f"idc-second-{secrets.token_hex(16)}"
WRONG_TOKEN = f"idc-wrong-{secrets.token_hex(16)}"
TIMEOUT = 20.0


# -- a test PKI ------------------------------------------------------------------


@dataclass(frozen=True)
class PKI:
    """A CA with a server and a client certificate, and an unrelated second CA with a client of its own."""

    ca: PemFiles
    server: PemFiles
    client: PemFiles
    other_ca: PemFiles
    other_client: PemFiles


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    folder = tmp_path_factory.mktemp("pki")
    ca, other_ca = make_ca("idc test ca"), make_ca("idc test other-ca")
    server = make_leaf("idc test server", ca, LOOPBACK, ExtendedKeyUsageOID.SERVER_AUTH)
    client = make_leaf("idc test client", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    other_client = make_leaf("idc test other-client", other_ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return PKI(
        ca=ca.write(folder, "ca"),
        server=server.write(folder, "server"),
        client=client.write(folder, "client"),
        other_ca=other_ca.write(folder, "other-ca"),
        other_client=other_client.write(folder, "other-client"),
    )


@pytest.fixture(scope="module")
def tls_server(pki: PKI) -> Iterator[RunningServer]:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, tls_cert=pki.server.cert, tls_key=pki.server.key))
    yield running
    running.stop(None)


@pytest.fixture(scope="module")
def mtls_server(pki: PKI) -> Iterator[RunningServer]:
    running = start_server(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            tls_cert=pki.server.cert,
            tls_key=pki.server.key,
            tls_client_ca=pki.ca.cert,
        )
    )
    yield running
    running.stop(None)


def symbols_via(target: str, credentials: grpc.ChannelCredentials | None = None, token: str | None = None) -> list[str]:
    # A token over plaintext is these tests' own loopback server: said so with insecure_token.
    plaintext = credentials is None
    with IdcClient(target, timeout=TIMEOUT, credentials=credentials, token=token, insecure_token=plaintext) as client:
        return list(client.symbols().index)


def failed_code(target: str, credentials: grpc.ChannelCredentials | None = None, token: str | None = None) -> object:
    with pytest.raises(grpc.RpcError) as caught:
        symbols_via(target, credentials, token)
    return caught.value.code()


# -- TLS and mTLS ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_tls_client_trusting_the_ca_gets_data(pki: PKI, tls_server: RunningServer, host: str) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert_pem)
    assert "SPY" in symbols_via(f"{host}:{tls_server.port}", credentials)


def test_tls_client_trusting_another_ca_is_unavailable(pki: PKI, tls_server: RunningServer) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.other_ca.cert_pem)
    assert failed_code(f"localhost:{tls_server.port}", credentials) == grpc.StatusCode.UNAVAILABLE


def test_tls_server_refuses_plaintext_clients(tls_server: RunningServer) -> None:
    assert failed_code(f"127.0.0.1:{tls_server.port}") == grpc.StatusCode.UNAVAILABLE


def test_mtls_client_with_a_certificate_from_the_ca_gets_data(pki: PKI, mtls_server: RunningServer) -> None:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert_pem, private_key=pki.client.key_pem, certificate_chain=pki.client.cert_pem
    )
    assert "SPY" in symbols_via(f"localhost:{mtls_server.port}", credentials)


def test_mtls_client_without_a_certificate_is_unavailable(pki: PKI, mtls_server: RunningServer) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert_pem)
    assert failed_code(f"localhost:{mtls_server.port}", credentials) == grpc.StatusCode.UNAVAILABLE


def test_mtls_client_with_a_certificate_from_another_ca_is_unavailable(pki: PKI, mtls_server: RunningServer) -> None:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert_pem,
        private_key=pki.other_client.key_pem,
        certificate_chain=pki.other_client.cert_pem,
    )
    assert failed_code(f"localhost:{mtls_server.port}", credentials) == grpc.StatusCode.UNAVAILABLE


def test_mtls_server_still_serves_after_refusing_clients(pki: PKI, mtls_server: RunningServer) -> None:
    without = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert_pem)
    assert failed_code(f"localhost:{mtls_server.port}", without) == grpc.StatusCode.UNAVAILABLE
    with_cert = grpc.ssl_channel_credentials(
        root_certificates=pki.ca.cert_pem, private_key=pki.client.key_pem, certificate_chain=pki.client.cert_pem
    )
    assert "SPY" in symbols_via(f"localhost:{mtls_server.port}", with_cert)


# -- bearer tokens ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server() -> Iterator[RunningServer]:
    running = start_server(ServerConfig(host="127.0.0.1", port=0, auth_tokens=(RIGHT_TOKEN, SECOND_TOKEN)))
    yield running
    running.stop(None)


def test_no_token_is_unauthenticated(auth_server: RunningServer) -> None:
    assert failed_code(f"127.0.0.1:{auth_server.port}") == grpc.StatusCode.UNAUTHENTICATED


def test_a_wrong_token_is_unauthenticated(auth_server: RunningServer) -> None:
    assert failed_code(f"127.0.0.1:{auth_server.port}", token=WRONG_TOKEN) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("token", [RIGHT_TOKEN, SECOND_TOKEN])
def test_each_configured_token_gets_data_from_every_client_call(auth_server: RunningServer, token: str) -> None:
    with IdcClient(f"127.0.0.1:{auth_server.port}", timeout=TIMEOUT, token=token, insecure_token=True) as client:
        assert "SPY" in client.symbols().index
        assert len(client.macd("SPY", "2024-01-01", "2024-03-31")) > 0
        assert list(client.indicators([sma(20, label="sma20")], "SPY", "2024-01-01").columns) == ["sma20"]
        assert client.graph("SPY", "2024-01-01", width=300, height=200).size_bytes > 0
        assert client.chart("SPY", "2024-01-01", width=300, height=200).size_bytes > 0


def test_unauthenticated_calls_are_refused_on_every_service(auth_server: RunningServer) -> None:
    """Every RPC but the health check needs the token: idc.v1, the article's services and reflection."""
    with grpc.insecure_channel(f"127.0.0.1:{auth_server.port}") as channel:
        calls: list[Callable[[], object]] = [
            lambda: indicator_pb2_grpc.IndicatorStub(channel).GetMACD(indicator_pb2.MACDRequest(), timeout=TIMEOUT),
            lambda: list(
                indicator_graph_pb2_grpc.IndicatorGraphStub(channel).GetMACDGraph(
                    indicator_graph_pb2.MACDGraphRequest(), timeout=TIMEOUT
                )
            ),
            lambda: list(
                reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=TIMEOUT
                )
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (f"Bearer {RIGHT_TOKEN}", True),
        (f"bearer {RIGHT_TOKEN}", True),  # the scheme is case-insensitive (RFC 7235)
        (RIGHT_TOKEN, False),
        (f"Basic {RIGHT_TOKEN}", False),
        (f"Bearer {RIGHT_TOKEN}x", False),
        (f"Bearer {RIGHT_TOKEN[:-1]}", False),
        ("Bearer ", False),
    ],
)
def test_only_a_bearer_header_with_a_whole_token_is_accepted(
    auth_server: RunningServer, header: str, allowed: bool
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{auth_server.port}") as channel:
        call = indicator_pb2_grpc.IndicatorStub(channel).GetMACD
        request = indicator_pb2.MACDRequest(start_date="2024-01-01", end_date="2024-01-31")
        if allowed:
            assert len(call(request, timeout=TIMEOUT, metadata=(("authorization", header),)).macd) > 0
        else:
            with pytest.raises(grpc.RpcError) as caught:
                call(request, timeout=TIMEOUT, metadata=(("authorization", header),))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_health_check_needs_no_token(auth_server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{auth_server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        response = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_an_exempt_prefix_is_callable_without_a_token() -> None:
    exempt = (HEALTH_PREFIX, "/idc.v1.IndicatorService/ListSymbols", "/idc.Indicator/")
    running = start_server(ServerConfig(host="127.0.0.1", port=0, auth_tokens=(RIGHT_TOKEN,), auth_exempt=exempt))
    try:
        target = f"127.0.0.1:{running.port}"
        with IdcClient(target, timeout=TIMEOUT) as client:
            assert "SPY" in client.symbols().index
            with pytest.raises(grpc.RpcError) as caught:
                client.macd("SPY", "2024-01-01")
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with grpc.insecure_channel(target) as channel:
            # "/idc.Indicator/" exempts the article's Indicator service, not IndicatorGraph.
            reply = indicator_pb2_grpc.IndicatorStub(channel).GetMACD(
                indicator_pb2.MACDRequest(start_date="2024-01-01", end_date="2024-01-31"), timeout=TIMEOUT
            )
            assert len(reply.macd) > 0
            with pytest.raises(grpc.RpcError) as caught:
                list(
                    indicator_graph_pb2_grpc.IndicatorGraphStub(channel).GetMACDGraph(
                        indicator_graph_pb2.MACDGraphRequest(), timeout=TIMEOUT
                    )
                )
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        running.stop(None)


def test_tokens_travel_as_call_credentials_over_tls(pki: PKI) -> None:
    running = start_server(
        ServerConfig(
            host="127.0.0.1",
            port=0,
            tls_cert=pki.server.cert,
            tls_key=pki.server.key,
            auth_tokens=(RIGHT_TOKEN,),
        )
    )
    try:
        target = f"localhost:{running.port}"
        trusted = grpc.ssl_channel_credentials(root_certificates=pki.ca.cert_pem)
        assert "SPY" in symbols_via(target, trusted, RIGHT_TOKEN)
        assert failed_code(target, trusted, WRONG_TOKEN) == grpc.StatusCode.UNAUTHENTICATED
        assert failed_code(target, trusted) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        running.stop(None)


def test_tokens_never_appear_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    running = start_server(ServerConfig(host="127.0.0.1", port=0, auth_tokens=(RIGHT_TOKEN, SECOND_TOKEN)))
    try:
        target = f"127.0.0.1:{running.port}"
        for token in (WRONG_TOKEN, None):
            with IdcClient(target, timeout=TIMEOUT, token=token, insecure_token=True) as client:
                for call in (client.symbols, lambda: client.macd("NOPE"), lambda: client.graph(width=300, height=200)):
                    with pytest.raises(grpc.RpcError):
                        call()
        with IdcClient(target, timeout=TIMEOUT, token=RIGHT_TOKEN, insecure_token=True) as client:
            client.symbols()
            with pytest.raises(grpc.RpcError) as caught:
                client.macd("NOPE")  # a failed call logs too
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            client.graph("SPY", "2024-01-01", width=300, height=200)
        with grpc.insecure_channel(target) as channel:
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT, metadata=(("authorization", f"Bearer {WRONG_TOKEN}"),)
            )
    finally:
        running.stop(None)
    records = caplog.records
    rpc_records = [record for record in records if record.name == "idc_server.rpc"]
    assert len(rpc_records) >= 10, "the calls above must have been logged"
    assert any(record.levelno == logging.DEBUG for record in rpc_records), "health checks log at DEBUG"
    formatter = JSONFormatter()
    for record in records:
        rendered = " ".join([caplog.text, record.getMessage(), repr(vars(record)), formatter.format(record)])
        for token in (RIGHT_TOKEN, SECOND_TOKEN, WRONG_TOKEN):
            assert token not in rendered
            assert token[-16:] not in rendered  # not even a part of one
        json.loads(formatter.format(record))


def test_server_config_never_shows_its_tokens(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"{SECOND_TOKEN}\n")
    config = load_config(
        ["--auth-token-file", str(token_file)], env={"IDC_AUTH_TOKENS": f"{RIGHT_TOKEN},{WRONG_TOKEN}"}
    )
    assert set(config.auth_tokens) == {RIGHT_TOKEN, WRONG_TOKEN, SECOND_TOKEN}
    for shown in (repr(config), str(config), f"{config}", f"{config!r}"):
        assert "auth_exempt" in shown  # the repr is a real one...
        for token in config.auth_tokens:
            assert token not in shown  # ...without the secrets
