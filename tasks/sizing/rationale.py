"""The rationale of SPEC §7 step 7: the rules that fired, in words, read from the decisions.

Every line is built from a decision object the steps returned (nothing is recomputed here),
in the order of the steps: signals and ladder, open book, hedge beta, scenarios, the cap
regime, the hurdle and events, each tranche left empty, the hedge, then the limits.
"""

from __future__ import annotations

import numpy as np

from schemas.config import Params
from tasks.sizing.hedge import HedgeBeta, HedgeDecision, HedgeSpec
from tasks.sizing.limits import QUICK_RATIO, LimitDecision
from tasks.sizing.passes import Decisions, Settlement
from tasks.sizing.stress import CRASH
from tasks.structures import widen_short_delta

#: how a limit of steps 5–6 is named in words
LIMIT_NAMES = {QUICK_RATIO: "the quick-ratio rule", CRASH: "the crash limit"}


def ladder_lines(d: Decisions) -> list[str]:
    """Step 1: the risk-off and macro rules applied to the ladder, and the chain used."""
    sz, hp, pr = d.params.sizing, d.params.hedge, d.params.pricing
    condors = [t.condor for t in d.market.tranches]
    lines = []
    if d.rules.risk_off:
        base_delta = d.params.ladder.short_delta
        why = ", ".join(d.rules.risk_rules) or "risk_state"
        lines.append(
            f"risk_state risk_off ({why}): short delta {base_delta:.2f} → "
            f"{widen_short_delta(base_delta, sz.risk_off_delta_mult):.3f}; "
            f"new contracts × {sz.risk_off_mult:g}"
        )
    if d.rules.macro:
        lines.append(
            f"usd_strength strong and ppi_surprise hot: short strikes tightened by "
            f"{sz.macro_tighten_delta:g} delta keeping net delta within ±{sz.net_delta_tolerance:g}"
            f" where a candidate does (largest |net delta| now "
            f"{max(abs(c.net_delta) for c in condors):.3f}); hedge × {1 + hp.macro_scale:g}"
        )
    chain = d.market.chain
    if chain is not None:
        n_chain = sum(c.pricing_source == "chain" for c in condors)
        lines.append(
            f"{n_chain} of {len(condors)} tranches priced from the {chain.as_of.date()} chain "
            f"(listed expiry within ±{pr.chain_match_days} days), the others modelled"
        )
    return lines


def book_lines(d: Decisions) -> list[str]:
    """The open book's notes and the ladder slots it already holds."""
    lines = list(d.book.notes)
    for pid, taken in zip(d.new.ids, d.new.slot_taken, strict=True):
        if taken:
            lines.append(f"{pid}: slot held by an existing condor position: no new contracts")
    return lines


def hedge_beta_lines(beta: HedgeBeta) -> list[str]:
    """Where β_F came from when the rolling estimate was missing."""
    if beta.source == "scenarios":
        return [
            f"hedge tenor β_F unknown: using the scenario VIX-on-SPX beta {beta.beta_F:.2f} instead"
        ]
    if beta.source == "none":
        return [
            "hedge tenor β_F unknown: using the scenario VIX-on-SPX beta nan instead",
            "no β_F estimate at all: hedge dollar beta taken as 0 (no beta hedge)",
        ]
    return []


def passes_lines(s: Settlement) -> list[str]:
    """The fixed point, when it took more than one pass."""
    if len(s.passes) == 1:
        return []
    how = "settled" if s.converged else "no fixed point, the most conservative pass kept"
    return [f"cap/hurdle regime depends on the post-hedge β: {len(s.passes)} passes, {how}"]


def capital_lines(d: Decisions) -> list[str]:
    """Steps 2 and 4: the cap regime, the WACC, the hurdle and the FOMC rule."""
    sz, cap, p = d.params.sizing, d.capital, d.kept
    w, pr = p.wacc, p.proposal
    lines = [
        f"WACC {w.wacc:.2%} {'>' if pr.regime[0] else '≤'} {sz.wacc_high:.1%}: "
        f"per-tranche cap {pr.cap:.0%} of equity",
        w.describe(),
    ]
    if np.isfinite(cap.irr):
        cmp = "<" if pr.regime[1] else "≥"
        # the hurdle reads the IRR known before today's orders: say which close it is
        through = f" (to {cap.irr_through:%Y-%m-%d})" if cap.irr_through is not None else ""
        lines.append(
            f"IRR {cap.irr:.1%}{through} vs WACC {w.wacc:.2%}: spread {p.spread:.0f} bp {cmp} hurdle "
            f"{cap.hurdle_bps:.0f} bp"
            + (f": new contracts × {sz.hurdle_mult:g}" if pr.regime[1] else "")
        )
    else:
        why = cap.irr_note or "no IRR given"
        lines.append(
            f"IRR unknown ({why}): treated as below the {cap.hurdle_bps:.0f} bp hurdle: "
            f"new contracts × {sz.hurdle_mult:g}"
        )
    if d.rules.fomc_event:
        lines.append(
            f"FOMC decision in {d.rules.fomc_sessions:.0f} sessions: new contracts × {sz.fomc_mult:g}"
        )
    return lines


def _limit_words(limits: tuple[str, ...]) -> str:
    return " and ".join(LIMIT_NAMES[r] for r in limits)


