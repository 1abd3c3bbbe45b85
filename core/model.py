"""The fleet's vocabulary and rules, in plain Python (no database, no Streamlit).

Every rule is a function whose name says it; each raises a named error from `core.errors`
whose message names the object and the limit.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from core.errors import (
    AlreadyArchived,
    InvalidInput,
    InvalidPhoneNumber,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    NumberLimitReached,
    PermissionDenied,
    PortfolioNotConnected,
    WabaLimitReached,
)

MAX_WABAS_PER_WORKSPACE = 10
MAX_NUMBERS_PER_WABA = 20
MAX_NAME_LENGTH = 200
# Enumerated values (status, tier…) are stored in columns of this width.
MAX_CODE_LENGTH = 60


class Role(enum.IntEnum):
    """Who may do what: each role may do everything the roles below it may."""

    VIEWER = 1
    ANALYST = 2
    ADMIN = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            allowed = ", ".join(r.name.lower() for r in cls)
            raise InvalidInput(f"Unknown role '{value}' (expected one of: {allowed}).") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a service runs."""

    name: str
    role: Role
    # Set for a signed-in user, whose role every write reads again from the users table: the role they hold when
    # that table does not name them (from the [roles] mapping, else viewer). None: a local user's configured role.
    role_if_unlisted: Role | None = None

    @property
    def signed_in(self) -> bool:
        return self.role_if_unlisted is not None


def ensure_role_still_held(actor: Actor, current: Role) -> None:
    """A write goes ahead only while the acting user still holds the role it was allowed with."""
    if current < actor.role:
        raise PermissionDenied(
            f"User '{actor.name}' is now {current.label} (was {actor.role.label}): nothing was changed. "
            "Reload the page to continue with the new role."
        )


