"""Reading an import file safely: size limit before anything else, UTF-8, JSON or JSON Lines with line numbers,
and the checks every imported text and enumerated value goes through."""

from __future__ import annotations

import codecs
import enum
import functools
import json
import os
import re
import stat
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

import pydantic_core

from core import model
from core.errors import InvalidInput
from core.imports.report import Notice, Problem

# Meta's first WhatsApp Business webhooks date from 2018; a time outside this window is not a Unix time in seconds.
EARLIEST_EVENT = datetime(2015, 1, 1, tzinfo=UTC)
LATEST_EVENT = datetime(2100, 1, 1, tzinfo=UTC)
_FORMULA_START = ("=", "+", "-", "@")
_MARKUP = re.compile(r"[<>]")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def check_size(size: int, limit: int, source: str) -> None:
    """Refuse a file over the limit before reading it (FLEET_MAX_IMPORT_BYTES)."""
    if size > limit:
        raise InvalidInput(
            f"File '{source}' is {human_size(size)} ({size:,} bytes); imports accept at most "
            f"{human_size(limit)} ({limit:,} bytes). Split the file, or raise FLEET_MAX_IMPORT_BYTES."
        )


def read_import_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a file, pipe, device or standard input ('-'), read no further than one byte past the limit: a
    regular file over it is refused by its size, anything else (a FIFO, /dev/zero) by what it gave."""
    if os.fspath(path) == "-":
        return read_at_most(sys.stdin.buffer, limit, "standard input")
    try:
        with open(path, "rb") as stream:
            if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                check_size(os.fstat(stream.fileno()).st_size, limit, os.path.basename(path))
            return read_at_most(stream, limit, os.fspath(path))
    except OSError as error:
        raise InvalidInput(f"Cannot read '{os.fspath(path)}': {error.strerror or error}.") from None


def read_at_most(stream: BinaryIO, limit: int, source: str) -> bytes:
    """What a stream holds (file, pipe, device, upload), refused once it gives more than `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(limit + 1 - size, 1 << 20))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    raise InvalidInput(
        f"'{source}' holds more than {human_size(limit)} ({limit:,} bytes), the most an import accepts. "
        "Split the file, or raise FLEET_MAX_IMPORT_BYTES."
    )


_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> tuple[str, list[Problem]]:
    """UTF-8 text (a leading byte-order mark is dropped) or UTF-16 text that starts with its byte-order mark (as
    PowerShell and Excel's "Unicode text" write it); otherwise where the first byte that is not UTF-8 is."""
    if data.startswith(_UTF16_MARKS):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            return "", [Problem("file", "starts as UTF-16 text but is not; save the file as UTF-8.")]
    if b"\x00" in data[:200]:  # NUL bytes between the characters: UTF-16 without its mark
        return "", [Problem("file", "looks like UTF-16 text without a byte-order mark; save the file as UTF-8.")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = f"byte {error.start} (0x{data[error.start]:02x})"
        return "", [Problem(f"line {line}", f"{byte} is not UTF-8 text; save the file as UTF-8 (in Excel: CSV UTF-8).")]


@dataclass(frozen=True)
class Document:
    """One JSON value of the file: the whole file, or one line of a JSON Lines file."""

    value: Any
    line: int | None

    def at(self, path: str = "") -> str:
        """Where something inside this document is: 'line 3, entry[0].changes[1]'."""
        parts = [f"line {self.line}" if self.line is not None else "", path]
        return ", ".join(part for part in parts if part) or "file"


def parse_json_documents(text: str) -> tuple[list[Document], list[Problem]]:
    """One JSON document, or JSON Lines (one document per non-blank line); every invalid line is reported."""
    if not text.strip():
        return [], [Problem("file", "is empty.")]
    try:
        return [Document(_loads(text), None)], []
    except json.JSONDecodeError as error:
        if not _looks_like_json_lines(text, error):
            return [], [Problem(f"line {error.lineno}", f"invalid JSON at column {error.colno}: {error.msg}.")]
    except (ValueError, RecursionError) as error:
        return [], [Problem("file", f"invalid JSON: {_reason(error)}.")]
    documents: list[Document] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(Document(_loads(line), number))
        except json.JSONDecodeError as error:
            problems.append(Problem(f"line {number}", f"invalid JSON at column {error.colno}: {error.msg}."))
        except (ValueError, RecursionError) as error:
            problems.append(Problem(f"line {number}", f"invalid JSON: {_reason(error)}."))
    return documents, problems


def _looks_like_json_lines(text: str, error: json.JSONDecodeError) -> bool:
    if error.msg == "Extra data":
        return True
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.startswith("{") and line.endswith("}") for line in lines)


def graph_api_error(value: object) -> str | None:
    """What a saved Graph API error answer says ({"error": {"message", "type", "code"}}); None for anything else."""
    if not isinstance(value, dict) or not isinstance(value.get("error"), dict) or "data" in value or "entry" in value:
        return None
    error = value["error"]
    message = one_line(error.get("message")) or "no message"
    code = error.get("code")
    details = [one_line(error.get("type")), f"code {code}" if isinstance(code, int) else ""]
    shown = ", ".join(part for part in details if part)
    return message + (f" ({shown})" if shown else "")


def one_line(value: object, limit: int = 300) -> str:
    """Foreign free text (a file, a Graph API answer) in a message: one line, no control characters, at most `limit`
    characters."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number")


def _loads(text: str) -> Any:
    """pydantic's JSON reader first: a third fewer instructions than the standard library's for a listing, and one
    string object for a key or value repeated on every row. Whatever it refuses is read again by `json`, whose
    verdict and message stand: it also accepts a few texts the faster reader refuses (lone surrogate escapes,
    nesting deeper than 200)."""
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False, cache_strings="all")
    except (ValueError, TypeError):
        value = json.loads(text, parse_constant=_refuse_constant)
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


# An escape of half a UTF-16 pair: with its other half it is a character, alone it is not text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(value: Any) -> None:
    """A string holding a lone surrogate ("x\\udcff") cannot be stored or shown: name where it is."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack += [(f"{path}.{key}" if path else str(key), child) for key, child in reversed(item.items())]
            stack += [(f"{path} key" if path else "a key", key) for key in item]
        elif isinstance(item, list):
            stack += [(f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item)))]
        elif isinstance(item, str) and (half := _SURROGATE.search(item)):
            where = (path if path.isprintable() else ascii(path)) or "the document"
            raise ValueError(
                f"{where} holds \\u{ord(half[0]):04x}, half of a character (a lone surrogate escape), which is not text"
            )


def _reason(error: Exception) -> str:
    return "nested too deeply" if isinstance(error, RecursionError) else str(error)


# --- values inside a document ------------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """How to name a JSON value's type in a message."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def clean_imported_name(field: str, value: object, *, required: bool = True) -> str:
    """A name people typed into a file (CSV onboarding, a group prefix): the one rule for typed names,
    `model.clean_name`, as forms and the CLI apply it; outputs neutralise what a spreadsheet or page could misread."""
    if isinstance(value, str):
        return _clean_typed_text(field, value, required)
    return model.clean_name(field, value, required=required)


@functools.lru_cache(maxsize=65_536)
def _clean_typed_text(field: str, value: str, required: bool) -> str:
    # Cached: a file repeats the same few names on every row.
    return model.clean_name(field, value, required=required)


def read_meta_name(field: str, value: object, where: str, warnings: list[Notice]) -> str:
    """A name as Meta reports it (a number's verified name): Meta's value is the truth, so it is stored as sent and
    anything a spreadsheet or page could misread is reported; every output neutralises it. Refused only when it is
    not text. Names typed by people go through `clean_imported_name` instead."""
    if not isinstance(value, str):
        raise InvalidInput(f"Field '{field}' must be text, got {kind_of(value)}.")
    text, concern = _meta_name(value)
    if concern is not None:
        warnings.append(Notice(where, f"{field} {concern}; stored as Meta sends it, neutralised in exports."))
    return text


@functools.lru_cache(maxsize=65_536)
def _meta_name(value: str) -> tuple[str, str | None]:
    # Cached: a listing repeats the same few display names thousands of times.
    # NUL is the one character no database text column holds (PostgreSQL refuses it): shown as U+FFFD.
    text = unicodedata.normalize("NFC", value).strip().replace("\x00", "\ufffd")
    preview = text if len(text) <= 40 else text[:40] + "…"
    if len(text) > model.MAX_NAME_LENGTH:
        return text[: model.MAX_NAME_LENGTH], f"is {len(text)} characters long, cut to {model.MAX_NAME_LENGTH}"
    if text.startswith(_FORMULA_START):
        return text, f"starts with '{text[0]}' (a spreadsheet formula): {preview!r}"
    if _MARKUP.search(text):
        return text, f"contains markup characters (< or >): {preview!r}"
    if _BIDI_CONTROLS.search(text) or any(unicodedata.category(ch) == "Cc" for ch in text):
        return text, f"contains invisible control characters: {preview!r}"
    return text, None


_KNOWN_NAMES: dict[int, tuple[object, frozenset[str]]] = {}


def known_names(known: Iterable[str] | type[enum.Enum]) -> frozenset[str]:
    """The names an enum or collection allows, computed once per (module-level) collection."""
    if isinstance(known, frozenset):
        return known
    cached = _KNOWN_NAMES.get(id(known))
    if cached is not None and cached[0] is known:
        return cached[1]
    names = frozenset(cast(Any, known).__members__ if isinstance(known, type) else known)
    _KNOWN_NAMES[id(known)] = (known, names)
    return names


def read_known_value(
    field: str,
    raw: object,
    known: Iterable[str] | type[enum.Enum],
    where: str,
    warnings: list[Notice],
) -> str:
    """An enumerated value reported by Meta: upper-cased; an unknown one is kept as given and reported."""
    names = known_names(known)
    if type(raw) is str and raw in names:
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(f"Field '{field}' must be a non-empty text value, got {kind_of(raw)} {raw!r}.")
    value = raw.strip().upper()
    if len(value) > 60 or not re.fullmatch(r"[A-Z0-9_\-]+", value):
        raise InvalidInput(f"Field '{field}' is not an enumerated value: {raw[:40]!r}.")
    if value not in names:
        warnings.append(Notice(where, f"unknown {field} '{value}' stored as-is (this version knows {len(names)})."))
    return value


_PHONE_SEPARATORS = str.maketrans("", "", " \t\n\r\f\v\xa0().-/")


def quick_e164(raw: str) -> str | None:
    """The E.164 form of a number written only with digits, a leading '+' and separators, as Meta writes them
    ('+1 631-555-5555', '15550783881'), read as `model.normalize_phone_number` reads a number without a country;
    None when the text needs the full parser. Unchecked: only trusted once it matches a stored number."""
    digits = raw.replace(" ", "").replace("-", "")  # Meta's own separators, at a fifth of translate's cost
    if not (digits[1:] if digits[:1] == "+" else digits).isdigit():
        digits = digits.translate(_PHONE_SEPARATORS)
    if digits[:1] == "+":
        return digits if digits[1:].isdigit() and digits.isascii() else None
    if not (digits.isdigit() and digits.isascii()):
        return None
    if digits.startswith("00") and len(digits) > 8:
        return "+" + digits[2:]
    if digits.startswith("011") and len(digits) > 9:
        return "+" + digits[3:]
    return "+" + digits


def read_meta_id(field: str, raw: object) -> str:
    """Meta ids are digit strings, sometimes sent as JSON numbers (template ids)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidInput(f"Field '{field}' must be a Meta id made of digits, got {kind_of(raw)}.")
    return model.clean_meta_id(field, raw)


def read_event_time(raw: object) -> datetime:
    """`entry.time`: Unix seconds when Meta triggered the webhook."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise InvalidInput(f"Field 'time' must be a Unix time in seconds, got {kind_of(raw)} {raw!r}.")
    try:
        at = datetime.fromtimestamp(int(raw), tz=UTC)
    except (OverflowError, OSError, ValueError):
        at = LATEST_EVENT
    if not EARLIEST_EVENT <= at < LATEST_EVENT:
        raise InvalidInput(f"Field 'time' is {raw!r}, not a Unix time in seconds between 2015 and 2100.")
    return at


def read_count(field: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise InvalidInput(f"Field '{field}' must be a whole number ≥ 0, got {kind_of(raw)} {raw!r}.")
    return raw


def read_daily_limit(field: str, raw: object, where: str, warnings: list[Notice]) -> str:
    """A portfolio's messaging limit as a tier: Meta sends 2000 / -1, "2000", or "TIER_2K"."""
    if isinstance(raw, bool):
        raise InvalidInput(f"Field '{field}' must be a number or a tier, got true/false.")
    if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, int):
        tier = model.tier_for_daily_limit(raw)
        if tier not in model.MessagingLimitTier.__members__:
            warnings.append(Notice(where, f"daily limit {raw} matches no known tier; stored as '{tier}'."))
        return tier
    return read_known_value(field, raw, model.MessagingLimitTier, where, warnings)


def optional_text(field: str, raw: object) -> str | None:
    """A free-text field Meta may send as null."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInput(f"Field '{field}' must be text or null, got {kind_of(raw)}.")
    return model.clean_name(field, raw, required=False)[:200] or None


def unknown_keys(value: dict[str, Any], known: Iterable[str]) -> list[str]:
    return sorted(str(key) for key in value if key not in set(known))
