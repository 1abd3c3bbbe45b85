"""The countries a phone number can be typed for in national format, named in English."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers

# phonenumbers' geocoder has no English name for these few regions.
_REGION_NAMES_MISSING = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}
# How urgent an at-risk value is, to put the worst numbers at the top of the list (0: not at risk).
_URGENCY = {"RED": 2, "YELLOW": 1, "BANNED": 2, "DISCONNECTED": 2, "RESTRICTED": 2, "FLAGGED": 1, "RATE_LIMITED": 1}


@cache
def phone_regions() -> tuple[tuple[str, str], ...]:
    """Every region a national-format number can be typed for: (region code, 'France (+33)'), by name."""
    regions = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = _REGION_NAMES_MISSING.get(code) or _english_region_name(code)
        regions.append((code, f"{name} (+{phonenumbers.country_code_for_region(code)})"))
    return tuple(sorted(regions, key=lambda region: region[1]))


def _english_region_name(code: str) -> str:
    names = _region_names().get(code, {})
    name = names.get("en", "")
    return names.get(name[1:], "") if name.startswith("*") else name  # "*aa": the name given for language aa


@cache
def _region_names() -> dict[str, dict[str, str]]:
    """phonenumbers' country names (its geodata/locale.py), read on their own: importing them through
    `phonenumbers.geocoder` first loads every place name of every dialling prefix, far larger and slower."""
    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LOCALE_DATA)
