"""The playground's page in a real browser: Debian's chromium driven by Playwright.

One real server (the playground's app under uvicorn on a free port) and one browser serve every
test of the module; each test opens its own tab, which makes its own run. The tests skip, saying
why, where Playwright, Starlette, uvicorn or a chromium cannot be had.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground's server needs starlette")
uvicorn = pytest.importorskip("uvicorn", reason="the playground's server needs uvicorn")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
Image = pytest.importorskip("PIL.Image", reason="comparing screenshots needs Pillow")
expect = sync_api.expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_SECONDS = 20
BAR = "\u0304"  # the combining bar of the adjoints' names


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post_json(url: str, body: object) -> tuple[int, object]:
    """POST `body`; the status and the JSON answer, error answers included."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.fixture(scope="module")
def server() -> str:
    """The base URL of the real playground app, served by uvicorn on a free port."""
    from wengert.playground.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), log_level="warning", lifespan="off")
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not serving.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not serving.started:
        pytest.fail(f"the playground's server did not start within {START_SECONDS} s")
    yield f"http://127.0.0.1:{port}"
    serving.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture(scope="module")
def browser_context():
    """A context of a headless chromium, shared by the module's tabs."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        except sync_api.Error as err:
            pytest.skip(f"chromium at {CHROMIUM} does not start: {err.message.splitlines()[0]}")
        # one context for every tab: a new page in it opens faster than a new browser context
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        yield context
        context.close()
        browser.close()


class Tab:
    """A page of the playground, with the console's errors it logged."""

    def __init__(self, page, url: str) -> None:
        self.page, self.url, self.errors = page, url, []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def testid(self, name: str):
        return self.page.get_by_test_id(name)

    def text(self, name: str) -> str:
        return self.testid(name).inner_text()

    def steps(self) -> int:
        return int(self.text("step-count"))

    def one_step(self) -> None:
        before = self.steps()
        self.testid("step").click()
        expect(self.testid("step-count")).to_have_text(str(before + 1))

    def play_until(self, steps: int) -> None:
        """Play until the step counter reaches `steps`, then pause."""
        self.testid("play").click()
        self.page.wait_for_function(
            f"Number(document.querySelector('[data-testid=step-count]').textContent) >= {steps}",
            timeout=15000,
        )
        self.testid("play").click()
        expect(self.testid("play")).to_have_attribute("aria-pressed", "false")

    def boundary_pixels(self) -> np.ndarray:
        png = self.testid("boundary").screenshot()
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)

    def run_id(self) -> str:
        return self.page.evaluate("() => state.runId")


@pytest.fixture
def tab(browser_context, server):
    page = browser_context.new_page()
    tab = Tab(page, server)
    page.goto(server + "/")
    page.wait_for_function("() => state.runId !== null && state.boundary !== null")
    yield tab
    page.close()


def test_the_page_loads_its_menus_and_first_run_with_no_console_errors(tab, server):
    options = get_json(server + "/api/options")
    shown = tab.testid("dataset").locator("option").evaluate_all("os => os.map(o => o.value)")
    assert "xor" in shown and "seed_table" in shown
    assert len(shown) == len(options["datasets"])
    assert tab.testid("optimizer").locator("option").count() == len(options["optimizers"])
    assert tab.text("step-count") == "0"
    assert tab.testid("message").is_hidden()
    assert tab.errors == []


def test_play_lowers_the_loss_raises_the_step_count_and_redraws_the_boundary(tab):
    tab.testid("steps-per-frame").fill("20")
    tab.one_step()
    first_loss = float(tab.text("loss"))
    first_picture = tab.boundary_pixels()
    tab.play_until(300)
    assert tab.steps() >= 300
    assert float(tab.text("loss")) < 0.8 * first_loss
    changed = np.abs(tab.boundary_pixels() - first_picture).max(axis=2) > 30
    assert changed.mean() > 0.05, f"only {changed.mean():.1%} of the boundary's pixels changed"
    assert tab.errors == []


def test_one_step_advances_the_step_count_by_one(tab):
    tab.one_step()
    assert tab.steps() == 1
    tab.one_step()
    assert tab.steps() == 2
    assert math.isfinite(float(tab.text("loss")))


