"""Random and malformed requests to every RPC: never UNKNOWN or INTERNAL, and the server stays healthy.

Hypothesis builds requests field by field, with out-of-range and extreme
integers, random strings (path-like ones too) for symbols and dates, enum
numbers no one defined, oneofs set and unset, NaN and infinities in inline
bars and ragged columns; raw random bytes go in as serialized requests.
Charts are kept small so that the whole module runs in about a minute.
"""

from __future__ import annotations

import datetime
import math
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from idc import indicator_graph_pb2, indicator_pb2
from idc.v1 import bars_pb2, indicators_pb2
from idc.v1 import indicator_graph_service_pb2 as graph_pb2
from idc.v1 import indicator_service_pb2 as service_pb2
from idc_server.config import ServerConfig
from idc_server.server import RunningServer, start_server

Code = grpc.StatusCode
ALLOWED = frozenset({Code.OK, Code.INVALID_ARGUMENT, Code.NOT_FOUND, Code.RESOURCE_EXHAUSTED})
CHART_ALLOWED = ALLOWED | {Code.DEADLINE_EXCEEDED}
UNARY_TIMEOUT, CHART_TIMEOUT = 30.0, 30.0
MAX_CHART_PIXELS = 320 * 320  # larger charts are filtered out, to keep the run short

# Every RPC: its path, request type, and whether it streams its response.
RPCS: dict[str, tuple[str, type[Message], bool]] = {
    "GetMACD": ("/idc.v1.IndicatorService/GetMACD", service_pb2.GetMACDRequest, False),
    "ComputeIndicators": ("/idc.v1.IndicatorService/ComputeIndicators", service_pb2.ComputeIndicatorsRequest, False),
    "ListSymbols": ("/idc.v1.IndicatorService/ListSymbols", service_pb2.ListSymbolsRequest, False),
    "GetMACDGraph": ("/idc.v1.IndicatorGraphService/GetMACDGraph", graph_pb2.GetMACDGraphRequest, True),
    "GetChart": ("/idc.v1.IndicatorGraphService/GetChart", graph_pb2.GetChartRequest, True),
    "article GetMACD": ("/idc.Indicator/GetMACD", indicator_pb2.MACDRequest, False),
    "article GetMACDGraph": ("/idc.IndicatorGraph/GetMACDGraph", indicator_graph_pb2.MACDGraphRequest, True),
}
SENT: Counter[str] = Counter()
ANSWERED: Counter[tuple[str, str]] = Counter()  # (rpc, status code name)


