"""Kivy apps (kiosk, greeter, counter panel, hall display). Only this package imports Kivy."""