class GroupState(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class WabaState(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class QualityRating(enum.StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    NA = "NA"
    UNKNOWN = "UNKNOWN"


class MessagingLimitTier(enum.StrEnum):
    TIER_50 = "TIER_50"
    TIER_250 = "TIER_250"
    TIER_1K = "TIER_1K"
    TIER_2K = "TIER_2K"
    TIER_10K = "TIER_10K"
    TIER_100K = "TIER_100K"
    TIER_UNLIMITED = "TIER_UNLIMITED"
    TIER_NOT_SET = "TIER_NOT_SET"


class NumberStatus(enum.StrEnum):
    CONNECTED = "CONNECTED"
    PENDING = "PENDING"
    FLAGGED = "FLAGGED"
    RESTRICTED = "RESTRICTED"
    RATE_LIMITED = "RATE_LIMITED"
    DISCONNECTED = "DISCONNECTED"
    MIGRATED = "MIGRATED"
    BANNED = "BANNED"
    DELETED = "DELETED"
    UNVERIFIED = "UNVERIFIED"
    UNKNOWN = "UNKNOWN"


class NameStatus(enum.StrEnum):
    APPROVED = "APPROVED"
    AVAILABLE_WITHOUT_REVIEW = "AVAILABLE_WITHOUT_REVIEW"
    PENDING_REVIEW = "PENDING_REVIEW"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    NONE = "NONE"


class ThroughputLevel(enum.StrEnum):
    STANDARD = "STANDARD"
    HIGH = "HIGH"
    NOT_APPLICABLE = "NOT_APPLICABLE"


# A phone number's enumerated fields and the values Meta reports for each.
NUMBER_ENUMS: dict[str, type[enum.StrEnum]] = {
    "status": NumberStatus,
    "quality_rating": QualityRating,
    "messaging_limit_tier": MessagingLimitTier,
    "name_status": NameStatus,
    "throughput_level": ThroughputLevel,
}


class TemplateCategory(enum.StrEnum):
    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"


class TemplateStatus(enum.StrEnum):
    APPROVED = "APPROVED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    PAUSED = "PAUSED"
    DISABLED = "DISABLED"
    FLAGGED = "FLAGGED"
    REINSTATED = "REINSTATED"
    DELETED = "DELETED"
    ARCHIVED = "ARCHIVED"
    IN_APPEAL = "IN_APPEAL"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    LOCKED = "LOCKED"
    PENDING_DELETION = "PENDING_DELETION"


TIER_DAILY_LIMIT: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
# A number is at risk when its quality or its status is one of these; the weight says how urgent (2: act now).
AT_RISK_QUALITY_URGENCY = {"YELLOW": 1, "RED": 2}
AT_RISK_STATUS_URGENCY = {"FLAGGED": 1, "RESTRICTED": 2, "RATE_LIMITED": 1, "DISCONNECTED": 2, "BANNED": 2}
AT_RISK_QUALITY = frozenset(AT_RISK_QUALITY_URGENCY)
AT_RISK_STATUS = frozenset(AT_RISK_STATUS_URGENCY)
# Below this many daily conversations per sender, a portfolio's shared limit is called low.
LOW_LIMIT_PER_SENDER = 250


@dataclass(frozen=True)
class EnumValue:
    """A value reported for an enumerated field: kept as given, flagged when the enum does not know it."""

    value: str
    known: bool


def read_enum(field: str, raw: object, enum_type: type[enum.Enum]) -> EnumValue:
    """Meta adds values over time: an unknown one is kept verbatim and flagged, never rejected."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(f"Field '{field}' must be a non-empty text value, got {raw!r}.")
    value = raw.strip().upper()
    if len(value) > MAX_CODE_LENGTH or _CONTROL.search(value):
        raise InvalidInput(
            f"Field '{field}' is not a value Meta reports: {value[:40]!r} "
            f"(at most {MAX_CODE_LENGTH} characters, no control characters)."
        )
    known = value in enum_type.__members__
    return EnumValue(value=value, known=known)


def tier_for_daily_limit(limit: int) -> str:
    """Meta reports the portfolio limit as a number (-1 = unlimited); name it as a tier."""
    if limit < 0:
        return MessagingLimitTier.TIER_UNLIMITED.value
    for tier, value in TIER_DAILY_LIMIT.items():
        if value == limit:
            return tier
    return f"TIER_{limit}"


def daily_limit(tier: str | None) -> int | None:
    """The daily limit a tier stands for; None for unlimited or unknown."""
    return TIER_DAILY_LIMIT.get(tier or "")


def is_low_portfolio_limit(tier: str | None, sender_count: int) -> bool:
    """A portfolio's shared limit is low when it leaves fewer than LOW_LIMIT_PER_SENDER per sender."""
    limit = daily_limit(tier)
    if limit is None or sender_count == 0:
        return False
    return is_low_share(limit / sender_count)


def is_low_share(per_sender: float) -> bool:
    """Each sender's share of a portfolio's daily limit is low below LOW_LIMIT_PER_SENDER conversations."""
    return per_sender < LOW_LIMIT_PER_SENDER


def is_number_at_risk(quality_rating: str | None, status: str | None) -> bool:
    return (quality_rating or "") in AT_RISK_QUALITY or (status or "") in AT_RISK_STATUS


def risk_reasons(quality_rating: str | None, status: str | None) -> str:
    """Why a number is at risk, in words ('' when it is not at risk)."""
    reasons = []
    if (quality_rating or "") in AT_RISK_QUALITY:
        reasons.append(f"quality {quality_rating}")
    if (status or "") in AT_RISK_STATUS:
        reasons.append(f"status {status}")
    return ", ".join(reasons)


def at_risk_definition() -> str:
    """The at-risk rule in words: 'Quality YELLOW or RED, or status FLAGGED, … or BANNED'."""
    return f"Quality {either(AT_RISK_QUALITY_URGENCY)}, or status {either(AT_RISK_STATUS_URGENCY)}"


def either(values: Iterable[str]) -> str:
    """'A, B or C'."""
    *others, last = values
    return f"{', '.join(others)} or {last}" if others else last


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Characters that change how the text around them is shown: a name stored as 'abc\u202edcba' reads 'abcabcd'.
TEXT_DIRECTION_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Trimmed from both ends like spaces: zero-width space, joiners, word joiner, byte-order mark, soft hyphen.
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
# Letters that show as blank space (Hangul fillers, the blank Braille pattern).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_name(field: str, value: object, *, required: bool = True, max_length: int = MAX_NAME_LENGTH) -> str:
    """The one rule for a name typed by people (forms, CLI, CSV onboarding): NFC, trimmed of spaces and invisible
    characters; refused, naming the field, when it holds a control or text-direction character or half a character,
    shows nothing, puts a combining mark at the start of a word, or is too long."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"Field '{field}' must be text.")
    text = unicodedata.normalize("NFC", value).strip()
    if not text.isascii():
        text = _trimmed_of_invisible_edges(text)
    if not text and value.strip():
        raise InvalidInput(f"Field '{field}' shows nothing: it holds only invisible characters.")
    if required and not text:
        raise InvalidInput(f"Field '{field}' is required.")
    if len(text) > max_length:
        raise InvalidInput(f"Field '{field}' is too long ({len(text)} characters, at most {max_length}).")
    if text.isascii():
        problem = "contains control characters" if _CONTROL.search(text) else None
    else:
        problem = _unreadable(text)
    if problem:
        raise InvalidInput(f"Field '{field}' {problem}.")
    return text


def _trimmed_of_invisible_edges(text: str) -> str:
    """Spaces and zero-width characters off both ends, however they alternate ('\u200b\r\u200b0' → '0')."""
    while True:
        trimmed = text.strip().strip(_INVISIBLE_EDGES)
        if trimmed == text:
            return text
        text = trimmed


def _unreadable(text: str) -> str | None:
    """What makes a (non-ASCII) name unsafe to show as it is stored, if anything."""
    visible = False
    after_space = True
    for char in text:
        category = unicodedata.category(char)
        code = f"U+{ord(char):04X}"
        if category in ("Cc", "Zl", "Zp"):
            return f"contains control characters ({code})"
        if category == "Cs":
            return f"is not valid text: it holds half of a character ({code}, an undecodable byte or a lone surrogate)"
        if char in TEXT_DIRECTION_CONTROLS:
            return f"contains a text-direction control ({code}) that would show it differently from how it is stored"
        if category[0] == "M" and after_space:
            return f"puts a combining mark ({code}) at the start of a word, where it has no letter to go on"
        visible = visible or not (category in ("Cf", "Zs", "Mn", "Me") or char in _BLANK_LETTERS)
        after_space = category == "Zs"
    return None if visible else "shows nothing: it holds only invisible characters"


def clean_choice(field: str, value: object, choices: type[enum.Enum]) -> str:
    """A value typed by people for an enumerated field (a messaging-limit tier): one of the known names only."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if text not in choices.__members__:
        got = repr(value.strip()[:40]) if isinstance(value, str) and value.strip() else "nothing"
        raise InvalidInput(f"Field '{field}' must be one of {', '.join(choices.__members__)}; got {got}.")
    return text


_META_ID = re.compile(r"^[0-9]{1,32}$")


def clean_meta_id(field: str, value: object) -> str:
    """Meta object ids are strings of digits."""
    text = str(value).strip() if value is not None else ""
    if not _META_ID.match(text):
        raise InvalidInput(f"Field '{field}' must be a Meta id made of digits, got {text[:40]!r}.")
    return text


_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
        "unknown country code (type it with + and the country code, or choose a country)"
    ),
    phonenumbers.NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}
_POSSIBILITY_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong length for its country",
}
# '00' is the international call prefix of most of the world and starts no national number;
# '011' (North America) is only read as one where no other region's national format could mean it.
_NANP_IDD = "011"