@pytest.fixture(scope="module")
def fuzz_server(pytestconfig: pytest.Config) -> Iterator[RunningServer]:
    running = start_server(ServerConfig(host="127.0.0.1", port=0))
    yield running
    running.stop(None)
    if SENT:
        lines = [f"fuzz: {sum(SENT.values())} requests sent"]
        for rpc in RPCS:
            codes = ", ".join(f"{code} {n}" for (name, code), n in sorted(ANSWERED.items()) if name == rpc)
            lines.append(f"  {rpc}: {SENT[rpc]} ({codes})")
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        assert capture is not None
        with capture.global_and_fixture_disabled():  # as capsys.disabled() does: the summary always shows
            print("\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def channel(fuzz_server: RunningServer) -> Iterator[grpc.Channel]:
    """A channel to a server of this module's own (the shared one stays clean)."""
    with grpc.insecure_channel(f"127.0.0.1:{fuzz_server.port}") as channel:
        yield channel


def call_bytes(channel: grpc.Channel, rpc: str, data: bytes) -> tuple[Code, list[bytes]]:
    """Send ``data`` as the serialized request of ``rpc``; return the status and the serialized responses."""
    path, _, streaming = RPCS[rpc]
    SENT[rpc] += 1
    responses: list[bytes] = []
    code = Code.OK
    try:
        if streaming:
            stream = channel.unary_stream(path, request_serializer=None, response_deserializer=None)
            responses.extend(stream(data, timeout=CHART_TIMEOUT))
        else:
            unary = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
            responses.append(unary(data, timeout=UNARY_TIMEOUT))
    except grpc.RpcError as error:
        code = error.code()
    ANSWERED[rpc, code.name] += 1
    return code, responses


def send_bytes(channel: grpc.Channel, rpc: str, data: bytes) -> Code:
    """Send ``data`` as the serialized request of ``rpc``, reading any stream to its end; return the status."""
    return call_bytes(channel, rpc, data)[0]


def send(channel: grpc.Channel, rpc: str, request: Message) -> Code:
    assert isinstance(request, RPCS[rpc][1])
    return send_bytes(channel, rpc, request.SerializeToString())


def expect_allowed(code: Code, rpc: str, request: object) -> None:
    allowed = CHART_ALLOWED if RPCS[rpc][2] else ALLOWED
    assert code in allowed, f"{rpc} answered {code.name} to {request!r}"


def assert_healthy(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=UNARY_TIMEOUT)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    request = service_pb2.GetMACDRequest(symbol="SPY", start_date="2024-01-01", end_date="2024-03-31")
    response = service_pb2.GetMACDResponse.FromString(
        channel.unary_unary(RPCS["GetMACD"][0], request_serializer=None, response_deserializer=None)(
            request.SerializeToString(), timeout=UNARY_TIMEOUT
        )
    )
    assert response.symbol == "SPY"
    assert len(response.bars.dates) > 50


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


# -- strategies ---------------------------------------------------------------------------------------

INT32 = st.integers(-(2**31), 2**31 - 1)
EDGES = (0, -1, 1, 2, 999, 1000, 1001, 2**31 - 1, -(2**31))
PERIODS = st.one_of(st.integers(-2, 60), st.sampled_from(EDGES), INT32)
ENUMS = st.one_of(st.integers(0, 4), INT32)  # proto3 enums are open: any int32 goes on the wire
TEXT = st.text(st.characters(codec="utf-8"), max_size=24)  # proto strings are UTF-8: no lone surrogates
PATH_LIKE = st.sampled_from(
    [
        "../../../../etc/passwd",
        "../SPY",
        "SPY/../AAPL",
        "/etc/passwd",
        "..",
        ".",
        "~",
        "SPY.csv",
        "spy.CSV",
        "PROVENANCE.md",
        "__init__",
        "C:\\Windows\\win.ini",
        "%2e%2e%2fetc%2fpasswd",
        "file:///etc/passwd",
        "SPY\x00.csv",
        "\x00",
        " SPY ",
        "\uff33\uff30\uff39",  # full-width SPY
        "S" * 5000,
    ]
)
SYMBOLS = st.one_of(st.sampled_from(["SPY", "spy", "AAPL", "000001.SH", "000001.sh", "", "NOPE"]), PATH_LIKE, TEXT)
DATES = st.one_of(
    st.just(""),
    st.dates(datetime.date(1990, 1, 1), datetime.date(2027, 12, 31)).map(datetime.date.isoformat),
    st.dates().map(datetime.date.isoformat),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
    st.sampled_from(
        ["2024-02-30", "2024-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "2024-W01-1", "20240101", "2024-1-1"]
    ),
    st.sampled_from(["2024-01-01T00:00:00", "2024-01-01 ", "\uff12\uff10\uff12\uff14-01-01", "-001-01-01"]),
    PATH_LIKE,
    TEXT,
)
ODD_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324]),
)
PRICES = st.floats(0.01, 10_000.0)


@st.composite
def inline_bars(draw: st.DrawFn) -> bars_pb2.Bars:
    """Bars that are plausible, or not: random dates, ragged columns, NaN and infinities, high below low."""
    count = draw(st.integers(0, 80))
    if draw(st.booleans()):
        first = draw(st.one_of(st.integers(-1000, 25_000), st.integers(-200_000, 200_000), INT32))
        gaps = draw(st.lists(st.integers(1, 4), min_size=count, max_size=count))
        dates = [first + sum(gaps[:i]) for i in range(count)]
        assume(all(-(2**31) <= day < 2**31 for day in dates))
    else:
        dates = draw(st.lists(INT32, min_size=count, max_size=count))
    plausible = draw(st.booleans())
    closes = draw(st.lists(PRICES if plausible else ODD_FLOATS, min_size=count, max_size=count))
    spreads = draw(st.lists(st.floats(0, 50), min_size=count, max_size=count))
    columns: dict[str, Any] = {
        "open": closes,
        "high": [close + spread for close, spread in zip(closes, spreads, strict=True)],
        "low": [close - spread for close, spread in zip(closes, spreads, strict=True)],
        "close": closes,
        "volume": draw(st.lists(PRICES if plausible else ODD_FLOATS, min_size=count, max_size=count)),
    }
    for name in draw(st.lists(st.sampled_from(list(columns)), max_size=3, unique=True)):
        # A ragged or garbled column.
        columns[name] = draw(st.lists(ODD_FLOATS, max_size=count + 3))
    return bars_pb2.Bars(dates=dates, **columns)


