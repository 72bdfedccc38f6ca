"""好差评 evaluation pads (评价器): options only; they are driven by the keypad line they share (devices/keypad)."""
