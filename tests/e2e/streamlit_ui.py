"""Driving a running Streamlit app the way a user does: by the labels shown on screen.

Streamlit reruns the whole script after each interaction; every helper here waits for that rerun to finish
(the app root's `data-test-script-state` goes back to `notRunning`) before the next step, so tests wait on
conditions, never on fixed sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path

from playwright.sync_api import BrowserContext, Download, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

RERUN_TIMEOUT_MS = 60_000
# How long a just-triggered rerun may take to show up as "running" before we conclude the click did not
# start one (e.g. typing inside a form): short, since the script state flips within a few frames.
RERUN_START_GRACE_MS = 1_500

APP_ROOT = '[data-testid="stApp"]'


Text = str | re.Pattern[str]


def exact(text: Text) -> re.Pattern[str]:
    """A pattern matching a label exactly, ignoring surrounding whitespace; a pattern given is used as is."""
    if isinstance(text, re.Pattern):
        return text
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


# Counts script runs in the browser and notes when the script state last changed: a run that starts and ends
# between two polls is still seen, and a run that chains another (st.rerun after a write) is waited for.
# Also keeps the text of every toast shown: a toast vanishes after a few seconds, maybe before a check looks.
RUN_COUNTER_SCRIPT = """
(() => {
  window.__fleetScriptRuns = 0;
  window.__fleetScriptChangedAt = performance.now();
  window.__fleetToasts = [];
  const noteToasts = () => document.querySelectorAll('[data-testid="stToast"]').forEach(toast => {
    const text = toast.textContent.trim();
    if (text && !window.__fleetToasts.includes(text)) window.__fleetToasts.push(text);
  });
  const observer = new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type !== 'attributes') continue;
      window.__fleetScriptChangedAt = performance.now();
      if (m.target.getAttribute('data-test-script-state') === 'running') window.__fleetScriptRuns += 1;
    }
    noteToasts();
  });
  const start = () => observer.observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
    attributes: true, attributeFilter: ['data-test-script-state'],
  });
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""
QUIET_MS = 200  # idle this long after the last change of script state: no chained run is coming
SETTLED = f"""() => {{
  const app = document.querySelector('{APP_ROOT}');
  return app !== null
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && performance.now() - (window.__fleetScriptChangedAt || 0) > {QUIET_MS}
    && document.querySelector('[data-stale="true"]') === null;
}}"""


def install_run_counter(context: BrowserContext) -> None:
    context.add_init_script(RUN_COUNTER_SCRIPT)


def script_runs(page: Page) -> int:
    return int(page.evaluate("window.__fleetScriptRuns || 0"))


def wait_until_idle(page: Page) -> None:
    """Wait until no script run is going on or about to chain, and no element of a previous run is left on screen
    (Streamlit marks those stale until the new run replaces or removes them)."""
    page.wait_for_function(SETTLED, timeout=RERUN_TIMEOUT_MS, polling=50)


@contextmanager
def rerun(page: Page) -> Iterator[None]:
    """Around an action that makes Streamlit rerun the script: wait for that run to start and to finish."""
    before = script_runs(page)
    yield
    # When the action started no run (nothing changed), the grace expires and idle is already true.
    with suppress(PlaywrightTimeout):
        page.wait_for_function(f"(window.__fleetScriptRuns || 0) > {before}", timeout=RERUN_START_GRACE_MS)
    wait_until_idle(page)
    expect_no_exception(page)  # fail at the step that raised, with the app's traceback in the message


def _in_form(locator: Locator) -> bool:
    """Widgets inside st.form do not rerun the script until the form is submitted."""
    return locator.locator('xpath=ancestor::*[@data-testid="stForm"]').count() > 0


def open_app(page: Page, url: str) -> None:
    """Load the app and wait for its first script run to finish (the root reads `initial` until then)."""
    page.goto(url, wait_until="domcontentloaded")
    wait_until_idle(page)
    expect_no_exception(page)


def widget(root: Page | Locator, test_id: str, label: str) -> Locator:
    """The widget of kind `test_id` (stTextInput, stSelectbox…) whose visible label is exactly `label`.

    `test_id` may list several kinds separated by commas ("stTextInput,stTextArea")."""
    page = root if isinstance(root, Page) else root.page
    label_locator = page.locator('[data-testid="stWidgetLabel"]').filter(has_text=exact(label))
    kinds = ", ".join(f'[data-testid="{kind.strip()}"]' for kind in test_id.split(","))
    return root.locator(kinds).filter(has=label_locator)


def _the_one(locator: Locator, description: str) -> Locator:
    expect(locator, f"exactly one {description}").to_have_count(1, timeout=RERUN_TIMEOUT_MS)
    return locator


def _after_input(page: Page, box: Locator) -> AbstractContextManager[None]:
    return nullcontext() if _in_form(box) else rerun(page)


