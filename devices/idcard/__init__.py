"""Resident ID card readers speaking the SAM serial protocol (AA AA AA 96 69 frames)."""
