"""schemas/config.py: one source of defaults, profile presets, strict portfolio files."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import EXAMPLES as EXAMPLES_DIR

from schemas.config import ConfigError, Params, load_portfolios, params_for

EXAMPLES = EXAMPLES_DIR / "portfolios.toml"


def test_spec_defaults_and_profile_presets() -> None:
    p = Params()
    assert (p.signals.rsi_window, p.ladder.short_delta, p.ladder.wing_width) == (30, 0.16, 50.0)
    assert p.ladder.target_dtes == (28, 35, 42, 49) and p.pricing.atm_ratio == 0.85
    steward, promoter = params_for("steward"), params_for("promoter")
    # SPEC §7 step 2 revised: the cap tightens when WACC > 7%
    assert (steward.sizing.cap_base, steward.sizing.cap_when_wacc_high) == (0.06, 0.04)
    assert (promoter.sizing.cap_base, promoter.sizing.cap_when_wacc_high) == (0.10, 0.06)
    assert (steward.risk.hurdle_bps, promoter.risk.hurdle_bps) == (400.0, 600.0)
    assert (steward.sizing.target_vol, promoter.sizing.target_vol) == (0.005, 0.01)
    assert (steward.hedge.macro_scale, promoter.hedge.macro_scale) == (0.25, 0.15)
    assert promoter.sizing.scenarios["cpi_shock"].rate_shift == 0.005


def test_the_sample_file_loads_and_overrides_merge_over_the_profile() -> None:
    pf = load_portfolios(EXAMPLES)
    assert [p.portfolio_id for p in pf.portfolios] == ["steward_1m", "promoter_1m"]
    promoter = pf.portfolios[1].params
    assert promoter.ladder.wing_width == 50.0 and promoter.sizing.cap_base == 0.10
    merged = params_for("promoter", {"sizing": {"cap_base": 0.05}})
    assert merged.sizing.cap_base == 0.05 and merged.sizing.cap_when_wacc_high == 0.06


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\nequty = 5', "equty"),
        ('[[portfolios]]\nportfolio_id = "a"\nequity = -1', "equity"),
        (
            '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
            "[portfolios.overrides.ladder]\nwing_widht = 25",
            "wing_widht",
        ),
        (
            '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
            "[portfolios.overrides.ladder]\nn_tranches = 7",
            "n_tranches",
        ),
        (
            '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
            "[portfolios.overrides.signals]\nrsi_oversold = 45",
            "run-wide",
        ),
        (
            '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
            '[[portfolios]]\nportfolio_id = "a"\nequity = 2e6',
            "duplicate portfolio_id: a",
        ),
        ("[[portfolios]\nportfolio_id = 1", "not valid TOML"),
    ],
)
def test_bad_files_fail_naming_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_portfolios(path)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_portfolios(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("group", "key", "value"),
    [
        ("ladder", "wing_width", -50),
        ("ladder", "short_delta", 0.7),
        ("sizing", "cap_base", 0),
        ("sizing", "max_drawdown", 1.5),
        ("hedge", "moneyness", 0),
        ("pricing", "div_yield", -0.01),
        ("risk", "hurdle_bps", -1),
    ],
)
def test_physical_bounds_refuse_nonsense_naming_the_key(
    tmp_path: Path, group: str, key: str, value: float
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        f'[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
        f"[portfolios.overrides.{group}]\n{key} = {value}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_portfolios(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: portfolios[0] (a).overrides.{group}.{key}: ")
    assert f"(got {value})" in lines[0]


def test_a_scenario_cannot_lose_more_than_the_whole_index(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
        "[portfolios.overrides.sizing.scenarios.crash]\nspx_return = -1.5\nvix_mult = 3.0\n"
    )
    with pytest.raises(ConfigError, match=r"overrides\.sizing\.scenarios\.crash\.spx_return"):
        load_portfolios(path)


def test_every_problem_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[[portfolios]]\nportfolio_id = "a"\nequity = -1\nequty = 5\n'
        '[[portfolios]]\nportfolio_id = "b"\nequity = 1e6\n'
        "[portfolios.overrides.ladder]\nwing_width = -50\n"
    )
    with pytest.raises(ConfigError) as err:
        load_portfolios(path)
    assert str(err.value).splitlines() == [
        f"{path}: portfolios[0] (a).equity: Input should be greater than 0 (got -1)",
        f"{path}: portfolios[0] (a).equty: unknown key",
        f"{path}: portfolios[1] (b).overrides.ladder.wing_width: "
        "Input should be greater than 0 (got -50)",
    ]


def test_a_non_utf8_file_names_the_byte_and_its_offset(tmp_path: Path) -> None:
    body = '[[portfolios]]\nportfolio_id = "caf\xe9"\nequity = 1e6\n'.encode("latin-1")
    path = tmp_path / "x.toml"
    path.write_bytes(body)
    with pytest.raises(ConfigError) as err:
        load_portfolios(path)
    offset = body.index(b"\xe9")
    assert str(err.value) == f"{path}: not UTF-8 (byte 0xe9 at offset {offset})"


def test_the_method_table_sets_the_run_wide_parameters(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n'
        "[method.signals]\nrsi_window = 14\n[method.risk]\nbeta_window = 126\n"
        "[method.release_lags]\ncpi = 15\n"
    )
    run = load_portfolios(path).run_params
    assert (run.signals.rsi_window, run.risk.beta_window, run.release_lags.cpi) == (14, 126, 15)
    # everything not set keeps the defaults, and a file without [method] runs on Params()
    assert run.signals.rsi_overbought == 70.0 and run.risk.mrp == Params().risk.mrp
    assert run.ladder == Params().ladder
    assert load_portfolios(EXAMPLES).run_params == Params()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[method.ladder]\nwing_width = 25", "method.ladder: unknown key"),
        ("[method.risk]\nmrp = 0.05", "method.risk.mrp: unknown key"),
        ("[method.risk]\nbeta_window = 5", "method.risk.beta_window: Input should be greater"),
        ("[method.signals]\nrsi_overbought = 140", "method.signals.rsi_overbought"),
    ],
)
def test_the_method_table_is_validated_like_the_rest(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[[portfolios]]\nportfolio_id = "a"\nequity = 1e6\n{table}\n')
    with pytest.raises(ConfigError, match=message):
        load_portfolios(path)


def test_run_wide_risk_has_the_risk_default() -> None:
    from schemas.config import RiskParams, RunWideRisk

    assert RunWideRisk().beta_window == RiskParams().beta_window
