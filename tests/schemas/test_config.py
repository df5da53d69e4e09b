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
