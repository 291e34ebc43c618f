"""Identity: accounts, the people behind them, logging in and sessions."""