def fill_text(page: Page, label: str, value: str, *, scope: Locator | None = None) -> None:
    """Type into a st.text_input / st.number_input / st.text_area and commit the value (Tab), like a user."""
    box = _the_one(widget(scope or page, "stTextInput,stNumberInput,stTextArea", label), f"text field {label!r}")
    field = box.locator("input, textarea").first
    with _after_input(page, box):
        field.fill(value)
        field.press("Tab")


def text_value(page: Page, label: str, *, scope: Locator | None = None) -> str:
    box = _the_one(widget(scope or page, "stTextInput,stNumberInput,stTextArea", label), f"text field {label!r}")
    return box.locator("input, textarea").first.input_value()


# By CSS, not by role: while its list is open, the combobox's surroundings are hidden from assistive technology.
COMBOBOX = 'input[role="combobox"]'


def _choose(page: Page, box: Locator, option: Text, search: str) -> None:
    combobox = box.locator(COMBOBOX)
    combobox.click()
    # Typing narrows long lists (a country list) so the option is rendered rather than scrolled out of view.
    combobox.fill(search)
    choice = page.get_by_role("listbox").get_by_role("option").filter(has_text=exact(option)).first
    choice.click()


def select_option(
    page: Page, label: str, option: Text, *, search: str | None = None, scope: Locator | None = None
) -> None:
    """Choose `option` in the st.selectbox labelled `label` (a combobox: open it, type to filter, click).

    `option` is the option's exact text, or a pattern for options whose text changes (counts); `search` is what
    the user types to narrow the list (by default the option's text)."""
    if search is None:
        if isinstance(option, re.Pattern):
            raise ValueError("give `search` text with an option pattern")
        search = option
    box = _the_one(widget(scope or page, "stSelectbox", label), f"select box {label!r}")
    with _after_input(page, box):
        _choose(page, box, option, search)
        expect(box.locator(COMBOBOX)).to_have_value(option)


def selected_option(page: Page, label: str, *, scope: Locator | None = None) -> str:
    box = _the_one(widget(scope or page, "stSelectbox", label), f"select box {label!r}")
    return box.locator(COMBOBOX).input_value()


def select_options(page: Page, label: str, options: list[str], *, scope: Locator | None = None) -> None:
    """Add each of `options` to the st.multiselect labelled `label`."""
    box = _the_one(widget(scope or page, "stMultiSelect", label), f"multiselect {label!r}")
    for option in options:
        with _after_input(page, box):
            _choose(page, box, option, option)
            page.keyboard.press("Escape")


def set_checkbox(page: Page, label: str, value: bool = True, *, scope: Locator | None = None) -> None:
    """Tick (or untick) the st.checkbox / st.toggle labelled `label`."""
    box = _the_one((scope or page).locator('[data-testid="stCheckbox"]').filter(has_text=exact(label)), label)
    field = box.locator('input[type="checkbox"]')
    if field.is_checked() != value:
        with _after_input(page, box):
            box.locator("label").first.click()
            expect(field).to_be_checked(checked=value)


def open_tab(page: Page, label: str) -> Locator:
    """Click the st.tabs tab labelled `label` and return its panel (switching tabs does not rerun the script)."""
    tab = _the_one(page.get_by_role("tab", name=label, exact=True), f"tab {label!r}")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    return _the_one(page.locator(f'[role="tabpanel"][aria-labelledby="{tab.get_attribute("id")}"]'), "tab panel")


def form(page: Page | Locator, submit_label: str) -> Locator:
    """The st.form whose submit button reads `submit_label`."""
    root_page = page if isinstance(page, Page) else page.page
    return page.locator('[data-testid="stForm"]').filter(has=_button(root_page, "stFormSubmitButton", submit_label))


def submit_form(page: Page, submit_label: str, *, scope: Locator | None = None) -> None:
    root = scope or page
    button = _button(root, "stFormSubmitButton", submit_label)
    _the_one(button, f"form submit button {submit_label!r}")
    with rerun(page):
        button.click()


def _button(root: Page | Locator, kind: str, label: str | None) -> Locator:
    """Buttons of `kind` (stButton, stDownloadButton, stFormSubmitButton) reading `label`.

    Found by CSS and text, not by role: while a select box's list is open the rest of the page is hidden from
    assistive technology. A button's icon is a font ligature whose text ("download") precedes the label."""
    found = root.locator(f'[data-testid="{kind}"] button')
    if label is None:
        return found
    return found.filter(has_text=re.compile(rf"^\s*(?:[a-z_0-9]+)?\s*{re.escape(label)}\s*$"))


def buttons(page: Page | Locator, label: str) -> Locator:
    return _button(page, "stButton", label)


def click_button(page: Page, label: str, *, scope: Locator | None = None) -> None:
    button = _the_one(buttons(scope or page, label), f"button {label!r}")
    with rerun(page):
        button.click()


def download_buttons(page: Page | Locator, label: str | None = None) -> Locator:
    return _button(page, "stDownloadButton", label)