def test_reset_starts_a_new_run_from_step_zero(tab, server):
    tab.one_step()
    tab.one_step()
    old = tab.run_id()
    with tab.page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        tab.testid("reset").click()
    assert deleted.value.status == 204
    expect(tab.testid("step-count")).to_have_text("0")
    expect(tab.testid("loss")).to_have_text("–")
    tab.page.wait_for_function(f"() => state.runId !== null && state.runId !== '{old}'")
    with pytest.raises(urllib.error.HTTPError) as gone:
        get_json(f"{server}/api/runs/{old}/history")
    assert gone.value.code == 404
    tab.one_step()
    assert tab.steps() == 1


def chosen(tab, testid: str, value: str) -> dict:
    """Choose `value` in a menu; the config of the run the page made for it."""
    with tab.page.expect_response(lambda r: r.url.endswith("/api/runs")) as answer:
        tab.testid(testid).select_option(value)
    assert answer.value.status == 201
    return answer.value.json()["config"]


def test_another_dataset_and_optimizer_from_the_menus_make_a_run_of_them(tab):
    config = chosen(tab, "dataset", "circles")
    assert config["dataset"] == "circles"
    config = chosen(tab, "optimizer", "adam")
    assert (config["dataset"], config["optimizer"]) == ("circles", "adam")
    tab.page.wait_for_function("() => state.runId !== null && state.boundary !== null")
    tab.one_step()
    assert tab.steps() == 1
    assert tab.testid("message").is_hidden()
    assert tab.errors == []


def test_clicking_a_point_shows_its_forward_list_and_backward_sweep(tab, server):
    tab.one_step()
    x, y = tab.page.evaluate(
        "() => { const p = state.boundary.points[0];"
        " return [state.frame.px(p[0]), state.frame.py(p[1])]; }"
    )
    box = tab.testid("boundary").bounding_box()
    scale = box["width"] / tab.testid("boundary").evaluate("c => c.width")
    with tab.page.expect_response(lambda r: "/trace?" in r.url) as answer:
        tab.testid("boundary").click(position={"x": x * scale, "y": y * scale})
    trace = answer.value.json()
    panel = tab.testid("trace")
    expect(panel).to_contain_text("Backward sweep")
    names = panel.locator("tbody tr td:first-child").all_inner_texts()
    forward = [line["name"] for line in trace["forward"]]
    backward = [line["name"] for line in trace["backward"]]
    assert names == forward + backward
    assert forward[:2] == ["t1", "t2"]
    # each adjoint is a forward or input name with a bar over it: t1 → t1̄
    assert "t1" + BAR in backward
    assert set(backward) <= {name + BAR for name in forward + list(trace["gradients"])}
    # every value the page shows is the API's, to the 4 or 6 digits it shows
    values = panel.locator("tbody td.value").all_inner_texts()
    for line, text in zip(trace["forward"] + trace["backward"], values, strict=True):
        shown = [float(v) for v in re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", text)]
        np.testing.assert_allclose(shown, np.ravel(line["value"]), rtol=1e-3, atol=1e-9)
    assert tab.errors == []


def test_a_bad_learning_rate_shows_the_apis_message_on_the_page(tab, server):
    with tab.page.expect_request(lambda r: r.url.endswith("/api/runs")) as sent:
        tab.testid("learning-rate").fill("-1")
        tab.testid("learning-rate").press("Tab")
    status, answer = post_json(server + "/api/runs", sent.value.post_data_json)
    assert status == 422 and answer["field"] == "learning_rate"
    expect(tab.testid("message")).to_have_text(answer["error"])
    assert "learning_rate" in tab.text("message")


def test_a_diverging_run_stops_playing_and_says_at_which_step(tab):
    config = chosen(tab, "dataset", "seed_table")
    assert (config["hidden"], config["schedule"]) == ([], "inverse_sqrt")
    tab.page.wait_for_function("() => state.runId !== null && state.boundary !== null")
    with tab.page.expect_response(lambda r: r.url.endswith("/api/runs")):
        tab.testid("learning-rate").fill("50")
        tab.testid("learning-rate").press("Tab")
    tab.page.wait_for_function("() => state.runId !== null && state.boundary !== null")
    tab.testid("steps-per-frame").fill("50")
    tab.testid("play").click()
    expect(tab.testid("message")).to_contain_text("diverged", timeout=10000)
    expect(tab.testid("play")).to_have_attribute("aria-pressed", "false")
    step = tab.steps()
    assert 1 < step < 1000
    assert tab.text("message") == (
        f"The loss diverged at step {step}: try a smaller learning rate."
    )
    assert tab.text("loss") == "–"