@st.composite
def selection(draw: st.DrawFn) -> dict[str, Any]:
    """The bar-selecting fields: the source oneof unset, a symbol, or inline bars; and a date window."""
    fields: dict[str, Any] = {"start_date": draw(DATES), "end_date": draw(DATES)}
    source = draw(st.sampled_from(["unset", "symbol", "inline_bars"]))
    if source == "symbol":
        fields["symbol"] = draw(SYMBOLS)
    elif source == "inline_bars":
        fields["inline_bars"] = draw(inline_bars())
    return fields


def with_source(request: Message, fields: dict[str, Any]) -> Message:
    """``request`` with its selection set (so that empty inline bars still select the oneof)."""
    fields = dict(fields)
    bars = fields.pop("inline_bars", None)
    for name, value in fields.items():
        setattr(request, name, value)
    if bars is not None:
        request.inline_bars.SetInParent()  # type: ignore[attr-defined]
        request.inline_bars.CopyFrom(bars)  # type: ignore[attr-defined]
    return request


MACD_PARAMETERS = st.builds(bars_pb2.MACDParameters, fast_period=PERIODS, slow_period=PERIODS, signal_period=PERIODS)
INDICATOR_PARAMETERS: dict[str, st.SearchStrategy[Message]] = {
    "sma": st.builds(indicators_pb2.SMAParameters, period=PERIODS),
    "ema": st.builds(indicators_pb2.EMAParameters, period=PERIODS),
    "macd": MACD_PARAMETERS,
    "rsi": st.builds(indicators_pb2.RSIParameters, period=PERIODS),
    "boll": st.builds(indicators_pb2.BollingerParameters, period=PERIODS, k=ODD_FLOATS, std_dev=ENUMS),
    "kdj": st.builds(indicators_pb2.KDJParameters, period=PERIODS, k_period=PERIODS, d_period=PERIODS, seed=ENUMS),
}


@st.composite
def oneof_message(draw: st.DrawFn, message: type[Message], kinds: dict[str, st.SearchStrategy[Message]]) -> Message:
    """A message whose oneof is unset or set to one of ``kinds``, chosen at random."""
    kind = draw(st.sampled_from([None, *kinds]))
    if kind is None:
        return message()
    return message(**{kind: draw(kinds[kind])})


LABELS = st.one_of(
    st.just(""), st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True), st.sampled_from(["macd", "x" * 33]), TEXT
)


@st.composite
def indicator_spec(draw: st.DrawFn) -> indicators_pb2.IndicatorSpec:
    spec = draw(oneof_message(indicators_pb2.IndicatorSpec, INDICATOR_PARAMETERS))
    assert isinstance(spec, indicators_pb2.IndicatorSpec)
    spec.label = draw(LABELS)
    return spec


PANELS = oneof_message(
    graph_pb2.ChartPanel,
    {
        "volume": st.just(graph_pb2.VolumeParameters()),
        "macd": INDICATOR_PARAMETERS["macd"],
        "rsi": INDICATOR_PARAMETERS["rsi"],
        "kdj": INDICATOR_PARAMETERS["kdj"],
    },
)
OVERLAYS = oneof_message(
    graph_pb2.ChartOverlay,
    {name: INDICATOR_PARAMETERS[name] for name in ("sma", "ema", "boll")},
)
SIZES = st.one_of(st.integers(200, 320), st.sampled_from([0, 199, 4000, 4001, 8000, 8001, -1]), INT32)
DPIS = st.one_of(st.integers(45, 120), st.sampled_from([0, 49, 50, 600, 601, -1]), INT32)
CHUNKS = st.one_of(st.sampled_from([0, 1023, 1024, 4096, 1024 * 1024, 1024 * 1024 + 1, -1]), INT32)


