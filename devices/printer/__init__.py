"""ESC/POS ticket printers (python-escpos): ticket layout, encoding, real-time status, preview, simulator."""
