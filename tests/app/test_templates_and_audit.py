"""Templates per WABA with the numbers that share them; the audit log for admins, filtered and exported; no page
shows stale data after a write."""

from __future__ import annotations

import csv
import io

from core.exports import to_csv_bytes
from core.model import format_international
from core.reads.accounts import wabas_table
from core.reads.audit import audit_table
from core.reads.numbers import NumberFilters, numbers_table
from core.reads.templates import templates_table
from tests.app.ui import exceptions, select_row, shown_text, submit, table


def test_selecting_a_template_lists_the_numbers_that_can_send_it(demo_db, open_page):
    at = open_page("templates.py")
    template = table(at, "templates_table").iloc[0]

    select_row(at, "templates_table", 0)

    assert exceptions(at) == []
    assert f"Numbers that can send '{template['template']}' ({template['language']})" in shown_text(at)
    sharing = table(at, "templates_numbers")
    waba_id = templates_table(demo_db).iloc[0]["waba_id"]
    active = numbers_table(demo_db, NumberFilters(waba_ids=(waba_id,), include_archived=False))
    assert sorted(sharing["phone_international"]) == sorted(active["phone_e164"].map(format_international))
    assert len(sharing) == template["shared_by_numbers"]


def test_templates_narrow_to_the_chosen_wabas(demo_db, open_page):
    waba_id = wabas_table(demo_db).iloc[0]["waba_id"]
    at = open_page("templates.py")

    at.multiselect(key="templates_waba").select(waba_id).run()

    assert set(table(at, "templates_table")["waba"]) == {wabas_table(demo_db).iloc[0]["waba"]}


def test_audit_log_narrows_by_object_type_and_exports_what_it_shows(demo_db, open_page, downloads):
    at = open_page("accounts.py")
    at.text_input(key="add_workspace_name").input("LATAM Brands")
    submit(at, "Add workspace")
    at.switch_page("pages/audit.py").run()

    at.selectbox(key="audit_object_type").select("workspace").run()

    entries = table(at, "audit_table")
    assert entries[["actor", "action", "object_key"]].values.tolist() == [["local-admin", "add", "LATAM Brands"]]
    content = downloads.content(at.download_button(key="audit_download_csv").proto.url)
    assert content == to_csv_bytes(audit_table(demo_db, object_type="workspace"))
    assert [row["object_key"] for row in csv.DictReader(io.StringIO(content.decode()))] == ["LATAM Brands"]


def test_a_write_shows_at_once_on_every_page(demo_db, open_page):
    at = open_page("overview.py")
    before = {metric.label: metric.value for metric in at.metric}["Workspaces"]

    at.switch_page("pages/accounts.py").run()
    at.text_input(key="add_workspace_name").input("LATAM Brands")
    submit(at, "Add workspace")
    at.switch_page("pages/overview.py").run()

    after = {metric.label: metric.value for metric in at.metric}["Workspaces"]
    assert int(after) == int(before) + 1
    assert "LATAM Brands" in table(at, "overview_workspaces")["workspace"].tolist()
