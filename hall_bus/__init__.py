"""Hall server side: configuration, queue engine, ledger, bus protocol and node agents."""
