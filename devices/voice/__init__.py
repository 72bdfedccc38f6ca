"""The voice announcer: calls spoken from segments (recorded, or generated once with espeak-ng), joined into one
buffer per call and played in order by one worker thread.

Kept empty of imports so `devices.registry` (via options.py) loads without numpy; the driver lives in
`announcer.py`, the pure reading rules in `numerals.py`.
"""
