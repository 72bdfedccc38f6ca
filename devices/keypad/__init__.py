"""Counter call keypads (呼叫器) on RS-485: protocols (qsystem, ff68), the key map, the line owner, a simulator."""
