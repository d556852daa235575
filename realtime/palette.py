"""The colours every picture of the product shares (Okabe & Ito 2008, colour-blind safe).

Left and right legs are told apart by hue on the blue-orange axis, which deuteranopes,
protanopes and tritanopes all keep; every such colour is backed by a second cue (line
width for the far leg on the display, marker shape in the report's plots).
"""

from __future__ import annotations

# Okabe-Ito, as hex for matplotlib (the report) ...
BLUE, VERMILLION, ORANGE = "#0072B2", "#D55E00", "#E69F00"
SKY, GREEN, PURPLE, GREY = "#56B4E9", "#009E73", "#CC79A7", "#999999"

# ... and the legs' colours over a video (the lighter pair of the same two hues stands
# out on a dark picture): the person's own left is sky blue, the right orange
LEG_RGB: dict[str, tuple[int, int, int]] = {"L": (86, 180, 233), "R": (230, 159, 0)}
LEG_HEX: dict[str, str] = {"L": SKY, "R": ORANGE}
