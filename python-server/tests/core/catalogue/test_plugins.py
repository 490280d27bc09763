"""The plugin helper and loader: an analyst's function becomes an entry, and a bad plugin is named."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from idc_server.core.catalogue import CatalogueError, OutputKind, ParameterType, server_catalogue
from idc_server.core.catalogue.plugins import ENTRY_POINT_GROUP, indicator, load_plugins, parameter
from idc_server.core.errors import InvalidArgumentError


@indicator(
    name="desk.RANGE",
    group="Desk",
    description="High minus low, scaled.",
    inputs=("high", "low"),
    parameters=(parameter("scale", 1.0, "a factor", 0.0, 10.0), parameter("shift", 0, "bars to wait", 0, 5)),
    outputs=(("range", "unitless", "high - low"), ("half", "price")),
    lookback=lambda scale, shift: shift,
)
def spread(high: np.ndarray, low: np.ndarray, scale: float, shift: int) -> tuple[np.ndarray, np.ndarray]:
    width = (high - low) * scale
    width[:shift] = np.nan
    return width, low + width / 2


def test_the_helper_declares_an_entry_from_a_function() -> None:
    assert spread.name == "desk.RANGE"
    assert spread.inputs == ("high", "low")
    assert [(p.name, p.type) for p in spread.parameters] == [
        ("scale", ParameterType.FLOAT),
        ("shift", ParameterType.INT),
    ]
    assert [(o.name, o.kind) for o in spread.outputs] == [("range", OutputKind.UNITLESS), ("half", OutputKind.PRICE)]
    bound = spread.bind({"scale": 2, "shift": 1})
    outputs = bound.compute({"high": np.array([3.0, 5.0, 4.0]), "low": np.array([1.0, 2.0, 4.0])})
    np.testing.assert_array_equal(outputs["range"], [np.nan, 6.0, 0.0])
    np.testing.assert_array_equal(outputs["half"], [np.nan, 5.0, 4.0])
    assert bound.lookback() == 1


def test_parameters_are_validated_before_the_function_runs() -> None:
    with pytest.raises(InvalidArgumentError, match=r"params.scale: 11.0 is above the maximum 10"):
        spread.bind({"scale": 11.0})


def test_outputs_unlike_the_declaration_are_a_catalogue_error() -> None:
    wrong = indicator(
        name="desk.WRONG",
        group="Desk",
        description="Declares two outputs, returns one.",
        inputs=("close",),
        outputs=(("a", "unitless"), ("b", "unitless")),
        lookback=lambda: 0,
    )(lambda close: close)
    with pytest.raises(CatalogueError, match=r"desk\.WRONG returned 1 outputs"):
        wrong.bind({}).compute({"close": np.ones(3)})


def test_plugins_load_by_module_and_attribute() -> None:
    loaded = load_plugins(["plugin_support:BROKEN"], entry_points=False)
    assert [(origin, entry.name) for origin, entry in loaded] == [
        ("plugin_support:BROKEN", "broken.RAISES"),
        ("plugin_support:BROKEN", "broken.SHORT"),
    ]


def test_the_example_plugin_is_found_through_its_entry_point() -> None:
    loaded = load_plugins()
    assert ("example (idc_example_plugin:ENTRIES)", "example.ZSCORE") in [(o, e.name) for o, e in loaded]
    assert ENTRY_POINT_GROUP == "idc.indicators"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_here:ENTRIES", "plugin no_such_module_here:ENTRIES: ModuleNotFoundError: No module named"),
        ("plugin_support:MISSING", "plugin plugin_support:MISSING: AttributeError"),
        ("plugin_support:NOT_AN_ENTRY", "plugin plugin_support:NOT_AN_ENTRY: int is not an Entry or entries"),
        (
            "plugin_support:TALIB_CLASH",
            "plugin plugin_support:TALIB_CLASH: talib.SMA: the namespace 'talib' is reserved",
        ),
        ("plugin_support", "plugin plugin_support: expected module:attribute"),
    ],
)
def test_a_bad_plugin_is_one_line_naming_it(spec: str, message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_plugins([spec], entry_points=False)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_module_that_raises_on_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exploding_plugin.py").write_text("raise RuntimeError('no licence\\nsecond line')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CatalogueError) as caught:
        load_plugins(["exploding_plugin:ENTRIES"], entry_points=False)
    assert str(caught.value) == "plugin exploding_plugin:ENTRIES: RuntimeError: no licence"
    sys.modules.pop("exploding_plugin", None)


def test_a_plugin_whose_defaults_fail_is_refused_at_start() -> None:
    with pytest.raises(CatalogueError) as caught:
        server_catalogue(("plugin_support:BAD_LOOKBACK",), entry_points=False)
    assert str(caught.value) == (
        "plugin plugin_support:BAD_LOOKBACK: broken.LOOKBACK: its defaults fail: ZeroDivisionError: "
        "integer division or modulo by zero"
    )