def download(page: Page, label: str, target: Path, *, scope: Locator | None = None) -> Path:
    """Click the st.download_button labelled `label` and save what the browser receives to `target`."""
    button = _the_one(download_buttons(scope or page, label), f"download button {label!r}")
    with rerun(page), page.expect_download(timeout=RERUN_TIMEOUT_MS) as info:
        button.click()
    received: Download = info.value
    received.save_as(target)
    return target


def toasts(page: Page) -> Locator:
    return page.locator('[data-testid="stToast"]')


def toasts_seen(page: Page) -> list[str]:
    """The text of every toast this tab has shown, including those already gone."""
    return list(page.evaluate("window.__fleetToasts || []"))


def expect_toast(page: Page, text: str) -> None:
    """Wait until a toast containing `text` has been shown (it may have vanished since)."""
    try:
        page.wait_for_function(
            "text => (window.__fleetToasts || []).some(toast => toast.includes(text))",
            arg=text,
            timeout=RERUN_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"no toast saying {text!r}; toasts shown: {toasts_seen(page)}") from None


def alerts(page: Page | Locator, kind: str | None = None) -> Locator:
    """st.error/st.warning/st.info/st.success boxes; `kind` narrows to one of error, warning, info, success."""
    if kind is None:
        return page.locator('[data-testid="stAlert"]')
    return page.locator(f'[data-testid="stAlertContent{kind.capitalize()}"]')


def exceptions(page: Page) -> Locator:
    return page.locator('[data-testid="stException"]')


def expect_no_exception(page: Page) -> None:
    """A traceback on screen is a bug in the app, never an expected outcome."""
    shown = exceptions(page)
    if shown.count():
        raise AssertionError("The app shows an exception:\n" + shown.first.inner_text()[:2000])


def _expand_navigation(page: Page) -> None:
    """A long navigation is folded behind "View n more"; unfold it so every page is reachable."""
    more = page.locator('[data-testid="stSidebarNavViewButton"]').filter(has_text=re.compile(r"^View \d+ more$"))
    if more.count():
        more.click()


def navigation_links(page: Page) -> Locator:
    _expand_navigation(page)
    return page.locator('[data-testid="stSidebarNav"] a[data-testid="stSidebarNavLink"]')


# A page's icon is drawn from a font ligature ("dashboard"): its text is not part of the page's title.
_LINK_TITLES = """links => links.map(link => {
  const copy = link.cloneNode(true);
  copy.querySelectorAll('[data-testid="stIconMaterial"], [data-testid="stIconEmoji"]').forEach(i => i.remove());
  return copy.textContent.trim();
})"""


def navigation_titles(page: Page) -> list[str]:
    links = navigation_links(page)
    expect(links.first).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    return list(links.evaluate_all(_LINK_TITLES))


def navigate(page: Page, title: str) -> None:
    """Open a page through the sidebar navigation, by its title (the link's accessible name)."""
    _expand_navigation(page)
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True)
    _the_one(link, f"navigation link {title!r}")
    if link.get_attribute("aria-current") == "page":
        return  # already there
    with rerun(page):
        link.click()


def dataframe(page: Page | Locator, key: str) -> Locator:
    """The st.dataframe drawn with `key` (a selectable one carries it) or inside the container keyed `<key>_box`
    (Streamlit marks a keyed element's container with the class `st-key-<key>`)."""
    return page.locator(
        f'.st-key-{key} [data-testid="stDataFrame"], .st-key-{key}_box [data-testid="stDataFrame"]'
    ).first


def _grid(frame: Locator) -> Locator:
    # The grid is drawn on a canvas; Streamlit's data grid keeps an accessible copy of the rows on screen.
    grid = frame.locator('table[role="grid"]')
    grid.wait_for(state="attached", timeout=RERUN_TIMEOUT_MS)
    return grid


def table_row_count(frame: Locator) -> int:
    """Rows of a st.dataframe, all of them (not only those scrolled into view); the header row not counted."""
    return int(_grid(frame).get_attribute("aria-rowcount") or "1") - 1


_GRID_RECORDS = """grid => {
  const headers = {};
  grid.querySelectorAll('thead th[role="columnheader"]').forEach(h => {
    headers[h.getAttribute('aria-colindex')] = h.textContent.trim();
  });
  return [...grid.querySelectorAll('tbody tr[role="row"]')].map(row => Object.fromEntries(
    [...row.querySelectorAll('td[role="gridcell"]')].map(c => [headers[c.getAttribute('aria-colindex')] ?? '?',
                                                               c.textContent.trim()])));
}"""


def table_records(frame: Locator) -> list[dict[str, str]]:
    """The rows of a st.dataframe that are on screen, as {column header: cell text}."""
    return list(_grid(frame).evaluate(_GRID_RECORDS))


def expect_row_count(frame: Locator, rows: int) -> None:
    """Wait until the st.dataframe holds exactly `rows` rows (it is redrawn after the rerun a filter starts)."""
    expect(frame.locator('table[role="grid"]')).to_have_attribute(
        "aria-rowcount", str(rows + 1), timeout=RERUN_TIMEOUT_MS
    )
