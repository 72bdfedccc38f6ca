"""The citizen's phone page (手机页): book, follow the queue and the case, rate — a hall bus node (role web)."""
