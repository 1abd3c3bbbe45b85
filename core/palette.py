"""The one colour scheme of the app: quality ratings, number statuses and portfolio headroom.

Built on the Okabe-Ito palette, which stays distinguishable with the common colour-vision deficiencies.
A colour never carries meaning alone: every chart and diagram pairs it with its text label, and bars also
get a fill pattern, so the information survives greyscale printing and any kind of colour blindness.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core import model

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#999999"
LIGHT_GREY = "#C8C8C8"
# A value Meta reports that this version does not know yet: visible, never mistaken for a known one.
OTHER_COLOR = OKABE_ITO["reddish_purple"]

QUALITY_ORDER: tuple[str, ...] = tuple(model.QualityRating)
QUALITY_COLORS: dict[str, str] = {
    "GREEN": OKABE_ITO["bluish_green"],
    "YELLOW": OKABE_ITO["orange"],
    "RED": OKABE_ITO["vermillion"],
    "NA": GREY,
    "UNKNOWN": LIGHT_GREY,
}
QUALITY_MEANINGS: dict[str, str] = {
    "GREEN": "high quality",
    "YELLOW": "medium quality",
    "RED": "low quality",
    "NA": "not rated yet",
    "UNKNOWN": "unknown",
}
# Fill patterns for bars, so a segment is told apart without its colour (Plotly pattern shapes).
QUALITY_PATTERNS: dict[str, str] = {"GREEN": "", "YELLOW": "/", "RED": "x", "NA": ".", "UNKNOWN": "."}

STATUS_COLORS: dict[str, str] = {
    "CONNECTED": OKABE_ITO["bluish_green"],
    "PENDING": OKABE_ITO["sky_blue"],
    "UNVERIFIED": OKABE_ITO["sky_blue"],
    "MIGRATED": OKABE_ITO["sky_blue"],
    "FLAGGED": OKABE_ITO["orange"],
    "RATE_LIMITED": OKABE_ITO["orange"],
    "RESTRICTED": OKABE_ITO["vermillion"],
    "DISCONNECTED": OKABE_ITO["vermillion"],
    "BANNED": OKABE_ITO["vermillion"],
    "DELETED": GREY,
    "UNKNOWN": LIGHT_GREY,
}
AT_RISK_MARK = "⚠"

# Portfolio headroom: the shared daily limit divided among the portfolio's active senders.
HEADROOM_COLORS: dict[str, str] = {
    "low": OKABE_ITO["vermillion"],
    "ok": OKABE_ITO["bluish_green"],
    "unlimited": OKABE_ITO["sky_blue"],
    "limit not set": GREY,
}
HEADROOM_PATTERNS: dict[str, str] = {"low": "x", "ok": "", "unlimited": "/", "limit not set": "."}

# Counts on a heat map: one hue from white to Okabe-Ito blue reads the same for every viewer.
COUNT_SCALE: list[list[float | str]] = [[0.0, "#F4F8FB"], [1.0, OKABE_ITO["blue"]]]

# Lines that stand for individual numbers: distinct colours *and* marker symbols.
SERIES_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["black"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    "#7F7F7F",
)
SERIES_SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "cross",
    "x",
    "star",
    "hexagon",
)


def quality_color(quality: str | None) -> str:
    return QUALITY_COLORS.get(quality or "UNKNOWN", OTHER_COLOR)


def quality_label(quality: str | None) -> str:
    """'RED (low quality)'; a value this version does not know is shown as Meta sent it."""
    value = quality or "UNKNOWN"
    meaning = QUALITY_MEANINGS.get(value)
    return f"{value} ({meaning})" if meaning else f"{value} (new value from Meta)"


def status_color(status: str | None) -> str:
    return STATUS_COLORS.get(status or "UNKNOWN", OTHER_COLOR)


def status_mark(status: str | None) -> str:
    """A mark that flags an at-risk status in text (diagram nodes, labels)."""
    return AT_RISK_MARK if (status or "") in model.AT_RISK_STATUS else ""


def text_color(background: str) -> str:
    """Black or white, whichever contrasts more with the background (WCAG relative luminance)."""
    red, green, blue = (int(background.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    contrast_with_black = (luminance + 0.05) / 0.05
    contrast_with_white = 1.05 / (luminance + 0.05)
    return "#000000" if contrast_with_black >= contrast_with_white else "#FFFFFF"


def cell_style(kind: str, value: str | None) -> str:
    """CSS for a table cell showing a quality rating or a status (pandas Styler), its text kept as the label."""
    background = quality_color(value) if kind == "quality" else status_color(value)
    return f"background-color: {background}; color: {text_color(background)}"


def ordered_values(values: Iterable[str | None], known_order: Sequence[str]) -> list[str]:
    """The known values in their natural order, then any value Meta added that this version does not know."""
    present = {value if value else "UNKNOWN" for value in values}
    return [v for v in known_order if v in present] + sorted(present - set(known_order))
