"""What an import would do (the plan, shown before anything is written) and what it did (the result).

A plan is plain data: the CLI prints it, the Import page shows it as tables, and applying it writes exactly it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core.errors import InvalidInput

Value = str | int | None
MAX_PROBLEMS_IN_MESSAGE = 20


@dataclass(frozen=True)
class Problem:
    """A fault that stops the whole import; `where` names the line, row, entry or field."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True)
class Notice:
    """Reported without stopping the import: an event skipped, an unknown value stored as-is, a field ignored."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ImportRejected(InvalidInput):
    """An import found problems in its input or against the fleet's rules; nothing was written."""

    def __init__(self, problems: Sequence[Problem], *, source: str = "") -> None:
        self.problems = tuple(problems)
        subject = f"Import of '{source}'" if source else "Import"
        lines = [f"{subject} refused, nothing was written: {len(self.problems)} problem(s)."]
        lines += [f"  {problem}" for problem in self.problems[:MAX_PROBLEMS_IN_MESSAGE]]
        if len(self.problems) > MAX_PROBLEMS_IN_MESSAGE:
            lines.append(f"  … and {len(self.problems) - MAX_PROBLEMS_IN_MESSAGE} more.")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Value
    after: Value


@dataclass(frozen=True)
class ConnectPortfolio:
    """A business portfolio connected to a workspace because a new WABA of the import lives in it."""

    workspace_id: int
    workspace: str
    portfolio_id: int
    portfolio_meta_id: str
    where: str


@dataclass(frozen=True)
class CreateWaba:
    meta_waba_id: str
    name: str
    workspace_id: int
    workspace: str
    portfolio_id: int
    portfolio_meta_id: str
    where: str


@dataclass(frozen=True)
class CreateNumber:
    """A number new to the fleet in a new subscription group; with `number_id`, a known number whose groups are
    all archived, bound to a new group (re-attached: same number, same history)."""

    e164: str
    meta_waba_id: str
    waba_id: int | None  # None: the WABA is created by the same import
    workspace_id: int
    group_name: str
    values: tuple[tuple[str, Value], ...]
    where: str
    number_id: int | None = None

    @property
    def reattach(self) -> bool:
        return self.number_id is not None


@dataclass(frozen=True)
class CreateTemplate:
    waba_id: int
    meta_waba_id: str
    key: str
    values: tuple[tuple[str, Value], ...]
    clocks: tuple[tuple[str, datetime], ...]
    where: str


@dataclass(frozen=True)
class UpdateObject:
    """Field changes of one stored object, the columns to write, and the clocks (event times) of the fields set."""

    object_type: str  # phone_number | portfolio | waba | template
    object_id: int
    key: str
    changes: tuple[FieldChange, ...]
    columns: tuple[tuple[str, Any], ...]
    clocks: tuple[tuple[str, datetime], ...]
    where: str


@dataclass(frozen=True)
class HealthSnapshot:
    e164: str
    phone_number_id: int | None  # None: a number created by the same import
    recorded_at: datetime
    quality_rating: str
    messaging_limit_tier: str
    status: str
    source: str
    where: str


@dataclass(frozen=True)
class RecordAlert:
    """An `account_alerts` delivery, recorded as Meta sent it."""

    meta_waba_id: str
    entity_type: str
    entity_id: str
    alert_type: str
    severity: str | None
    status: str | None
    description: str | None
    event_time: datetime
    where: str


OBJECT_LABELS = {"phone_number": "number", "portfolio": "portfolio", "waba": "WABA", "template": "template"}


