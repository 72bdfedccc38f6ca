"""The county: many sites' ledgers in one county ledger (PostgreSQL), cases handed between sites, the county's views."""
