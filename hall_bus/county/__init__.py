"""The county: many sites' ledgers in one county ledger (PostgreSQL) kept by the hub, cases handed between sites,
the county's views."""
