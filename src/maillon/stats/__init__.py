"""Count: comparable statistics with statistical disclosure control (see docs/stats.md)."""