def empty_tranche_lines(d: Decisions, equity: float) -> list[str]:
    """Each new tranche left at 0 contracts, with the step that emptied it."""
    p, new, q = d.kept, d.new, d.weights.q
    pr, limits = p.proposal, p.limits
    lines = []
    for i, pid in enumerate(new.ids):
        if limits.contracts[i] != 0 or new.slot_taken[i]:
            continue
        if pr.n_cap[i] == 0:
            why = f"max loss ${new.max_loss[i]:,.0f} above the cap ${pr.cap * equity:,.0f}"
        elif q[i] < 1:
            why = f"risk-inverse weight {q[i]:.2f} below one contract"
        elif pr.proposed[i] == 0:
            why = f"{pr.pre_mult[i]:.2f} × multiplier {pr.multiplier:g} below one contract"
        else:
            why = f"scaled away by {_limit_words(limits.binding)}"
        lines.append(f"{pid}: 0 contracts ({why})")
    return lines


def hedge_line(hd: HedgeDecision, spec: HedgeSpec) -> str:
    """Step 5: β before and after, the unit counts and the cap that bound, if any."""
    text = (
        f"ALVH {spec.unit.kind} {spec.position_id}: β {hd.beta_before:.2f} → {hd.beta_after:.2f}; "
        f"h_β {hd.h_beta:.1f}, h_tail {hd.h_tail:.1f} → {hd.units} units at "
        f"${spec.premium_usd:,.0f} (|β_F| {abs(spec.beta.beta_F):.2f})"
    )
    if hd.capped:
        binding = "β band low" if hd.binding_cap == "beta_band" else "monthly premium budget"
        text += f"; capped by the {binding}"
    return text


def limit_lines(limits: LimitDecision, equity: float, params: Params) -> list[str]:
    """Step 6: the crash limit and the quick ratio, naming the limit(s) that cut new condors."""
    sz = params.sizing
    k, lines = limits.kept, []
    cut, kept_n = int(limits.proposed.sum()), int(limits.contracts.sum())
    if limits.crash_breach:
        lines.append(
            f"crash loss ${-float(k.stress_total[CRASH]):,.0f} exceeds max drawdown "
            f"${sz.max_drawdown * equity:,.0f} even with no new condors (the existing book and "
            "holdings): no new condors, hedge capped"
        )
    elif CRASH in limits.binding:
        lines.append(
            f"crash limit: new condors cut {cut} → {kept_n} "
            f"contracts — a larger ladder's β leaves too little room under the β band for "
            f"the tail hedge, and its crash loss would exceed max drawdown "
            f"${sz.max_drawdown * equity:,.0f} (now ${-float(k.stress_total[CRASH]):,.0f})"
        )
    if not limits.feasible:
        lines.append(
            f"book infeasible: quick ratio {k.quick_ratio:.2f} < {sz.quick_ratio_min:g} even "
            "with no new condors: 0 new contracts"
        )
    elif QUICK_RATIO in limits.binding:
        lines.append(
            f"new condors scaled {cut} → {kept_n} contracts to keep "
            f"the quick ratio ≥ {sz.quick_ratio_min:g} (now {k.quick_ratio:.2f})"
        )
    else:
        lines.append(f"quick ratio {k.quick_ratio:.2f} ≥ {sz.quick_ratio_min:g}")
    return lines


def binding_line(d: Decisions) -> str:
    """The limit that set today's new condor contracts, in words (SPEC §7 step 7: first).

    Checked from the last step back, because a later step only binds by cutting what the
    earlier ones allowed: no free slot → the liquidity and crash limits of step 6 → the
    step-4 multipliers → the step-2 cap against the step-3 risk-inverse weight.
    """
    p, new, q = d.kept, d.new, d.weights.q
    pr, limits = p.proposal, p.limits
    free = ~np.asarray(new.slot_taken, dtype=bool)
    n = int(limits.contracts.sum())
    if not free.any():
        return "binding: no free ladder slot (the book holds every tranche): no new condors"
    if limits.crash_breach:
        return "binding: the crash limit (the existing book alone exceeds max drawdown): no new condors"
    if not limits.feasible:
        return "binding: the quick-ratio rule (infeasible even with no new condors)"
    if limits.binding:
        return f"binding: {_limit_words(limits.binding)} ({int(limits.proposed.sum())} → {n} new contracts)"
    if not d.weights.sized:
        return "binding: too few joint SPX/VIX scenarios to size (0 new contracts)"
    if pr.fired:
        names = " × ".join(pr.fired)
        return f"binding: the step-4 multipliers ({names} = × {pr.multiplier:g}): {n} new contracts"
    capped = bool((pr.n_cap[free] < q[free]).any())
    if capped:
        return f"binding: the per-tranche cap {pr.cap:.0%} of equity: {n} new contracts"
    return f"binding: the risk-inverse volatility target: {n} new contracts"


def explain(d: Decisions) -> list[str]:
    """The whole rationale: the binding limit first, then step order (SPEC §7 step 7)."""
    E, p = d.capital.equity, d.kept
    lines = [binding_line(d), *d.rules.notes]
    if d.market.chain_note:
        lines.append(d.market.chain_note)
    lines += ladder_lines(d) + book_lines(d) + hedge_beta_lines(d.hedge.beta)
    if CRASH not in d.params.sizing.scenarios:
        lines.append("no 'crash' scenario configured: no tail hedge")
    if not d.weights.sized:
        lines.append(
            f"only {d.weights.n_scenarios} joint SPX/VIX scenarios: no risk-inverse "
            "sizing (0 contracts)"
        )
    lines += passes_lines(d.settlement) + capital_lines(d) + empty_tranche_lines(d, E)
    lines.append(hedge_line(p.limits.kept.hedge, d.hedge))
    return lines + limit_lines(p.limits, E, d.params)
