"""The playground's frame rate with the digits network, against its 20 frames/s target.

One frame of the playground is one training tick (the digits network
64-32-10, mini-batches of 32, momentum SGD, 5 steps per frame: the page's
defaults for ``?dataset=digits``) plus everything the page redraws: the loss
curves, the 2,368 weights of the network drawing, the probability bars of
eight held-out digits, the status line and the tab's title. Measured three
ways:

- server side: the frame callback, and the same frame with the document's
  changes serialised into the websocket message the Bokeh server sends;
- in a real browser (headless Chromium, when Selenium and Chromium are
  installed), over a few seconds: the title changes the page itself sees
  (one per frame unless the browser handles two frames in one task), and the
  frames that reached it (the step count in the title over steps per frame).

Each is reported as frames per second and as a ratio against the target of
20 frames per second (the page asks for one frame every 40 ms, so more than
25 cannot show). Speeds 5 and 50 steps per frame are both measured.

    python bench/bench_playground.py [--frames 200] [--seconds 6] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

TARGET_FPS = 20.0


def server_side(frames: int, speed: int) -> tuple[float, float]:
    """(frames/s of the callback, frames/s with the websocket message built)."""
    from bokeh.document import Document
    from bokeh.protocol import Protocol

    from fastnn.playground._app import make_document

    protocol = Protocol()
    rates = []
    for serialise in (False, True):
        doc = Document()
        events: list = []
        doc.on_change(events.append)
        page = make_document(doc, arguments={"dataset": "digits", "speed": str(speed)})
        page.set_playing(True)
        for _ in range(5):  # warm up
            page.frame()
        events.clear()
        start = time.perf_counter()
        for _ in range(frames):
            page.frame()
            if serialise:
                message = protocol.create("PATCH-DOC", events)
                message.content_json  # noqa: B018  (builds the message text)
            events.clear()
        rates.append(frames / (time.perf_counter() - start))
        page.close()
    return rates[0], rates[1]


def in_browser(seconds: float, speed: int) -> tuple[float, float] | None:
    """In headless Chromium: (title changes the page saw per second, frames per
    second that reached it, from the step count in its title)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "fastnn", "playground", "--no-browser", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1000"):
        opts.add_argument(arg)
    driver = None
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        driver.get(f"http://127.0.0.1:{port}/?dataset=digits&autoplay=1&speed={speed}")
        time.sleep(3)  # loaded and training
        driver.execute_script(
            "window.__titles = 0; window.__start = performance.now();"
            "window.__step0 = parseInt(document.title.split(' · ')[1].split(' ')[1]);"
            "new MutationObserver(() => window.__titles++)"
            ".observe(document.querySelector('title'), {childList: true, subtree: true,"
            " characterData: true});"
        )
        time.sleep(seconds)
        changes, ms, step0, title = driver.execute_script(
            "return [window.__titles, performance.now() - window.__start, window.__step0,"
            " document.title]"
        )
        step1 = int(title.split(" · ")[1].split(" ")[1])
        return changes / (ms / 1000), (step1 - step0) / speed / (ms / 1000)
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print("| steps per frame | measured | frames/s | ratio to 20 frames/s |")
    print("|---:|---|---:|---:|")
    for speed in (5, 50):
        callback, message = server_side(args.frames, speed)
        rows = [("server: frame callback", callback), ("server: + websocket message", message)]
        if not args.no_browser:
            seen = in_browser(args.seconds, speed)
            rows.append(("headless Chromium: title changes seen", seen and seen[0]))
            rows.append(("headless Chromium: frames reached (steps / speed)", seen and seen[1]))
        for what, fps in rows:
            if fps is None:
                print(f"| {speed} | {what} | (no browser) | |")
            else:
                print(f"| {speed} | {what} | {fps:.1f} | {fps / TARGET_FPS:.2f} |")
    print(f"\n{os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
