"""SPEC §11: the backtest of the sizing policy — the §10 book loop over history
(:mod:`.run`) and its tearsheet (:mod:`.metrics`)."""