def normalize_phone_number(raw: object, region: str | None = None, *, strict: bool = True) -> str:
    """Return the E.164 form of a phone number typed in any common format, or raise InvalidPhoneNumber.

    Accepts '+33 6 12 34 56 78', '0033612345678', '+33612345678', a national format with `region`
    ('06 12 34 56 78' with 'FR'), and Meta's digits-only webhook form ('15550783881').
    `strict` also requires the number to be valid in its country's numbering plan; numbers reported by
    Meta itself are read with strict=False, since Meta's own test numbers (+1 555 …) are outside the plan.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("Phone number is required.")
    text = _plain_phone_text(raw).strip()
    if len(text) > 40:
        raise InvalidPhoneNumber(f"Phone number '{text[:40]}…' is too long.")
    _refuse_what_is_not_dialled(text)
    region_code = region.strip().upper() if region else None
    if region_code and region_code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(
            f"Unknown country '{region}' for phone number '{text}' (expected a two-letter code such as FR or US)."
        )
    candidate = _with_plus_if_international(text, region_code)
    try:
        parsed = phonenumbers.parse(candidate, region_code)
    except phonenumbers.NumberParseException as error:
        reason = _PARSE_REASONS.get(error.error_type, str(error))
        raise InvalidPhoneNumber(f"Phone number '{text}' is invalid: {reason}.") from None
    parsed = _without_old_mexican_mobile_prefix(parsed)
    possibility = phonenumbers.is_possible_number_with_reason(parsed)
    if possibility not in (
        phonenumbers.ValidationResult.IS_POSSIBLE,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        reason = _POSSIBILITY_REASONS.get(possibility, "impossible number")
        raise InvalidPhoneNumber(f"Phone number '{text}' is impossible: {reason}.")
    if parsed.extension:
        raise InvalidPhoneNumber(
            f"Phone number '{text}' has an extension ({parsed.extension}); a WhatsApp number has none."
        )
    if strict and not phonenumbers.is_valid_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or f"+{parsed.country_code}"
        raise InvalidPhoneNumber(f"Phone number '{text}' is not a valid number in {where}.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_LETTER = re.compile(r"[^\W\d_]")
# What phonenumbers reads as an extension ('ext. 12', 'x12', '#12'): refused below with its own reason.
_EXTENSION = re.compile(r"(?i)(;ext=|\bext\.?|\bextension|\bx|#)\s*\d+\s*$")
_SIGNS = "-\u2212\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d\u00b1"


def _refuse_what_is_not_dialled(text: str) -> None:
    """Letters are not keypad digits here ('+33 6 AB CD…' is a typo, not 22 23), and only '+' may lead a number."""
    if not text.isprintable():
        code = next(f"U+{ord(ch):04X}" for ch in text if not ch.isprintable())
        raise InvalidPhoneNumber(f"Phone number holds a character that is not part of a number ({code}).")
    if text[0] in _SIGNS:
        raise InvalidPhoneNumber(
            f"Phone number '{text}' starts with '{text[0]}'; an international number starts with + (or 00)."
        )
    letters = _LETTER.findall(text)
    if letters and any(ch.isdigit() for ch in text) and not _EXTENSION.search(text):
        shown = ", ".join(dict.fromkeys(letters[:6]))
        raise InvalidPhoneNumber(
            f"Phone number '{text}' contains letters ({shown}); type its digits, not the letters of a phone keypad."
        )


def _plain_phone_text(text: str) -> str:
    """Every kind of space (no-break, narrow, thin…) as a plain space, and no invisible marks (text direction,
    zero-width space, byte order mark): numbers pasted from web pages and spreadsheets carry them."""
    if text.isascii():
        return text
    return "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) != "Cf")


def _without_old_mexican_mobile_prefix(parsed: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """Mexican mobiles were dialled +52 1 … until 2019, and WhatsApp ids still spell them so: the same number."""
    national = str(parsed.national_number)
    if parsed.country_code == 52 and len(national) == 11 and national.startswith("1"):
        return phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    return parsed


def _with_plus_if_international(text: str, region_code: str | None) -> str:
    if text.startswith("+"):
        return text
    digits = re.sub(r"[\s().\-/]", "", text)
    if digits.startswith("00") and len(digits) > 8:
        return "+" + digits[2:]
    north_american = region_code is None or phonenumbers.country_code_for_region(region_code) == 1
    if north_american and digits.startswith(_NANP_IDD) and len(digits) > 9:
        return "+" + digits[len(_NANP_IDD) :]
    if region_code is None and digits.isdigit():
        return "+" + digits
    return text


@functools.lru_cache(maxsize=100_000)
def format_international(e164: str) -> str:
    """'+33612345678' → '+33 6 12 34 56 78'; falls back to the E.164 text. Memoised: parsing is the slow part."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def require_role(actor: Actor, needed: Role, action: str) -> None:
    if actor.role < needed:
        raise PermissionDenied(
            f"User '{actor.name}' ({actor.role.label}) may not {action}: it needs the {needed.label} role."
        )


