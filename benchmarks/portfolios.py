"""Generate N realistic portfolios (a TOML file for `condorcap size-many`)."""

from __future__ import annotations

import sys

import numpy as np


def generate(n: int, seed: int = 7) -> str:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        profile = "steward" if i % 2 == 0 else "promoter"
        equity = float(np.round(rng.uniform(2e5, 5e6), -3))
        cash = equity * rng.uniform(0.1, 0.4)
        tbills = equity * rng.uniform(0.1, 0.5)
        index_fund = equity * rng.uniform(0.0, 0.6)
        out.append(
            "\n".join(
                [
                    "[[portfolios]]",
                    f'portfolio_id = "gen_{i:04d}"',
                    f'profile = "{profile}"',
                    f"equity = {equity:.2f}",
                    f"cash = {cash:.2f}",
                    f"tbills = {tbills:.2f}",
                    f"idle_collateral = {equity * rng.uniform(0, 0.2):.2f}",
                    f"margin_debt = {equity * rng.uniform(0, 0.2):.2f}",
                    f"box_debt = {equity * rng.uniform(0, 0.2):.2f}",
                    "holdings = [",
                    f'  {{ name = "index fund", value = {index_fund:.2f}, beta = 1.0 }},',
                    f'  {{ name = "sleeve", value = {equity * rng.uniform(0, 0.2):.2f}, '
                    f"beta = {rng.uniform(0.2, 1.4):.2f} }},",
                    "]",
                    "",
                ]
            )
        )
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
