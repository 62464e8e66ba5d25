"""The report in a real browser: headless Chromium (Debian's `chromium` and `chromedriver`, which
`make test` installs where apt is available) renders index.html at 1300 x 900. The page must not
scroll sideways (wide tables scroll inside their own box), every figure must load, and every
contents link must bring its section to the top of the window."""
import time

import chromium
import pytest

from adamlab.cli import main

pytest.importorskip("selenium.webdriver",
                    reason="selenium is not installed (pip install 'adamlab[test]')")
pytestmark = chromium.missing

WIDTH, HEIGHT = 1300, 900


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real report from real stored runs, kept small: the synthetic table (the widest table
    of the report), one seed, 5 epochs."""
    out = tmp_path_factory.mktemp("report")
    assert main(["reproduce", "table", "--quick", "--epochs", "5", "--seeds", "0", "--out",
                 str(out), "--workers", "1", "--no-progress"]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium.start(tmp_path_factory.mktemp("chromium-profile"))
    # The viewport itself at 1300 x 900 (a window of that size is smaller inside).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
                            "mobile": False})
    yield driver
    driver.quit()


def _wait(driver, script: str, what: str, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while not driver.execute_script(script):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_the_report_in_chromium_at_1300_by_900(report, browser):
    browser.get(report.as_uri())
    _wait(browser, "return document.readyState === 'complete'", "the page to load")
    assert browser.execute_script("return [innerWidth, innerHeight]") == [WIDTH, HEIGHT]

    # No sideways scrolling of the page; the wide table scrolls inside its own box.
    page_width = browser.execute_script("return document.scrollingElement.scrollWidth")
    assert page_width <= WIDTH, f"the page is {page_width} px wide in a {WIDTH} px window"
    boxes = browser.execute_script(
        "return Array.from(document.querySelectorAll('.table-box')).map(b => "
        "[b.scrollWidth, b.clientWidth, b.getBoundingClientRect().right])")
    assert boxes and all(right <= WIDTH for _, _, right in boxes)
    assert any(inner > outer for inner, outer, _ in boxes), \
        "no table is wider than the page: this check would not catch the overflow"
    assert not browser.execute_script(
        "return Array.from(document.querySelectorAll('table')).some(t => !t.closest('.table-box'))")

    # Every figure is there and decoded: an <img> with pixels, or an inline <svg>.
    figures = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure')).map(f => { "
        "const img = f.querySelector('img'); "
        "return img ? (img.complete ? img.naturalWidth : -1) : (f.querySelector('svg') ? 1 : 0)})")
    assert figures and all(w > 0 for w in figures), figures
    assert browser.execute_script("return document.images.length") >= 1

    # Every contents link lands on its section: at the top of the window, or, for a section
    # too near the end to reach the top, in view with the page scrolled to its end.
    links = browser.find_elements("css selector", "nav.toc a")
    assert len(links) >= 2
    for i in range(len(links)):
        browser.execute_script("window.scrollTo(0, 0)")
        link = browser.find_elements("css selector", "nav.toc a")[i]
        target = link.get_attribute("hash")[1:]
        link.click()
        _wait(browser, f"return location.hash === '#{target}'", f"the link to #{target}")
        top, bottom_reached = browser.execute_script(
            "const s = document.getElementById(arguments[0]); "
            "const e = document.scrollingElement; "
            "return [s.getBoundingClientRect().top, "
            "        Math.ceil(e.scrollTop + innerHeight) >= e.scrollHeight]", target)
        assert abs(top) <= 1 or (bottom_reached and 0 < top < HEIGHT), (target, top)
