"""Device drivers: each kind has a pure protocol module, transports and a simulator. Never imports hall_bus."""