def small_enough(width: int, height: int, max_side: int) -> bool:
    """Whether a chart of this requested size would be fast: small, or refused for its size anyway."""
    width, height = width or 1200, height or 800  # 0 means the default size
    valid = 200 <= width <= max_side and 200 <= height <= max_side
    return not valid or width * height <= MAX_CHART_PIXELS


# -- the RPCs, one test each ----------------------------------------------------------------------------


def test_get_macd(channel: grpc.Channel) -> None:
    @fuzz(700)
    @given(selection(), MACD_PARAMETERS, ENUMS, st.booleans())
    def run(fields: dict[str, Any], parameters: bars_pb2.MACDParameters, convention: Any, unset: bool) -> None:
        request = with_source(service_pb2.GetMACDRequest(convention=convention), fields)
        if not unset:
            request.parameters.CopyFrom(parameters)  # type: ignore[attr-defined]
        expect_allowed(send(channel, "GetMACD", request), "GetMACD", request)

    run()
    assert_healthy(channel)


def test_compute_indicators(channel: grpc.Channel) -> None:
    @fuzz(600)
    @given(selection(), st.lists(indicator_spec(), max_size=34), ENUMS)
    def run(fields: dict[str, Any], specs: list[indicators_pb2.IndicatorSpec], convention: Any) -> None:
        request = with_source(service_pb2.ComputeIndicatorsRequest(convention=convention, indicators=specs), fields)
        expect_allowed(send(channel, "ComputeIndicators", request), "ComputeIndicators", request)

    run()
    assert_healthy(channel)


def test_list_symbols(channel: grpc.Channel) -> None:
    code = send(channel, "ListSymbols", service_pb2.ListSymbolsRequest())
    assert code == Code.OK
    assert_healthy(channel)


def test_get_macd_graph(channel: grpc.Channel) -> None:
    @fuzz(120)
    @given(selection(), MACD_PARAMETERS, SIZES, SIZES, ENUMS, CHUNKS)
    def run(
        fields: dict[str, Any],
        parameters: bars_pb2.MACDParameters,
        width: int,
        height: int,
        convention: Any,
        chunk: int,
    ) -> None:
        assume(small_enough(width, height, 4000))
        request = with_source(
            graph_pb2.GetMACDGraphRequest(
                parameters=parameters, width_px=width, height_px=height, convention=convention, chunk_size_bytes=chunk
            ),
            fields,
        )
        expect_allowed(send(channel, "GetMACDGraph", request), "GetMACDGraph", request)

    run()
    assert_healthy(channel)


def test_get_chart(channel: grpc.Channel) -> None:
    @fuzz(200)
    @given(
        selection(),
        st.lists(PANELS, max_size=7),
        st.lists(OVERLAYS, max_size=9),
        st.tuples(ENUMS, ENUMS, ENUMS, ENUMS),
        st.tuples(SIZES, SIZES, DPIS, CHUNKS),
    )
    def run(
        fields: dict[str, Any],
        panels: list[graph_pb2.ChartPanel],
        overlays: list[graph_pb2.ChartOverlay],
        enums: tuple[Any, Any, Any, Any],  # any int32 in the enum fields
        sizes: tuple[int, int, int, int],
    ) -> None:
        width, height, dpi, chunk = sizes
        assume(small_enough(width, height, 8000))
        convention, image_format, theme, scheme = enums
        request = with_source(
            graph_pb2.GetChartRequest(
                convention=convention,
                panels=panels,
                overlays=overlays,
                format=image_format,
                width_px=width,
                height_px=height,
                dpi=dpi,
                theme=theme,
                color_scheme=scheme,
                chunk_size_bytes=chunk,
            ),
            fields,
        )
        expect_allowed(send(channel, "GetChart", request), "GetChart", request)

    run()
    assert_healthy(channel)


def test_article_get_macd(channel: grpc.Channel) -> None:
    @fuzz(400)
    @given(DATES, DATES)
    def run(start: str, end: str) -> None:
        request = indicator_pb2.MACDRequest(start_date=start, end_date=end)
        expect_allowed(send(channel, "article GetMACD", request), "article GetMACD", request)

    run()
    assert_healthy(channel)