# Every download and export (tables as CSV/JSON, the ecosystem diagram as DOT/SVG, the CLI's exports) needs this.
EXPORT_ROLE = Role.ANALYST


def may_export(actor: Actor) -> bool:
    """Analysts and admins take data away in files; viewers read it on screen only."""
    return actor.role >= EXPORT_ROLE


def require_export_right(actor: Actor, what: str) -> None:
    require_role(actor, EXPORT_ROLE, f"export {what}")


def wabas_fit(active_waba_count: int, added: int = 1) -> bool:
    """Whether a workspace with `active_waba_count` active WABAs has room for `added` more."""
    return active_waba_count + added <= MAX_WABAS_PER_WORKSPACE


def numbers_fit(active_number_count: int, added: int = 1) -> bool:
    """Whether a WABA with `active_number_count` active numbers has room for `added` more."""
    return active_number_count + added <= MAX_NUMBERS_PER_WABA


def workspace_full_message(workspace: str, active_waba_count: int) -> str:
    return (
        f"Workspace '{workspace}' already has {active_waba_count} WhatsApp Business Accounts "
        f"(the maximum is {MAX_WABAS_PER_WORKSPACE})."
    )


def ensure_can_add_waba(workspace: str, active_waba_count: int) -> None:
    if not wabas_fit(active_waba_count):
        raise WabaLimitReached(workspace_full_message(workspace, active_waba_count))


