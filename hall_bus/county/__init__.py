"""The county hub: every site's events in one PostgreSQL database, and the server that keeps it."""
