"""Economics: prices, hashprice, the worth of a kWh mined, pool trackers, the money ledger (docs/economics.md)."""