def test_article_get_macd_graph(channel: grpc.Channel) -> None:
    # Each valid window renders a 1200x800 chart; most random windows hold no bars or are malformed.
    @fuzz(60)
    @given(DATES, DATES)
    def run(start: str, end: str) -> None:
        request = indicator_graph_pb2.MACDGraphRequest(start_date=start, end_date=end)
        expect_allowed(send(channel, "article GetMACDGraph", request), "article GetMACDGraph", request)

    run()
    assert_healthy(channel)


# -- raw bytes ---------------------------------------------------------------------------------------------


def decodes(rpc: str, data: bytes) -> bool:
    try:
        RPCS[rpc][1].FromString(data)
    except DecodeError:
        return False
    return True


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def unknown_fields(draw: st.DrawFn) -> bytes:
    """Well-formed fields with numbers no request uses, of every wire type."""
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        number = draw(st.integers(100, 2**29 - 1))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        out += varint(number << 3 | wire)
        if wire == 0:
            out += varint(draw(st.integers(0, 2**64 - 1)))
        elif wire == 1:
            out += struct.pack("<Q", draw(st.integers(0, 2**64 - 1)))
        elif wire == 5:
            out += struct.pack("<I", draw(st.integers(0, 2**32 - 1)))
        else:
            payload = draw(st.binary(max_size=40))
            out += varint(len(payload)) + payload
    return out


def test_raw_random_bytes(channel: grpc.Channel) -> None:
    """Bytes that decode as the request get an allowed status; bytes that do not, INVALID_ARGUMENT."""
    undecodable: Counter[str] = Counter()

    @fuzz(1000)
    @given(st.sampled_from(list(RPCS)), st.binary(max_size=300), st.booleans(), unknown_fields())
    def run(rpc: str, data: bytes, add_unknown: bool, unknown: bytes) -> None:
        if add_unknown:
            data += unknown
        code = send_bytes(channel, rpc, data)
        if decodes(rpc, data):
            expect_allowed(code, rpc, data)
        else:
            assert code == Code.INVALID_ARGUMENT, f"{rpc} answered {code.name} to undecodable {data!r}"
            undecodable[rpc] += 1

    run()
    assert_healthy(channel)
    assert sum(undecodable.values()) > 0  # both branches ran


@pytest.mark.parametrize("rpc", list(RPCS))
def test_valid_requests_with_unknown_fields_get_an_allowed_status(channel: grpc.Channel, rpc: str) -> None:
    @fuzz(30)
    @given(unknown_fields())
    def run(unknown: bytes) -> None:
        data = b"" + unknown  # an empty request is valid for every RPC but ComputeIndicators
        assert decodes(rpc, data)
        code = send_bytes(channel, rpc, data)
        expect_allowed(code, rpc, data)
        if rpc not in ("ComputeIndicators",):
            assert code == Code.OK, f"{rpc} refused an empty request with unknown fields: {code.name}"

    run()
    assert_healthy(channel)


UNDECODABLE = [
    b"\xff\xff\xff",  # a truncated varint tag
    b"\x0a\x05ab",  # a length-delimited field cut short
    b"\x08",  # a tag without its value
    b"\x0f",  # wire type 7 does not exist
]


@pytest.mark.parametrize("rpc", list(RPCS))
def test_undecodable_bytes_are_invalid_argument(channel: grpc.Channel, rpc: str) -> None:
    for data in UNDECODABLE:
        assert not decodes(rpc, data)
        code = send_bytes(channel, rpc, data)
        assert code == Code.INVALID_ARGUMENT, f"{rpc} answered {code.name} to {data!r}"
    assert_healthy(channel)


# -- long values in errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rpc", "request_message", "code"),
    [
        ("GetMACD", service_pb2.GetMACDRequest(start_date="S" * 5000), Code.INVALID_ARGUMENT),
        ("GetChart", graph_pb2.GetChartRequest(end_date="9" * 5000), Code.INVALID_ARGUMENT),
        ("article GetMACD", indicator_pb2.MACDRequest(start_date="x" * 5000), Code.INVALID_ARGUMENT),
        ("GetMACD", service_pb2.GetMACDRequest(symbol="S" * 20_000), Code.NOT_FOUND),
    ],
)
def test_long_bad_values_still_get_their_own_status(
    channel: grpc.Channel, rpc: str, request_message: Message, code: Code
) -> None:
    """Errors that echoed a whole long value once overflowed the client's 8 KiB metadata limit (RESOURCE_EXHAUSTED)."""
    assert send(channel, rpc, request_message) == code


