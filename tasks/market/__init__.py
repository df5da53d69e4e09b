"""Market data and models: the session calendar, expiries, the volatility surface, option pricing, chains and the market frame."""
