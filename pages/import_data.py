"""Import (admins): Meta's phone-number listings, webhook payloads and CSV onboarding — preview the changes, then
apply them in one transaction. Parsing, checks and the plan all come from core.imports (the CLI uses the same)."""

from __future__ import annotations

import math

import streamlit as st

from core import imports
from core.config import load_settings
from core.errors import FleetError, PermissionDenied
from core.imports import csv_onboarding
from core.imports.reading import human_size, read_at_most
from core.model import Role, require_role
from pages.kit import acting_user, database, feedback, reads, shell, text

PREVIEW_KEY = "import_preview"
RESULT_KEY = "import_result"
FILE_TYPES = {
    "meta-numbers": ["json", "jsonl", "ndjson"],
    "webhook": ["json", "jsonl", "ndjson"],
    "csv": ["csv", "tsv", "txt"],
}
FORMAT_HELP = {
    "meta-numbers": "The JSON Meta returns for `GET /{waba-id}/phone_numbers` — one page, an array of pages or JSON "
    'Lines — or `{"<WABA id>": <page or pages>, …}` for several WABAs, or WABAs read with their `phone_numbers` '
    "field (`GET /{waba-id}?fields=phone_numbers{…}`, or a portfolio's `owned_whatsapp_business_accounts`). "
    "Missing numbers are created, each in its own new subscription group; known ones are updated.",
    "webhook": 'Webhook payloads (`"object": "whatsapp_business_account"`): one envelope, an array, or JSON Lines. '
    "Replays change nothing; older events never overwrite newer ones.",
    "csv": f"UTF-8 CSV with the header `{csv_onboarding.HEADER_HELP}`. Workspaces must exist; unknown WABAs are "
    "created. All or nothing: every bad row is listed with its line.",
}

shell.page_header("Import", "Keep the fleet in sync with Meta. Nothing is written until you apply the preview.")
actor = acting_user.current_actor()
try:
    require_role(actor, Role.ADMIN, "import data")
except PermissionDenied as denied:
    st.error(text.literal(denied), icon=":material/lock:")
    st.stop()


def forget_preview() -> None:
    """Any change to the input makes the shown preview stale."""
    st.session_state.pop(PREVIEW_KEY, None)


def request_from_widgets() -> imports.ImportRequest | None:
    kind = st.segmented_control(
        "What to import",
        list(imports.KINDS),
        format_func=imports.KINDS.__getitem__,
        default="meta-numbers",
        key="import_kind",
        on_change=forget_preview,
    )
    kind = kind or "meta-numbers"
    st.caption(FORMAT_HELP[kind])
    waba, prefix = None, None
    if kind == "meta-numbers":
        wabas = reads.wabas()
        names = dict(zip(wabas["waba_id"], wabas["workspace"] + " › " + wabas["waba"], strict=True))
        left, right = st.columns(2)
        waba = left.selectbox(
            "WABA of the listing",
            list(names),
            format_func=lambda w: f"{names[w]} ({w})",
            index=None,
            placeholder="The file names its WABAs",
            key="import_waba",
            on_change=forget_preview,
        )
        prefix = right.text_input("Group name prefix (optional)", key="import_group_prefix", on_change=forget_preview)
        prefix = prefix or None
    limit = load_settings().max_import_bytes
    upload = st.file_uploader(
        "File",
        type=FILE_TYPES[kind],
        key="import_file",
        on_change=forget_preview,
        max_upload_size=max(1, math.ceil(limit / 2**20)),  # the browser refuses larger files before sending them
        help=f"Files up to {human_size(limit)} (FLEET_MAX_IMPORT_BYTES).",
    )
    pasted = st.text_area("…or paste the content", key="import_text", height=120, on_change=forget_preview)
    if upload is not None:
        with feedback.fleet_errors():
            upload.seek(0)
            return imports.ImportRequest(kind, read_at_most(upload, limit, upload.name), upload.name, waba, prefix)
        return None
    if pasted.strip():
        return imports.ImportRequest(kind, pasted.encode("utf-8"), "pasted text", waba, prefix)
    return None


def show_plan(plan: imports.ImportPlan) -> None:
    st.markdown(f"**{text.literal(plan.describe())}**")
    counts = plan.summary()
    if counts:
        for column, (label, value) in zip(st.columns(min(len(counts), 6)), list(counts.items())[:6], strict=False):
            column.metric(label.capitalize(), value)
    tables = {name: frame for name, frame in plan.tables().items() if not frame.empty}
    order = ["Errors", "Create", "Update", "History", "Warnings", "Skipped"]
    names = [name for name in order if name in tables]
    if not names:
        return
    for tab, name in zip(st.tabs([f"{name} ({len(tables[name])})" for name in names]), names, strict=True):
        with tab, st.container(key=f"import_table_{name.lower()}_box"):
            st.dataframe(tables[name], hide_index=True)


def progress_bar() -> imports.Progress:
    bar = st.progress(0.0)

    def show(stage: str, fraction: float) -> None:
        bar.progress(fraction, text=stage)

    return show


request = request_from_widgets()
previewed = st.button("Preview", key="import_preview_button", icon=":material/preview:", disabled=request is None)
feedback.outcome_here("apply_import")  # where the Apply button was, above what the import changed
if previewed and request is not None:
    st.session_state.pop(RESULT_KEY, None)
    with feedback.fleet_errors(), st.status("Checking the file against the fleet…", expanded=False) as status:
        plan = imports.plan_import(database.engine(), actor, request, progress=progress_bar())
        status.update(label="Preview ready", state="error" if plan.errors else "complete")
        st.session_state[PREVIEW_KEY] = {"plan": plan, "request": request}

preview = st.session_state.get(PREVIEW_KEY)
if preview is not None:
    plan = preview["plan"]
    st.subheader(f"Preview of {text.literal(plan.source)}")
    show_plan(plan)
    if plan.errors:
        st.error(f"{len(plan.errors)} problem(s): nothing can be imported. Fix the file and preview again.")
    elif not plan.writes_anything:
        st.info("The fleet already matches this file: there is nothing to apply.", icon=":material/check:")
    elif st.button("Apply import", key="import_apply", type="primary", icon=":material/file_download_done:"):
        try:
            with st.status("Importing…", expanded=True) as status:
                result = imports.run_import(
                    database.engine(),
                    actor,
                    preview["request"],
                    expected=plan.fingerprint(),
                    progress=progress_bar(),
                )
                status.update(label="Imported", state="complete")
        except FleetError as error:
            st.error(text.literal(error), icon=":material/error:")
        else:
            st.session_state.pop(PREVIEW_KEY, None)
            st.session_state[RESULT_KEY] = result.plan
            feedback.succeed(result.message, where="apply_import")

last = st.session_state.get(RESULT_KEY)
if last is not None and preview is None:
    with st.expander(f"What the import of {text.literal(last.source)} changed", expanded=False):
        show_plan(last)
