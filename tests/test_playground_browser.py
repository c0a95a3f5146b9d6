"""The playground end to end in a real headless browser (the system's Chromium,
driven by Selenium): the page loads with ``?dataset=xor&autoplay=1``, the tab's
title shows the step count growing and the loss falling, a learning rate typed
into the page changes the training, and nothing is fetched from outside the
server. Skipped, with the reason, where Selenium or Chromium is missing.

``FASTNN_PLAYGROUND_SCREENSHOT=path.png`` also saves the screenshot there
(the README's picture is made so).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("bokeh", reason="the playground needs the extra fastnn[playground]")
pytest.importorskip("selenium", reason="the browser test needs selenium (pip install selenium)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

TITLE = re.compile(r"^fastnn · step (\d+) · (?:loss (\S+)|diverged)$")
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no system Chromium and chromedriver on PATH "
    "(Debian/Ubuntu: apt-get install chromium chromium-driver)",
)

# the page's elements sit inside Bokeh's shadow DOM: search every shadow root
DEEP_QUERY = """
const [selector, inner] = arguments;
function deep(root) {
  const hit = root.querySelector(selector);
  if (hit) return hit;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const found = deep(el.shadowRoot); if (found) return found; }
  }
  return null;
}
const host = deep(document);
if (!host) return null;
if (!inner) return host;
return (host.shadowRoot || host).querySelector(inner);
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = dict(os.environ)
    src = str(Path(__import__("fastnn").__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastnn", "playground", "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the playground did not start: {proc.stdout.read()}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the playground did not listen within 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,1000",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def titles(driver, n, gap=0.5):
    """``n`` readings (step, loss) of the tab's title, ``gap`` seconds apart (or more:
    a busy browser answers slowly)."""
    seen = []
    deadline = time.monotonic() + 60 + n * gap
    while len(seen) < n and time.monotonic() < deadline:
        m = TITLE.match(driver.title)
        if m:
            seen.append((int(m.group(1)), float(m.group(2)) if m.group(2) else float("inf")))
        time.sleep(gap)
    assert len(seen) == n, f"the title did not show progress: {driver.title!r}"
    return seen


def type_lr(driver, text, check=True):
    """Type a learning rate into the page's box, as a student would, and press Enter."""
    box = driver.execute_script(DEEP_QUERY, ".fastnn-lr", "input")
    assert box is not None, "no learning-rate box in the page"
    old = box.get_attribute("value")
    box.click()
    box.send_keys(Keys.END, *[Keys.BACKSPACE] * len(old), text, Keys.ENTER)
    if check:
        assert box.get_attribute("value") == text


def div_text(driver, selector, html=False):
    """The text (or HTML) of one of the page's Divs (drawn in its shadow root)."""
    div = driver.execute_script(DEEP_QUERY, selector, None)
    return driver.execute_script(
        "const r = arguments[0].shadowRoot; const t = r.querySelector('.bk-clearfix') || r;"
        "return arguments[1] ? t.innerHTML : t.innerText",
        div,
        html,
    )


def wait_for(condition, seconds=60):
    """Wait until ``condition()`` holds (the page answers through the server)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the page did not answer in time"
        time.sleep(0.3)


def test_the_page_learns_live_and_answers_its_knobs(server, browser, tmp_path):
    browser.get(f"{server}/?dataset=xor&autoplay=1")
    seen = titles(browser, 4, gap=0.7)
    steps = [s for s, _ in seen]
    assert steps == sorted(steps) and steps[-1] > steps[0] >= 0
    assert seen[-1][1] < 0.5 * seen[0][1], seen  # the loss falls

    # at its own rate (Adam, 0.05) the loss keeps moving from reading to reading
    moving = titles(browser, 2, gap=1.0)
    assert moving[-1][1] != pytest.approx(moving[0][1], rel=1e-3), moving

    # a tiny rate, typed into the page as a student would: steps go on, the loss stands
    type_lr(browser, "1e-12")
    wait_for(lambda: "lr=1e-12&" in div_text(browser, ".fastnn-share", html=True))
    titles(browser, 1)  # the frame under way when the rate changed
    frozen = titles(browser, 2, gap=1.0)
    assert frozen[-1][0] > frozen[0][0]  # still stepping
    assert frozen[-1][1] == pytest.approx(frozen[0][1], rel=1e-6), frozen

    # a value that is no number: the page says so and keeps the rate it had
    type_lr(browser, "abc", check=False)
    wait_for(lambda: "abc" in div_text(browser, ".fastnn-messages"))
    assert "lr='abc' is not a number: 1e-12 is used" in div_text(browser, ".fastnn-messages")
    box = browser.execute_script(DEEP_QUERY, ".fastnn-lr", "input")
    assert box.get_attribute("value") == "1e-12"

    shot = tmp_path / "playground.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_nothing_is_fetched_from_outside_the_server(server, browser):
    browser.get_log("performance")  # drop what came before
    browser.get(f"{server}/?dataset=digits&autoplay=1")
    titles(browser, 2)
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert any("/static/js/bokeh" in u for u in urls), urls
    outside = [u for u in urls if not u.startswith((server, server.replace("http", "ws"), "data:"))]
    assert outside == []


def test_the_readme_screenshot(server, browser):
    """The README's picture: a few seconds of the spirals learning."""
    path = os.environ.get("FASTNN_PLAYGROUND_SCREENSHOT")
    if not path:
        pytest.skip("set FASTNN_PLAYGROUND_SCREENSHOT=path.png to write the README's picture")
    browser.get(f"{server}/?dataset=spirals&autoplay=1&speed=5")
    titles(browser, 8, gap=0.7)
    assert browser.save_screenshot(path)
