"""The browser the page tests look through: Debian's headless Chromium driven by Debian's chromedriver (no
driver download), and the measurements made on what it renders — text size, contrast computed from the
computed colours (WCAG relative luminance), boxes spilling sideways. Shared by the county dashboard's tests
and the phone page's, so both pages are held to one way of measuring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait


def wait_for(what: str, cond: Any, seconds: float = 10.0) -> None:
    """Poll a condition without a browser (WebDriverWait's clock, a named failure)."""
    WebDriverWait(None, seconds, poll_frequency=0.02).until(lambda _: cond(), f"waited {seconds} s for {what}")



def chrome_options(*args: str) -> webdriver.ChromeOptions:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--hide-scrollbars", "--disable-dev-shm-usage", "--lang=zh-CN",
                *args):
        opts.add_argument(arg)
    return opts


def start_chromium(*args: str) -> WebDriver:
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=chrome_options(*args))


def chromium_session(*args: str) -> Iterator[WebDriver]:
    """A browser for a module's fixture (`yield from chromium_session(...)`), quit however the tests went."""
    driver = start_chromium(*args)
    try:
        yield driver
    finally:
        driver.quit()


def viewport(driver: WebDriver, width: int, height: int) -> None:
    """The page's own area at exactly width × height (the window's frame added, as a real screen has none)."""
    frame = driver.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight]")
    driver.set_window_size(width + frame[0], height + frame[1])
    got = driver.execute_script("return [innerWidth, innerHeight]")
    assert got == [width, height]


# Every element with text of its own: its font size, and the contrast of its colour on what is behind it.
TEXT_STYLES = """
function rgba(s) { var m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; }
function lum(c) {
  var v = c.slice(0, 3).map(function (x) {
    x /= 255;
    return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function behind(el) {
  for (var e = el; e; e = e.parentElement) {
    var c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { return c; }
  }
  return [255, 255, 255, 1];
}
var out = [];
document.querySelectorAll("body *").forEach(function (el) {
  var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!own || !el.getClientRects().length || el.closest("script, style, [hidden]")) { return; }
  var cs = getComputedStyle(el), fg = lum(rgba(cs.color)), bg = lum(behind(el));
  out.push({text: el.textContent.trim().slice(0, 24), cls: el.className, size: parseFloat(cs.fontSize),
            ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)});
});
return out;
"""

# A box whose content is wider than it is clipped or spills over its neighbour.
OVERFLOWS = """
return Array.prototype.filter.call(document.querySelectorAll(".panel, .top, .kpis li, body"), function (el) {
  return el.scrollWidth > el.clientWidth + 1;
}).map(function (el) { return el.className || el.tagName; });
"""