@dataclass
class ImportPlan:
    """Everything an import would change, and everything it reports; applying it writes exactly this."""

    kind: str
    source: str
    rows_read: int = 0
    connections: list[ConnectPortfolio] = field(default_factory=list)
    wabas: list[CreateWaba] = field(default_factory=list)
    numbers: list[CreateNumber] = field(default_factory=list)
    templates: list[CreateTemplate] = field(default_factory=list)
    updates: list[UpdateObject] = field(default_factory=list)
    snapshots: list[HealthSnapshot] = field(default_factory=list)
    account_alerts: list[RecordAlert] = field(default_factory=list)
    skipped: list[Notice] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    @property
    def writes_anything(self) -> bool:
        return any(
            (
                self.connections,
                self.wabas,
                self.numbers,
                self.templates,
                self.updates,
                self.snapshots,
                self.account_alerts,
            )
        )

    def summary(self) -> dict[str, int]:
        """Counts by kind of change, in the order a person reads them; zero counts left out."""
        changed = [u for u in self.updates if u.changes]
        counts = {
            "portfolios to connect": len(self.connections),
            "WABAs to create": len(self.wabas),
            "numbers to create": sum(1 for n in self.numbers if not n.reattach),
            "numbers to re-attach": sum(1 for n in self.numbers if n.reattach),
            "templates to create": len(self.templates),
            **{
                f"{OBJECT_LABELS[kind]}s to update": sum(1 for u in changed if u.object_type == kind)
                for kind in OBJECT_LABELS
            },
            "objects with newer event times only": sum(1 for u in self.updates if not u.changes),
            "history rows": len(self.snapshots),
            "account alerts to record": len(self.account_alerts),
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
            "errors": len(self.errors),
        }
        return {name: count for name, count in counts.items() if count}

    def describe(self) -> str:
        """One line: what the import would do (or did)."""
        counts = self.summary()
        if self.errors:
            return f"{len(self.errors)} problem(s) found in '{self.source}': nothing can be imported."
        if not self.writes_anything:
            return f"'{self.source}' matches the fleet: nothing to change ({self.rows_read} row(s) read)."
        return f"'{self.source}' ({self.rows_read} row(s) read): " + ", ".join(
            f"{name}: {count}" for name, count in counts.items()
        )

    def fingerprint(self) -> str:
        """Identifies the changes, not the clock: the same input over the same fleet gives the same fingerprint,
        so a preview can be checked against what is applied later."""
        content = {
            "connect": [(c.workspace, c.portfolio_meta_id) for c in self.connections],
            "wabas": [(w.meta_waba_id, w.name, w.workspace) for w in self.wabas],
            "numbers": [(n.e164, n.meta_waba_id, n.group_name, n.values, n.reattach) for n in self.numbers],
            "templates": [(t.meta_waba_id, t.key, t.values) for t in self.templates],
            "updates": [
                (u.object_type, u.key, [(c.field, c.before, c.after) for c in u.changes]) for u in self.updates
            ],
            "snapshots": [
                (s.e164, s.source, s.quality_rating, s.messaging_limit_tier, s.status) for s in self.snapshots
            ],
            "errors": [str(problem) for problem in self.errors],
            "alerts": [(a.meta_waba_id, a.entity_id, a.alert_type, a.event_time) for a in self.account_alerts],
        }
        return hashlib.sha256(json.dumps(content, default=str, sort_keys=True).encode()).hexdigest()

    # --- presentation ----------------------------------------------------------------------------------------

    def tables(self) -> dict[str, pd.DataFrame]:
        """The plan as tables (for the Import page): creations, field changes, history rows, skipped, warnings,
        errors. Each table has a `where` column naming the line or row it comes from."""
        return {
            "Create": pd.DataFrame(self._creation_rows(), columns=["action", "object", "key", "detail", "where"]),
            "Update": pd.DataFrame(self._change_rows(), columns=["object", "key", "field", "before", "after", "where"]),
            "History": pd.DataFrame(
                [
                    (s.e164, s.recorded_at, s.quality_rating, s.messaging_limit_tier, s.status, s.source, s.where)
                    for s in self.snapshots
                ],
                columns=[
                    "phone_e164",
                    "recorded_at",
                    "quality_rating",
                    "messaging_limit_tier",
                    "status",
                    "source",
                    "where",
                ],
            ),
            "Skipped": _notice_frame(self.skipped),
            "Warnings": _notice_frame(self.warnings),
            "Errors": _notice_frame(self.errors),
        }

    def _creation_rows(self) -> list[tuple[str, str, str, str, str]]:
        rows = [
            ("connect", "portfolio", c.portfolio_meta_id, f"to workspace '{c.workspace}'", c.where)
            for c in self.connections
        ]
        rows += [
            (
                "create",
                "WABA",
                w.meta_waba_id,
                f"'{w.name}' in '{w.workspace}', portfolio {w.portfolio_meta_id}",
                w.where,
            )
            for w in self.wabas
        ]
        rows += [
            (
                "re-attach" if n.reattach else "create",
                "number",
                n.e164,
                f"group '{n.group_name}' in WABA {n.meta_waba_id}",
                n.where,
            )
            for n in self.numbers
        ]
        rows += [("create", "template", t.key, f"in WABA {t.meta_waba_id}", t.where) for t in self.templates]
        rows += [
            (
                "record",
                "account alert",
                a.alert_type,
                f"{a.entity_type} {a.entity_id}, {a.severity or 'no severity'}",
                a.where,
            )
            for a in self.account_alerts
        ]
        return rows

    def _change_rows(self) -> list[tuple[str, str, str, str | None, str | None, str]]:
        return [
            (OBJECT_LABELS[u.object_type], u.key, c.field, _text(c.before), _text(c.after), u.where)
            for u in self.updates
            for c in u.changes
        ]

    def render_text(self, *, limit: int = 50, headline: str | None = None) -> str:
        """The plan for a terminal: a one-line headline (default: the description), then each non-empty section
        (at most `limit` lines each)."""
        lines = [headline or self.describe()]
        sections: list[tuple[str, list[str]]] = [
            ("Create", [f"{a} {o} {k}: {d}  [{w}]" for a, o, k, d, w in self._creation_rows()]),
            ("Update", [_update_line(u) for u in self.updates if u.changes]),
            (
                "History",
                [
                    f"{s.e164} at {s.recorded_at.isoformat()}: {s.quality_rating}, {s.messaging_limit_tier}, "
                    f"{s.status} ({s.source})  [{s.where}]"
                    for s in self.snapshots
                ],
            ),
            ("Skipped", [str(n) for n in self.skipped]),
            ("Warnings", [str(n) for n in self.warnings]),
            ("Errors", [str(p) for p in self.errors]),
        ]
        for title, items in sections:
            if not items:
                continue
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items[:limit]]
            if len(items) > limit:
                lines.append(f"  … and {len(items) - limit} more")
        return "\n".join(lines)


def _text(value: Value) -> str | None:
    """Before/after values as text, so one table column holds tiers and counts alike."""
    return None if value is None else str(value)


def _update_line(update: UpdateObject) -> str:
    changes = "; ".join(f"{c.field} {c.before!s} → {c.after!s}" for c in update.changes)
    return f"{OBJECT_LABELS[update.object_type]} {update.key}: {changes}  [{update.where}]"


def _notice_frame(items: Sequence[Notice | Problem]) -> pd.DataFrame:
    return pd.DataFrame([(item.where, item.message) for item in items], columns=["where", "message"])


@dataclass(frozen=True)
class ImportResult:
    """What an applied import did."""

    plan: ImportPlan
    written: bool

    @property
    def message(self) -> str:
        if not self.written:
            return self.plan.describe()
        return "Imported " + self.plan.describe()
