"""CSV bulk onboarding: many WABAs, subscription groups and numbers at once, all or nothing.

Header (UTF-8, comma-, semicolon- or tab-separated, any column order; names in any case, spaces or hyphens for the
underscores: "Portfolio ID" reads as portfolio_id):
    workspace,portfolio_id,waba_id,waba_name,group,phone,display_name[,region]
- workspace: an existing workspace (workspaces are not created by an import);
- portfolio_id: the Meta business id of an existing portfolio; connected to the workspace if it is not yet;
- waba_id, waba_name: the WABA, created in that workspace and portfolio if the fleet does not know it;
- group: the new subscription group's name (unique among the workspace's active groups);
- phone: the number, international format, or national format with `region` (e.g. FR);
- display_name: optional.
Every bad row is reported with its line number and reason (caps counted with the file's own rows, duplicates inside
the file in any phone format and against the fleet, invalid numbers); if any row is bad, nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import model
from core.contention import lock_workspaces_then_wabas
from core.db import Portfolio, Waba, Workspace, WorkspacePortfolio
from core.errors import InvalidInput
from core.imports import fleet
from core.imports.reading import clean_imported_name
from core.imports.report import ConnectPortfolio, CreateNumber, CreateWaba, HealthSnapshot, ImportPlan, Notice, Problem

KIND = "csv"
DELIMITERS = (",", ";", "\t")  # comma; semicolon (Excel where the decimal mark is a comma); tab (Excel's Unicode text)
SOURCE = "csv-onboarding"
COLUMNS = ("workspace", "portfolio_id", "waba_id", "waba_name", "group", "phone", "display_name")
OPTIONAL_COLUMNS = ("region",)
HEADER_HELP = ",".join(COLUMNS) + "[," + ",".join(OPTIONAL_COLUMNS) + "]"


@dataclass(frozen=True)
class SheetRow:
    line: int
    workspace: str
    portfolio_id: str
    waba_id: str
    waba_name: str
    group: str
    e164: str
    display_name: str

    @property
    def where(self) -> str:
        return f"line {self.line}"


@dataclass
class Sheet:
    rows: list[SheetRow] = field(default_factory=list)
    rows_read: int = 0
    warnings: list[Notice] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)


def parse_sheet(text: str) -> Sheet:
    """Read and check every row (no database): each problem names its line and column."""
    sheet = Sheet()
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count)  # the header's most frequent one; a comma on a tie
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            sheet.errors.append(Problem("line 1", f"the header is missing; expected: {HEADER_HELP}"))
            return sheet
        columns = _check_header(header, sheet)
        if sheet.errors:
            return sheet
        previous_end = reader.line_num
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            sheet.rows_read += 1
            _read_row(line, cells, columns, sheet)
    except csv.Error as error:
        sheet.errors.append(Problem(f"line {reader.line_num}", f"unreadable CSV: {error}."))
    if not sheet.rows_read and not sheet.errors:
        sheet.errors.append(Problem("file", "has a header but no rows."))
    _check_duplicates(sheet)
    return sheet


def _check_header(header: list[str], sheet: Sheet) -> list[str]:
    columns = [_column_name(cell) for cell in header]
    unknown = [c for c in columns if c not in COLUMNS + OPTIONAL_COLUMNS]
    missing = [c for c in COLUMNS if c not in columns]
    repeated = sorted(c for c, count in Counter(columns).items() if count > 1)
    for problem, names in (("unknown column(s)", unknown), ("missing column(s)", missing), ("repeated", repeated)):
        if names:
            sheet.errors.append(Problem("line 1", f"{problem}: {', '.join(map(repr, names))}; expected: {HEADER_HELP}"))
    return columns


def _column_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


# What a spreadsheet writes for a long number kept as a number: 3.36123E+10 (digits lost) or 33612345678.0.
_SPREADSHEET_NUMBER = re.compile(r"\d(\.\d+)?[eE]\+\d+|\d+\.0+")
DIGIT_COLUMNS = ("phone", "portfolio_id", "waba_id")


def _spreadsheet_numbers(raw: dict[str, str]) -> list[str]:
    return [
        f"column '{name}' was turned into a number by a spreadsheet ({raw[name].strip()!r}): format the column as "
        "text and type the value again."
        for name in DIGIT_COLUMNS
        if _SPREADSHEET_NUMBER.fullmatch(raw[name].strip())
    ]


def _read_row(line: int, cells: list[str], columns: list[str], sheet: Sheet) -> None:
    where = f"line {line}"
    if len(cells) != len(columns):
        sheet.errors.append(Problem(where, f"has {len(cells)} field(s); the header has {len(columns)}."))
        return
    raw = dict(zip(columns, cells, strict=True))
    mangled = _spreadsheet_numbers(raw)
    if mangled:
        sheet.errors += [Problem(where, problem) for problem in mangled]
        return
    values: dict[str, str] = {}
    problems: list[str] = []
    for name, clean in (
        ("workspace", lambda v: clean_imported_name("workspace", v)),
        ("portfolio_id", lambda v: model.clean_meta_id("portfolio_id", v)),
        ("waba_id", lambda v: model.clean_meta_id("waba_id", v)),
        ("waba_name", lambda v: clean_imported_name("waba_name", v)),
        ("group", lambda v: clean_imported_name("group", v)),
        ("display_name", lambda v: clean_imported_name("display_name", v, required=False)),
    ):
        try:
            values[name] = clean(raw[name])
        except InvalidInput as error:
            problems.append(str(error))
    region = raw.get("region", "").strip() or None
    try:
        values["e164"] = model.normalize_phone_number(raw["phone"], region)
    except InvalidInput as error:
        problems.append(str(error))
    if problems:
        sheet.errors += [Problem(where, problem) for problem in problems]
        return
    sheet.rows.append(SheetRow(line=line, **values))


def _check_duplicates(sheet: Sheet) -> None:
    first_phone: dict[str, SheetRow] = {}
    first_group: dict[tuple[str, str], SheetRow] = {}
    kept = []
    for row in sheet.rows:
        earlier = first_phone.setdefault(row.e164, row)
        if earlier is not row:
            sheet.errors.append(Problem(row.where, f"phone {row.e164} is also on line {earlier.line}."))
            continue
        earlier = first_group.setdefault((row.workspace, row.group), row)
        if earlier is not row:
            sheet.errors.append(
                Problem(
                    row.where, f"group '{row.group}' of workspace '{row.workspace}' is also on line {earlier.line}."
                )
            )
            continue
        kept.append(row)
    sheet.rows = kept


# --- the plan ----------------------------------------------------------------------------------------------------


def plan_sheet(session: Session, plan: ImportPlan, sheet: Sheet, *, now: datetime, lock: bool) -> None:
    plan.rows_read = sheet.rows_read
    plan.warnings += sheet.warnings
    plan.errors += sheet.errors
    rows = sheet.rows
    if not rows:
        return
    if lock:
        lock_workspaces_then_wabas(
            session, workspace_names={row.workspace for row in rows}, meta_waba_ids={row.waba_id for row in rows}
        )
    workspaces = _load_workspaces(session, {row.workspace for row in rows}, lock=lock)
    portfolios = _load_portfolios(session, {row.portfolio_id for row in rows})
    wabas = fleet.load_wabas(session, {row.waba_id for row in rows}, lock=lock)
    good = [row for row in rows if _check_references(row, workspaces, portfolios, wabas, plan)]
    new_wabas = _plan_wabas(session, good, workspaces, portfolios, wabas, plan)
    _check_numbers(session, good, wabas, plan)
    _check_group_names(session, good, workspaces, plan)
    if plan.errors:
        plan.errors.sort(key=_line_of)
        return
    _plan_connections(session, new_wabas, plan)
    for row in rows:
        waba = wabas.get(row.waba_id)
        values = fleet.NEW_NUMBER | {"display_name": row.display_name}
        plan.numbers.append(
            CreateNumber(
                row.e164,
                row.waba_id,
                waba.id if waba else None,
                workspaces[row.workspace],
                row.group,
                tuple(sorted(values.items())),
                row.where,
            )
        )
        plan.snapshots.append(
            HealthSnapshot(
                row.e164,
                None,
                now,
                values["quality_rating"],
                values["messaging_limit_tier"],
                values["status"],
                SOURCE,
                row.where,
            )
        )


def _line_of(problem: Problem) -> int:
    number = problem.where.removeprefix("line ")
    return int(number) if number.isdigit() else 0


def _load_workspaces(session: Session, names: set[str], *, lock: bool) -> dict[str, int]:
    query = select(Workspace.name, Workspace.id).where(Workspace.name.in_(sorted(names))).order_by(Workspace.id)
    return dict(session.execute(query.with_for_update() if lock else query).all())


def _load_portfolios(session: Session, meta_ids: set[str]) -> dict[str, int]:
    query = select(Portfolio.meta_business_id, Portfolio.id).where(Portfolio.meta_business_id.in_(sorted(meta_ids)))
    return dict(session.execute(query).all())


def _check_references(
    row: SheetRow,
    workspaces: dict[str, int],
    portfolios: dict[str, int],
    wabas: dict[str, fleet.WabaRow],
    plan: ImportPlan,
) -> bool:
    problems = []
    if row.workspace not in workspaces:
        problems.append(f"workspace '{row.workspace}' does not exist; create it first (python -m core workspace add).")
    if row.portfolio_id not in portfolios:
        problems.append(
            f"business portfolio {row.portfolio_id} does not exist; add it first (python -m core portfolio add)."
        )
    waba = wabas.get(row.waba_id)
    if waba is not None and not problems:
        if waba.workspace != row.workspace or waba.portfolio_meta_id != row.portfolio_id:
            problems.append(
                f"WABA {row.waba_id} ('{waba.name}') is in workspace '{waba.workspace}' and portfolio "
                f"{waba.portfolio_meta_id}, not '{row.workspace}' / {row.portfolio_id}."
            )
        elif waba.state != "active":
            problems.append(f"WABA {row.waba_id} ('{waba.name}') is archived; numbers cannot be added to it.")
    plan.errors += [Problem(row.where, problem) for problem in problems]
    return not problems


def _plan_wabas(
    session: Session,
    rows: list[SheetRow],
    workspaces: dict[str, int],
    portfolios: dict[str, int],
    wabas: dict[str, fleet.WabaRow],
    plan: ImportPlan,
) -> list[CreateWaba]:
    """WABAs the file names that the fleet does not know: created, at most 10 per workspace counting them."""
    first = _first_row_of_each_waba(rows, wabas, plan)
    new = [row for meta_id, row in first.items() if meta_id not in wabas]
    active = _active_waba_counts(session, [workspaces[row.workspace] for row in new])
    created = Counter[str]()
    result = []
    for row in new:
        created[row.workspace] += 1
        already = active.get(workspaces[row.workspace], 0)
        if not model.wabas_fit(already, created[row.workspace]):
            plan.errors.append(
                Problem(
                    row.where,
                    f"WABA {row.waba_id} would be WhatsApp Business Account number "
                    f"{already + created[row.workspace]} of workspace '{row.workspace}' "
                    f"(the maximum is {model.MAX_WABAS_PER_WORKSPACE}).",
                )
            )
            continue
        result.append(
            CreateWaba(
                row.waba_id,
                row.waba_name,
                workspaces[row.workspace],
                row.workspace,
                portfolios[row.portfolio_id],
                row.portfolio_id,
                row.where,
            )
        )
    plan.wabas += result
    return result


def _first_row_of_each_waba(
    rows: list[SheetRow], wabas: dict[str, fleet.WabaRow], plan: ImportPlan
) -> dict[str, SheetRow]:
    """The row that first names each WABA; a known WABA's other name is a warning, a new one described two ways
    (workspace, portfolio or name) an error."""
    first: dict[str, SheetRow] = {}
    for row in rows:
        waba = wabas.get(row.waba_id)
        if waba is not None:
            if waba.name != row.waba_name and row.waba_id not in first:
                plan.warnings.append(
                    Notice(
                        row.where,
                        f"WABA {row.waba_id} is named '{waba.name}' in the fleet; "
                        f"the file's name '{row.waba_name}' is not applied.",
                    )
                )
            first.setdefault(row.waba_id, row)
            continue
        earlier = first.setdefault(row.waba_id, row)
        if (earlier.workspace, earlier.portfolio_id, earlier.waba_name) != (
            row.workspace,
            row.portfolio_id,
            row.waba_name,
        ):
            plan.errors.append(
                Problem(
                    row.where,
                    f"WABA {row.waba_id} is described differently on line {earlier.line} "
                    "(workspace, portfolio_id and waba_name must agree).",
                )
            )
    return first


def _active_waba_counts(session: Session, workspace_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Waba.workspace_id, func.count())
        .where(Waba.workspace_id.in_(sorted(set(workspace_ids))), Waba.state == "active")
        .group_by(Waba.workspace_id)
    )
    return dict(rows.all())


def _check_numbers(session: Session, rows: list[SheetRow], wabas: dict[str, fleet.WabaRow], plan: ImportPlan) -> None:
    """Every number new to the whole fleet; at most 20 active numbers per WABA counting the file's rows."""
    stored = {row.e164: row for row in fleet.load_numbers(session, [r.e164 for r in rows]).values()}
    for row in rows:
        existing = stored.get(row.e164)
        if existing is None:
            continue
        group = existing.group_name
        if group is not None:
            message = f"phone {row.e164} is already in use by subscription group '{group}'."
        else:
            message = f"phone {row.e164} already exists (its subscription group is archived); re-attach it instead."
        plan.errors.append(Problem(row.where, message))
    per_waba: dict[str, list[SheetRow]] = defaultdict(list)
    for row in rows:
        per_waba[row.waba_id].append(row)
    for meta_id, waba_rows in per_waba.items():
        waba = wabas.get(meta_id)
        active = waba.active_numbers if waba else 0
        for position, row in enumerate(waba_rows, start=1):
            if not model.numbers_fit(active, position):
                plan.errors.append(
                    Problem(
                        row.where,
                        f"WABA {meta_id} would have {active + position} numbers ({active} active + "
                        f"{position} from this file; the maximum is {model.MAX_NUMBERS_PER_WABA}).",
                    )
                )


def _check_group_names(session: Session, rows: list[SheetRow], workspaces: dict[str, int], plan: ImportPlan) -> None:
    taken = fleet.taken_group_names(session, [workspaces[r.workspace] for r in rows], [r.group for r in rows])
    for row in rows:
        if (workspaces[row.workspace], row.group) in taken:
            plan.errors.append(
                Problem(
                    row.where, f"workspace '{row.workspace}' already has an active subscription group '{row.group}'."
                )
            )


def _plan_connections(session: Session, new_wabas: list[CreateWaba], plan: ImportPlan) -> None:
    pairs = {(w.workspace_id, w.portfolio_id): w for w in new_wabas}
    if not pairs:
        return
    connected = set(
        session.execute(
            select(WorkspacePortfolio.workspace_id, WorkspacePortfolio.portfolio_id).where(
                WorkspacePortfolio.workspace_id.in_({w for w, _ in pairs})
            )
        ).all()
    )
    for (workspace_id, portfolio_id), waba in sorted(pairs.items()):
        if (workspace_id, portfolio_id) not in connected:
            plan.connections.append(
                ConnectPortfolio(workspace_id, waba.workspace, portfolio_id, waba.portfolio_meta_id, waba.where)
            )
