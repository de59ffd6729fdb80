"""Write docs/playground/*.png: the playground's page after a few seconds of training.

Serves the playground's app on a free port, opens it in Debian's chromium (Playwright for
Python, never its own browser download), trains on two datasets and saves:

- xor.png: xor, a hidden layer of 4 tanh units, logistic loss, SGD: the boundary, the network
  and the loss curves;
- spirals.png: spirals with x1², x2², sin x1 and sin x2, two hidden layers of 8, Adam;
- trace.png: the Wengert list of one point of the xor run, forward and backward with values.

    .venv/bin/python scripts/playground_screenshots.py [--out docs/playground] [--seconds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from wengert.playground.server import create_app

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FLAGS += ["--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """The playground's app under uvicorn on a free local port, for the with-block."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    worker = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    worker.start()
    while not server.started:
        if not worker.is_alive():
            raise SystemExit("playground_screenshots: the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        worker.join(timeout=5)
        listener.close()


def settle(page: Page) -> None:
    """Wait until the page's queue of requests is empty and its run is drawn."""
    page.wait_for_function("() => state.runId !== null && state.boundary !== null")
    page.evaluate("() => state.queue")


def train(page: Page, seconds: float) -> None:
    """Press play, let it run `seconds`, press pause."""
    page.get_by_test_id("play").click()
    page.wait_for_timeout(seconds * 1000)
    page.get_by_test_id("play").click()
    page.evaluate("() => state.queue")
    page.mouse.move(1000, 880)  # off the buttons, which a hover colours as pressed


def configure(page: Page, fields: dict[str, str], features: list[str] | None = None) -> None:
    """Fill the form's fields by test id (menus by value), and tick exactly `features`."""
    for testid, value in fields.items():
        box = page.get_by_test_id(testid)
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
            box.press("Tab")
        settle(page)
    for name in features or []:
        page.get_by_test_id(f"feature-{name}").check()
        settle(page)


def save_small(png: bytes, path: Path) -> None:
    """Write `png` with an adaptive palette of 128 colours, a third of its size or less."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    picture.quantize(colors=128, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")


def shoot(page: Page, path: Path, selector: str) -> None:
    """Save the part of the page from the top to the bottom of `selector`."""
    box = page.locator(selector).bounding_box()
    clip = {"x": 0, "y": 0, "width": 1160, "height": box["y"] + box["height"] + 8}
    save_small(page.screenshot(clip=clip, full_page=True), path)


def main() -> None:
    """Train on xor and on spirals in the page and save the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "playground")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with serving() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1160, "height": 900})
        page.goto(url + "/")
        settle(page)
        configure(page, {"steps-per-frame": "20", "learning-rate": "0.3"})
        train(page, args.seconds)
        shoot(page, args.out / "xor.png", "figure:has([data-testid=curves])")
        point = page.evaluate(
            "() => { const p = state.boundary.points[3]; "
            "return {x: state.frame.px(p[0]), y: state.frame.py(p[1])}; }"
        )
        page.get_by_test_id("boundary").click(position=point)
        page.get_by_test_id("trace").locator("caption", has_text="Backward sweep").wait_for()
        save_small(page.get_by_test_id("trace").screenshot(), args.out / "trace.png")
        fields = {"dataset": "spirals", "hidden": "12, 12", "optimizer": "adam"}
        configure(page, {**fields, "learning-rate": "0.02"}, ["x1_sq", "x2_sq", "sin_x1", "sin_x2"])
        train(page, 2 * args.seconds)
        shoot(page, args.out / "spirals.png", "figure:has([data-testid=curves])")
        browser.close()


if __name__ == "__main__":
    main()