def ensure_portfolio_connected(workspace: str, portfolio: str, connected: bool) -> None:
    if not connected:
        raise PortfolioNotConnected(
            f"Business portfolio '{portfolio}' is not connected to workspace '{workspace}'; connect it first."
        )


def ensure_can_add_number(waba: str, active_number_count: int) -> None:
    if not numbers_fit(active_number_count):
        raise NumberLimitReached(
            f"WhatsApp Business Account '{waba}' already has {active_number_count} sender numbers "
            f"(the maximum is {MAX_NUMBERS_PER_WABA}); archive a subscription group to free a slot."
        )


def ensure_number_is_new(e164: str, existing_group: str | None, existing_group_active: bool) -> None:
    """A number typed into 'add' must be unknown to the whole system."""
    if existing_group is None:
        return
    if existing_group_active:
        raise NumberAlreadyExists(
            f"Phone number {format_international(e164)} is already in use by subscription group '{existing_group}'."
        )
    raise NumberAlreadyExists(
        f"Phone number {format_international(e164)} already exists (its subscription group '{existing_group}' is "
        "archived); re-attach it to a new group instead of adding it again."
    )


def ensure_number_unbound(e164: str, active_group: str | None) -> None:
    """A number is in at most one active subscription group."""
    if active_group is not None:
        raise NumberAlreadyInActiveGroup(
            f"Phone number {format_international(e164)} is already bound to active subscription group "
            f"'{active_group}'; archive it first."
        )


def ensure_not_archived(kind: str, name: str, archived: bool) -> None:
    if archived:
        raise AlreadyArchived(f"{kind} '{name}' is already archived.")
