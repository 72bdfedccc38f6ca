"""LED call boards and counter displays: one pure protocol module per vendor (pingan, imm9003, imm9013, textnet),
the layout rules (layout), the driver over a byte link (driver), the options (options), a simulator and its
picture (simulator, render). Nothing here imports hall_bus."""
