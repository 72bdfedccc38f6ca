"""上门办 (home visits): the paper a helper carries when the hall goes to a visitor who cannot come to it.

The queue engine keeps a home visit as a booked ticket of the home_visit group; what the helper needs on the
road (the address, who goes along, what to bring, when to leave) is planned here, one day and one helper at a
time. The planning (route.py) is pure so it can be tested and reused by a screen; the PDF (route_pdf.py) only
draws what the plan says, so a rule about conflicts or times is never decided while rendering.
"""
