"""The report's interactive figures in a real browser: headless Chromium (Debian's `chromium` and
`chromedriver`, as tests/test_report_browser.py) opens the quick phase report from its file.
A real mouse click on a phase-diagram cell (Selenium's pointer at the cell's pixels, which
Plotly reads as plotly_click) must open that cell's trajectories with the run ids the store holds
for the cell; hover shows each seed; the keyboard list opens a cell too; the findings table's
links reach their sections; the console logs no error; the page never scrolls sideways, at
1300 px or at a phone's 390 px."""
import csv
import re
import time

import chromium
import pytest

from plotly.offline import get_plotlyjs

from adamlab.cli import main
from adamlab.report.items.optimisers import LINE_KEYS, line_label
from adamlab.sweep.store import Store

pytest.importorskip("selenium.webdriver",
                    reason="selenium is not installed (pip install 'adamlab[test]')")
pytestmark = chromium.missing

WIDE, NARROW, HEIGHT = 1300, 390, 900


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The quick phase and optimisers report (Adam and AdamW over 3 batch sizes x 2 weight
    decays; 7 optimisers over 3 batch sizes) with two seeds per cell, so a cell has more than
    one trajectory to tell apart; 20 epochs and the budget alone keep it to seconds (the end
    state's own report is tests/test_end_horizon_report.py)."""
    out = tmp_path_factory.mktemp("report")
    assert main(["reproduce", "phase", "optimisers", "--quick", "--seeds", "0", "1",
                 "--epochs", "20", "--out", str(out), "--workers", "1", "--no-progress",
                 "--no-end-state"]) == 0
    return out


@pytest.fixture(scope="module")
def critical_report(tmp_path_factory):
    """The quick critical-batch study (Adam and AdamW, 3 configurations each, 2 seeds)."""
    out = tmp_path_factory.mktemp("critical")
    assert main(["reproduce", "critical-batch", "--quick", "--out", str(out), "--workers", "1",
                 "--no-progress", "--no-end-state"]) == 0
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium.start(tmp_path_factory.mktemp("chromium-profile"), console_log=True)
    yield driver
    driver.quit()


def _wait(driver, script: str, what: str, *args, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while not driver.execute_script(script, *args):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _open(driver, report, width: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": HEIGHT, "deviceScaleFactor": 1,
                            "mobile": width < 600})
    driver.get((report / "index.html").as_uri())
    _wait(driver, "return document.readyState === 'complete' && "
                  "document.querySelectorAll('.ix-figure').length > 0 && "
                  "Array.from(document.querySelectorAll('.ix-figure'))"
                  ".every(f => f.dataset.ready === 'true')", "the interactive figures to draw")
    assert driver.execute_script("return innerWidth") == width


def _page_width(driver) -> int:
    return driver.execute_script("return document.scrollingElement.scrollWidth")


def _cell_runs(report, optimizer: str, batch_size: str, weight_decay: str) -> set[str]:
    """The ids of the stored runs of one phase-diagram cell (the axes' labels as given)."""
    with Store(report / "runs.sqlite") as store:
        return {r["id"] for r in store.runs({"optimizer": optimizer})
                if f"{r['config']['batch_size']:g}" == batch_size
                and f"{r['config']['weight_decay']:g}" == weight_decay}


def _click(driver, x: float, y: float) -> None:
    """A real mouse: move to (x, y) in the window, rest there (Plotly reads a click from its
    hover), click."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(x), int(y)).pause(0.3).click()
    actions.perform()


def _loneliest_point(driver, fig, mode: str) -> tuple[float, float, str]:
    """(x, y in the window, key) of the point of a `mode` trace farthest from every point of
    another place, so a click there cannot land on a neighbour."""
    return driver.execute_script(
        "const gd = arguments[0].querySelector('.ix-plot'); const L = gd._fullLayout; "
        "const r = gd.getBoundingClientRect(); const xa = L.xaxis, ya = L.yaxis; "
        "const pts = []; gd.data.filter(t => t.meta).forEach(t => t.x.forEach((x, j) => { "
        "  if (t.y[j] !== null) pts.push([r.left + xa._offset + xa.c2p(x), "
        "    r.top + ya._offset + ya.c2p(t.y[j]), t.meta.keys[j], t.mode === arguments[1]]); })); "
        "let best = null, gap = -1; pts.filter(p => p[3]).forEach(p => { "
        "  const d = Math.min(Infinity, ...pts.filter(q => q[2] !== p[2])"
        "    .map(q => Math.hypot(q[0] - p[0], q[1] - p[1]))); "
        "  if (d > gap) { gap = d; best = p; } }); return best.slice(0, 3)", fig, mode)


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_plotly_is_inlined_once_and_the_page_stays_small(report):
    page = (report / "index.html").read_text(encoding="utf-8")
    assert page.count(get_plotlyjs()) == 1  # three interactive figures, one bundle
    assert page.count("<script>") == 2  # the bundle and the script that draws the figures
    assert not re.search(r"<script[^>]*\bsrc=|<link", page)
    # docs/report.md: a full report is predicted at about 8 MB; this one holds the same bundle.
    assert (report / "index.html").stat().st_size < 10e6


def test_clicking_a_phase_cell_shows_its_runs(report, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    _open(browser, report, WIDE)
    _errors(browser)  # drop what loading logged before; checked at the end
    fig = browser.find_element("css selector", "#ix-phase-adam")
    browser.execute_script("arguments[0].scrollIntoView()", fig)
    # The cell's centre in the window: Plotly's axes map a category's index to pixels.
    x, y, bs, wd = browser.execute_script(
        "const gd = arguments[0].querySelector('.ix-plot'); const L = gd._fullLayout; "
        "const r = gd.getBoundingClientRect(); const xa = L.xaxis, ya = L.yaxis; "
        "return [r.left + xa._offset + xa.l2p(1), r.top + ya._offset + ya.l2p(0), "
        "        xa._categories[1], ya._categories[0]]", fig)
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(int(x), int(y)).pause(0.3)
    actions.perform()
    _wait(browser, "return !!arguments[0].querySelector('.hovertext')", "the hover label", fig)
    hover = browser.execute_script("return arguments[0].querySelector('.hovertext').textContent",
                                   fig)
    assert "seed 0" in hover and "seed 1" in hover and "test" in hover, hover
    _click(browser, x, y)
    _wait(browser, "const p = arguments[0].querySelector('.ix-panel'); "
                   "return !p.hidden && p.querySelector('.ix-traj .main-svg')",
          "the cell's trajectories", fig)
    panel = browser.execute_script(
        "const p = arguments[0].querySelector('.ix-panel'); "
        "return [p.dataset.cell, Array.from(p.querySelectorAll('li[data-run-id]'))"
        ".map(r => r.dataset.runId), p.querySelector('.ix-traj').data.map(t => t.meta), "
        "p.textContent]", fig)
    cell, rows, traced, text = panel
    assert cell == f"{bs}|{wd}"
    expected = _cell_runs(report, "adam", bs, wd)
    assert len(expected) == 2 and set(rows) == expected and set(traced) == expected
    for run_id in expected:  # each run's rerun commands, as `adamlab runs --open` prints them
        assert f"runs.sqlite --open {run_id}" in text
    assert "adamlab train" in text
    names = browser.execute_script(
        "return arguments[0].querySelector('.ix-traj')._fullLayout.annotations"
        ".map(a => a.text)", fig)
    assert any(n.startswith("feature learning") for n in names)
    assert any(n.startswith("noise memorisation") for n in names)
    assert "test error" in names and any(n.startswith("step ratio") for n in names)

    # The keyboard way: the cell list opens another cell with Enter.
    browser.execute_script("arguments[0].querySelector('.ix-cells').open = true", fig)
    button = fig.find_elements("css selector", ".ix-cells button")[-1]
    ActionChains(browser).move_to_element(button).perform()
    button.send_keys("\n")
    key = button.get_attribute("data-cell")
    _wait(browser, "return arguments[0].querySelector('.ix-panel').dataset.cell === arguments[1]",
          "the keyboard-opened cell", fig, key)
    rows = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.ix-panel li[data-run-id]'))"
        ".map(r => r.dataset.runId)", fig)
    assert set(rows) == _cell_runs(report, "adam", *key.split("|"))
    assert _page_width(browser) <= WIDE
    # Nothing came from the network: every resource the page loaded is in the file itself.
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(("data:", "file:", "blob:")) for u in fetched), fetched
    assert _errors(browser) == []


def _click_a_point(browser, figure: str, mode: str) -> tuple[str, str, list[str]]:
    """Click the point of `figure` (a CSS selector) farthest from the others among its traces
    drawn in `mode`, wait for the panel it opens, and return (the point's key, the panel's
    cell, the run ids the panel lists)."""
    fig = browser.find_element("css selector", figure)
    browser.execute_script("arguments[0].scrollIntoView()", fig)
    x, y, key = _loneliest_point(browser, fig, mode)
    _click(browser, x, y)
    _wait(browser, "const p = arguments[0].querySelector('.ix-panel'); "
                   "return !p.hidden && p.querySelector('.ix-traj .main-svg')",
          "the point's trajectories", fig)
    cell, rows = browser.execute_script(
        "const p = arguments[0].querySelector('.ix-panel'); return [p.dataset.cell, "
        "Array.from(p.querySelectorAll('li[data-run-id]')).map(r => r.dataset.runId)]", fig)
    return key, cell, rows


def test_clicking_a_batch_size_point_shows_its_runs(report, browser):
    _open(browser, report, WIDE)
    key, cell, rows = _click_a_point(browser, "#ix-optimisers-test", "lines+markers")
    assert cell == key
    label, batch_size = key.rsplit("|", 1)
    with Store(report / "runs.sqlite") as store:
        expected = {r["id"] for r in store.runs({"sweep": [s for s in store.sweeps()
                                                           if s.startswith("optimisers")]})
                    if f"{r['config']['batch_size']:g}" == batch_size
                    and line_label(tuple(r["config"][k] for k in LINE_KEYS)) == label}
    assert len(expected) == 2 and set(rows) == expected
    assert _errors(browser) == []


def test_clicking_a_critical_batch_point_shows_its_bracket_ends(critical_report, browser):
    _open(browser, critical_report, WIDE)
    key, cell, rows = _click_a_point(browser, "#ix-critical-batch", "markers")
    assert cell == key and rows
    with Store(critical_report / "runs.sqlite") as store:
        shown = [r["config"] for r in store.runs({"id": rows})]
    setting = ("optimizer", "n", "d", "lr", "weight_decay")
    assert len({tuple(c[k] for k in setting) for c in shown}) == 1  # one configuration
    # Its runs are each seed's bracket ends, as the study's data file lists them.
    with open(critical_report / "data" / "critical-batch.csv") as f:
        brackets = [r for r in csv.DictReader(f)
                    if all(float(r[k]) == float(shown[0][k]) for k in setting[1:])
                    and r["optimizer"] == shown[0]["optimizer"]]
    expected = {(int(r["seed"]), int(r[end])) for r in brackets for end in ("b_low", "b_high")
                if r[end]}
    assert {(c["seed"], c["batch_size"]) for c in shown} == expected
    assert _errors(browser) == []


def test_findings_links_reach_their_sections(report, browser):
    _open(browser, report, WIDE)
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.findings a[href^=\"#\"]'))"
        ".map(a => a.hash.slice(1))")
    assert links, "the findings table has no section links"
    for i, target in enumerate(links):
        assert browser.execute_script("return !!document.getElementById(arguments[0])", target)
        browser.execute_script("window.scrollTo(0, 0)")
        browser.find_elements("css selector", "table.findings a[href^='#']")[i].click()
        _wait(browser, "return location.hash === '#' + arguments[0]", f"#{target}", target)
        top, bottom = browser.execute_script(
            "const s = document.getElementById(arguments[0]); const e = document.scrollingElement;"
            " return [s.getBoundingClientRect().top, "
            "         Math.ceil(e.scrollTop + innerHeight) >= e.scrollHeight]", target)
        assert abs(top) <= 1 or (bottom and 0 < top < HEIGHT), (target, top)
    assert _errors(browser) == []


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_no_sideways_scroll(report, browser, width):
    _open(browser, report, width)
    assert _page_width(browser) <= width, f"{_page_width(browser)} px wide at {width} px"
    # A cell's trajectories open: their table and commands stay inside the page too.
    browser.execute_script("document.querySelector('#ix-phase-adamw .ix-cells button').click()")
    _wait(browser, "return !!document.querySelector('#ix-phase-adamw .ix-traj .main-svg')",
          "the trajectories")
    assert _page_width(browser) <= width, f"{_page_width(browser)} px wide at {width} px"
    plots = browser.execute_script(
        "return Array.from(document.querySelectorAll('.ix-plot, .ix-traj'))"
        ".map(p => p.getBoundingClientRect().right)")
    assert plots and all(right <= width for right in plots), plots
    assert _errors(browser) == []