# -- dates in other forms than YYYY-MM-DD -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["20240101xx", "2024-W01-1", "0001100100", "20240101T0"])
def test_dates_in_other_forms_are_invalid_argument(channel: grpc.Channel, text: str) -> None:
    for rpc, request in (
        ("GetMACD", service_pb2.GetMACDRequest(symbol="SPY", start_date=text)),
        ("article GetMACD", indicator_pb2.MACDRequest(start_date=text)),
    ):
        assert send(channel, rpc, request) == Code.INVALID_ARGUMENT, f"{rpc} took {text!r} for a date"


# -- dates far from today -------------------------------------------------------------------------------

DAY_0001_01_01, DAY_9999_12_31 = -719_162, 2_932_896  # days since 1970-01-01


def two_bars(first_day: int, second_day: int) -> bars_pb2.Bars:
    prices = [1.0, 2.0]
    return bars_pb2.Bars(
        dates=[first_day, second_day], open=prices, high=prices, low=prices, close=prices, volume=prices
    )


def macd_of(channel: grpc.Channel, bars: bars_pb2.Bars, **window: Any) -> tuple[Code, list[int]]:
    request = service_pb2.GetMACDRequest(
        inline_bars=bars, parameters=bars_pb2.MACDParameters(fast_period=1, slow_period=2, signal_period=1), **window
    )
    code, responses = call_bytes(channel, "GetMACD", request.SerializeToString())
    dates = [list(service_pb2.GetMACDResponse.FromString(raw).bars.dates) for raw in responses]
    return code, dates[0] if dates else []


def chart_of(channel: grpc.Channel, bars: bars_pb2.Bars, **window: Any) -> tuple[Code, list[bytes]]:
    panels = [graph_pb2.ChartPanel(macd=bars_pb2.MACDParameters(fast_period=1, slow_period=2, signal_period=1))]
    request = graph_pb2.GetChartRequest(
        inline_bars=bars, panels=panels, width_px=200, height_px=200, format=graph_pb2.IMAGE_FORMAT_SVG, **window
    )
    return call_bytes(channel, "GetChart", request.SerializeToString())


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (DAY_0001_01_01, DAY_0001_01_01 + 1),
        (-106_752, -106_751),  # the edges of pandas' nanosecond range, 1677-09-21...
        (0, 1),
        (19_720, 19_721),
        (106_751, 106_752),  # ...and 2262-04-12
        (200_000, 200_001),
        (DAY_9999_12_31 - 1, DAY_9999_12_31),
    ],
)
def test_inline_dates_from_year_1_to_9999_come_back_as_sent(channel: grpc.Channel, first: int, second: int) -> None:
    bars = two_bars(first, second)
    assert macd_of(channel, bars) == (Code.OK, [first, second])
    code, messages = chart_of(channel, bars)
    assert code == Code.OK
    assert len(messages) >= 2


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", ""), ("", "9999-12-31"), ("1600-01-01", "2400-01-01")])
def test_date_windows_far_from_inline_bars_are_answered(channel: grpc.Channel, start: str, end: str) -> None:
    """Windows beyond pandas' nanosecond range once crashed with OutOfBoundsDatetime (UNKNOWN)."""
    bars = two_bars(19_720, 19_721)
    assert macd_of(channel, bars, start_date=start, end_date=end) == (Code.OK, [19_720, 19_721])
    assert macd_of(channel, bars, start_date=end or "9999-12-31", end_date="")[0] == Code.NOT_FOUND


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (DAY_0001_01_01 - 1, DAY_0001_01_01),
        (DAY_9999_12_31, DAY_9999_12_31 + 1),
        (0, 2**31 - 1),
        (-(2**31), 5),
    ],
)
def test_inline_dates_outside_years_1_to_9999_are_invalid_argument(
    channel: grpc.Channel, first: int, second: int
) -> None:
    """Such dates once crashed charts and date windows (UNKNOWN), or wrapped around silently."""
    bars = two_bars(first, second)
    for code in (
        macd_of(channel, bars)[0],
        macd_of(channel, bars, start_date="2000-01-01")[0],
        chart_of(channel, bars)[0],
    ):
        assert code == Code.INVALID_ARGUMENT
