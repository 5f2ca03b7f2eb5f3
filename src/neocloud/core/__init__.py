"""The pure core: catalog, fleet, ledger and contracts. No I/O, no clock, no frameworks."""
