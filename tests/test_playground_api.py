"""The playground's JSON API through Starlette's TestClient: every endpoint, every error case,
and the numbers of real runs (the lecture's w, the xor MLP, fit's full batch, the trace)."""

import json
import math
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the playground extra (Starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from classic_helpers import TABLE_X, TABLE_Y

with warnings.catch_warnings():  # Starlette's notice that it prefers httpx2 to httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import wengert as wg
from wengert import losses, optim
from wengert.autodiff.ops import linear
from wengert.playground import Run, limits, validate
from wengert.playground.server import create_app
from wengert.plot.paths import OPTIMIZERS, SURFACES, optimizer_path
from wengert.train import fit

LECTURE = {
    "dataset": "seed_table",
    "features": ["x1"],
    "hidden": [],
    "bias": False,
    "loss": "l2",
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "schedule": "inverse_sqrt",
    "batch_size": 1,
    "shuffle": False,
}


@pytest.fixture
def client():
    return TestClient(create_app())


def make_run(client, **config):
    response = client.post("/api/runs", json=config)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_options_list_the_menus_and_the_limits(client):
    body = client.get("/api/options").json()
    assert body["datasets"] == ["xor", "circles", "moons", "spirals", "blobs", "seed_table"]
    assert {"l1", "l2", "hinge", "logistic", "cross_entropy"} <= set(body["losses"])
    assert body["optimizers"][:6] == ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw"]
    assert "lbfgs" in body["optimizers"] and "inverse_sqrt" in body["schedules"]
    assert body["momentum_forms"] == ["pytorch", "lecture"]
    assert body["limits"]["max_runs"] == limits.MAX_RUNS
    assert body["defaults"]["seed_table"]["schedule"] == "inverse_sqrt"
    assert body["path_optimizers"] == list(OPTIMIZERS)


def test_a_new_run_answers_its_id_and_full_config(client):
    response = client.post("/api/runs", json={"dataset": "moons", "hidden": [3, 2]})
    assert response.status_code == 201
    body = response.json()
    assert len(body["id"]) == 16
    assert body["config"] == validate({"dataset": "moons", "hidden": [3, 2]})
    assert body["config"]["loss"] == "logistic" and body["config"]["batch_size"] == 10


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"hidden": [100]}, "hidden", "hidden[0] must be an int in [1, 32]; got 100."),
        ({"hidden": [2] * 7}, "hidden", "a list of at most 6 hidden widths"),
        ({"n_samples": 5000}, "n_samples", "n_samples must be an int in [4, 1000]; got 5000."),
        ({"loss": "zz"}, "loss", "loss must be one of"),
        ({"colour": 1}, "colour", "colour is not a config field"),
        (
            {"learning_rate": -1},
            "learning_rate",
            "learning_rate must be a float in (0, 100]; got -1.",
        ),
        (
            {"batch_size": 0},
            "batch_size",
            "batch_size must be an int in [1, 1000] or 'full'; got 0.",
        ),
        ({"batch_size": 500}, "batch_size", "at most the 160 training samples"),
        ({"bias": 1}, "bias", "bias must be a bool (True or False); got 1."),
        ({"features": ["x3"]}, "features", "features[0] must be one of"),
        ({"dataset": "seed_table", "loss": "hinge"}, "loss", "a loss of real values"),
        ({"dataset": "seed_table", "features": ["x2"]}, "features", "for seed_table"),
        ({"optimizer": "lbfgs", "schedule": "cosine"}, "schedule", "'constant' for lbfgs"),
    ],
)
def test_a_bad_field_is_refused_with_422_naming_it(client, config, field, message):
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.json()["error"].startswith("playground: ")
    assert message in response.json()["error"]


def test_a_body_that_is_not_an_object_or_not_json_is_refused(client):
    response = client.post("/api/runs", json=[1, 2])
    assert response.status_code == 422
    assert response.json() == {
        "error": "playground: the config must be a JSON object; got list.",
        "field": "config",
    }
    response = client.post("/api/runs", content=b"{nope", headers={"content-type": "text/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "playground: the request body must be JSON."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/step"),
        ("get", "/boundary"),
        ("get", "/trace?x=0&y=0"),
        ("get", "/weights"),
        ("get", "/history"),
        ("delete", ""),
    ],
)
def test_an_unknown_id_is_404(client, method, path):
    kwargs = {"json": {"steps": 1}} if method == "post" else {}
    response = getattr(client, method)(f"/api/runs/feedbeef{path}", **kwargs)
    assert response.status_code == 404
    assert response.json()["error"].startswith("playground: no run has id 'feedbeef'")


def test_delete_answers_204_and_the_run_is_gone(client):
    key = make_run(client)
    assert client.delete(f"/api/runs/{key}").status_code == 204
    assert client.get(f"/api/runs/{key}/weights").status_code == 404


def test_steps_over_the_limit_per_request_are_refused(client):
    key = make_run(client)
    for steps in (1001, -1, 2.5, True, "3"):
        response = client.post(f"/api/runs/{key}/step", json={"steps": steps})
        assert response.status_code == 422
        assert response.json()["field"] == "steps"
        assert (
            "steps must be an int in [0, 1000] (the limit per request)" in response.json()["error"]
        )
    assert client.post(f"/api/runs/{key}/step", json={"steps": 0}).json()["step"] == 0


def test_steps_over_the_rate_are_refused_with_429(client, monkeypatch):
    monkeypatch.setattr(limits, "STEPS_PER_SECOND", 0.001)
    monkeypatch.setattr(limits, "MAX_STEPS_PER_REQUEST", 10)
    key = make_run(client)
    assert client.post(f"/api/runs/{key}/step", json={"steps": 10}).status_code == 200
    response = client.post(f"/api/runs/{key}/step", json={"steps": 1})
    assert response.status_code == 429
    assert response.json()["error"].startswith(
        "playground: a run may take at most 0.001 steps per second; 1 steps now would go over it."
    )


def test_too_many_runs_are_refused_with_429():
    client = TestClient(create_app(store=limits.RunStore(max_runs=2)))
    first = make_run(client)
    make_run(client)
    response = client.post("/api/runs", json={})
    assert response.status_code == 429
    assert response.json()["error"].startswith(
        "playground: at most 2 runs may be live at once; 2 are."
    )
    client.delete(f"/api/runs/{first}")
    assert client.post("/api/runs", json={}).status_code == 201


def test_an_idle_run_expires():
    now = [0.0]
    store = limits.RunStore(max_runs=5, idle_seconds=60, clock=lambda: now[0])
    key = store.add("run")
    now[0] = 59.0
    assert store.get(key) == "run"  # a read starts the idle time again
    now[0] = 118.0
    assert store.get(key) == "run"
    now[0] = 178.5
    assert store.get(key) is None and len(store) == 0


def test_the_rate_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = limits.RateBucket(rate=100, capacity=50, clock=lambda: now[0])
    bucket.take(50)
    with pytest.raises(limits.LimitError, match=r"Wait 0\.01 s"):
        bucket.take(1)
    now[0] = 0.2  # 20 steps back
    bucket.take(20)
    with pytest.raises(limits.LimitError):
        bucket.take(1)


def test_the_loss_falls_on_xor_with_an_mlp(client):
    key = make_run(client, dataset="xor", hidden=[4], activation="tanh", learning_rate=0.1)
    start = client.post(f"/api/runs/{key}/step", json={"steps": 0}).json()
    end = client.post(f"/api/runs/{key}/step", json={"steps": 200}).json()
    assert start["loss"] == pytest.approx(0.721169, abs=1e-5)
    assert end["loss"] == pytest.approx(0.536929, abs=1e-5)
    assert end["accuracy"] == pytest.approx(0.79375) and start["accuracy"] == pytest.approx(0.44375)
    assert end["val_loss"] < start["val_loss"]
    assert (end["step"], end["epoch"], end["diverged"]) == (200, 12, False)  # 16 batches a pass


def test_the_lecture_table_gives_the_lectures_w(client):
    key = make_run(client, **LECTURE)
    state = client.post(f"/api/runs/{key}/step", json={"steps": 80}).json()
    w_hand, t = 0.0, 0
    for _ in range(20):
        for x, y in zip(TABLE_X[:, 0], TABLE_Y, strict=True):
            t += 1
            w_hand += 0.01 / math.sqrt(t) * (y - w_hand * x) * x
    (w,) = client.get(f"/api/runs/{key}/weights").json()["layers"][0]["weights"][0]
    assert round(w, 4) == 1.0047
    assert w == pytest.approx(w_hand, rel=1e-12)
    assert (state["step"], state["epoch"], state["val_loss"], state["accuracy"]) == (
        80,
        20,
        None,
        None,
    )
    assert state["loss"] == pytest.approx(np.mean((TABLE_Y - w_hand * TABLE_X[:, 0]) ** 2) / 2)


def test_a_run_with_a_full_batch_is_fit_with_a_full_batch():
    config = validate(
        {"dataset": "circles", "hidden": [5], "batch_size": "full", "learning_rate": 0.3}
    )
    run, twin = Run(config), Run(config)
    states = [run.step(1)["loss"] for _ in range(6)]
    opt = optim.SGD(twin.model.parameters(), lr=0.3)
    data = (twin.X_train, twin.data.targets_train)
    history = fit(twin.model, twin.loss_fn, opt, data, epochs=6, batch_size=None, progress=False)
    for p, q in zip(run.model.parameters(), twin.model.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12)
    np.testing.assert_allclose(states[:5], history.history["loss"][1:], rtol=1e-12)
    assert states[-1] == pytest.approx(twin.evaluate(*data)[0], rel=1e-12)


def test_two_runs_do_not_share_state(client):
    a, b = make_run(client), make_run(client)
    before = client.get(f"/api/runs/{b}/weights").json()
    assert client.get(f"/api/runs/{a}/weights").json() == before  # the same seed
    client.post(f"/api/runs/{a}/step", json={"steps": 50})
    assert client.get(f"/api/runs/{b}/weights").json() == before
    assert client.get(f"/api/runs/{a}/weights").json() != before
    assert client.get(f"/api/runs/{b}/history").json()["step"] == []
    assert client.post(f"/api/runs/{b}/step", json={"steps": 0}).json()["step"] == 0


def test_the_trace_is_wg_traces_list_of_that_points_loss(client):
    key = make_run(client, dataset="xor", hidden=[], loss="logistic", seed=3)
    client.post(f"/api/runs/{key}/step", json={"steps": 20})
    layer = client.get(f"/api/runs/{key}/weights").json()["layers"][0]
    w, b = np.array(layer["weights"])[:, 0], np.array(layer["bias"][0])
    body = client.get(f"/api/runs/{key}/trace", params={"x": 0.25, "y": -0.5, "label": 1}).json()

    def loss(w, b, x, y):
        z = linear(x, w, b)
        L = losses.logistic(z, y)
        return L

    recorded = wg.trace(loss, w, b, np.array([[0.25, -0.5]]), np.array([1]), argnums=(0, 1))
    sweep = recorded.backward()
    assert body["text"] == f"{recorded}\n{sweep}"
    assert [line["name"] for line in body["forward"]] == [s.name for s in recorded.steps]
    for line, step in zip(body["forward"], recorded.steps, strict=True):
        np.testing.assert_allclose(line["value"], step.value, rtol=1e-15)
    assert [line["rule"] for line in body["backward"]] == [a.rule for a in sweep.lines]
    grad_w, grad_b = wg.grad(loss, argnums=(0, 1))(w, b, np.array([[0.25, -0.5]]), np.array([1]))
    np.testing.assert_allclose(body["gradients"]["w"], grad_w, rtol=1e-12)
    assert body["gradients"]["b"] == pytest.approx(float(grad_b), rel=1e-12)
    assert (body["target"], body["inputs"]) == (1, [0.25, -0.5])


def test_the_trace_takes_the_nearest_points_label_and_refuses_bad_numbers(client):
    key = make_run(client, dataset="xor", loss="hinge", hidden=[2])
    points = client.get(f"/api/runs/{key}/boundary?resolution=2").json()["points"]
    x, y, label = points[0]
    body = client.get(f"/api/runs/{key}/trace", params={"x": x + 1e-6, "y": y}).json()
    assert body["target"] == 2 * label - 1  # hinge takes -1/+1
    assert body["forward"][0]["expression"] == "linear(x, W1, b1)"
    for params, field in [
        ({"x": "a", "y": 0}, "x"),
        ({"x": 0}, "y"),
        ({"x": 0, "y": 0, "label": 2}, "label"),
    ]:
        response = client.get(f"/api/runs/{key}/trace", params=params)
        assert response.status_code == 422 and response.json()["field"] == field


def test_the_boundary_is_a_grid_of_decision_values_over_the_points(client):
    key = make_run(client, dataset="circles", n_samples=100, val_split=0.3)
    body = client.get(f"/api/runs/{key}/boundary", params={"resolution": 7}).json()
    values = np.array(body["values"])
    assert values.shape == (7, 7) and body["resolution"] == 7
    assert values.min() >= 0 and values.max() <= 1
    points = np.array(body["points"])
    assert points.shape == (100, 3) and body["n_train"] == 70
    assert set(points[:, 2]) == {0.0, 1.0}
    assert body["x_range"][0] < points[:, 0].min() and body["x_range"][1] > points[:, 0].max()
    for resolution in (1, 201, "many"):
        response = client.get(f"/api/runs/{key}/boundary", params={"resolution": resolution})
        assert response.status_code == 422 and response.json()["field"] == "resolution"
        assert "resolution must be an int in [2, 200]" in response.json()["error"]


def test_weights_and_history(client):
    key = make_run(client, hidden=[3, 2])
    layers = client.get(f"/api/runs/{key}/weights").json()["layers"]
    assert [np.array(layer["weights"]).shape for layer in layers] == [(2, 3), (3, 2), (2, 1)]
    assert [len(layer["bias"]) for layer in layers] == [3, 2, 1]
    client.post(f"/api/runs/{key}/step", json={"steps": 3})
    client.post(f"/api/runs/{key}/step", json={"steps": 4})
    history = client.get(f"/api/runs/{key}/history").json()
    assert history["step"] == [3, 7]
    assert len(history["loss"]) == len(history["val_accuracy"]) == 2


def test_a_diverged_run_says_so_and_answers_json(client):
    diverging = {"learning_rate": 1.0, "schedule": "constant", "batch_size": "full"}
    key = make_run(client, **{**LECTURE, **diverging})  # w's error grows 28-fold a step
    state = client.post(f"/api/runs/{key}/step", json={"steps": 400}).json()
    assert state["diverged"] is True and state["loss"] is None
    assert state["step"] < 400
    assert client.get(f"/api/runs/{key}/boundary?resolution=3").status_code == 200


def test_the_paths_are_the_optimizer_paths_on_the_lecture_surface(client):
    body = client.get(
        "/api/paths", params={"surface": "valley", "optimizers": "SGD,Adam", "steps": 10}
    ).json()
    assert list(body["paths"]) == ["SGD", "Adam"]
    f, start = SURFACES["valley"][:2]
    cls, hyper = OPTIMIZERS["Adam"]
    expected = optimizer_path(f, start, lambda p: cls(p, **hyper), 10)
    np.testing.assert_allclose(body["paths"]["Adam"], expected)
    assert np.array(body["grid"]["z"]).shape == (60, 60)
    sgd = client.get("/api/paths", params={"optimizers": "SGD", "lr": 0.1, "steps": 3}).json()
    assert sgd["paths"]["SGD"][1][0] == pytest.approx(-4.5 - 0.1 * 0.1 * -4.5)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"surface": "bowl"}, "surface"),
        ({"optimizers": "SGD,Newton"}, "optimizers"),
        ({"steps": 501}, "steps"),
        ({"lr": -1}, "lr"),
    ],
)
def test_bad_paths_parameters_are_refused(client, params, field):
    response = client.get("/api/paths", params=params)
    assert response.status_code == 422 and response.json()["field"] == field


def test_the_page_is_served_at_the_root(tmp_path):
    (tmp_path / "index.html").write_text("<h1>the page</h1>", encoding="utf-8")
    (tmp_path / "app.js").write_text("let x = 1;", encoding="utf-8")
    client = TestClient(create_app(static=tmp_path))
    assert client.get("/").text == "<h1>the page</h1>"
    assert client.get("/app.js").text == client.get("/static/app.js").text == "let x = 1;"
    missing = TestClient(create_app(static=tmp_path / "none")).get("/")
    assert missing.status_code == 404
    assert missing.json() == {"error": "playground: the page (static/index.html) is not installed."}


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "lbfgs"])
@pytest.mark.parametrize("loss", ["l1", "l2", "hinge", "logistic", "cross_entropy"])
def test_every_optimizer_lowers_every_loss(optimizer, loss):
    run = Run(
        validate({"optimizer": optimizer, "loss": loss, "hidden": [4], "learning_rate": 0.05})
    )
    start = run.step(0)["loss"]
    end = run.step(40)
    assert end["loss"] < start and not end["diverged"]
    assert run.trace(0.1, -0.2)["forward"][-1]["value"] >= 0  # a loss of one point


def test_both_momentum_forms_take_the_same_path_at_a_constant_rate():
    def loss_after(form):
        run = Run(validate({"momentum": 0.9, "momentum_form": form, "nesterov": True}))
        return run.step(50)["loss"]

    assert loss_after("lecture") == pytest.approx(loss_after("pytorch"), rel=1e-9)
    assert loss_after("pytorch") == pytest.approx(0.450617, abs=1e-6)


def test_live_sends_one_event_per_frame_then_done(client):
    key = make_run(client)
    with client.stream("GET", f"/api/runs/{key}/live", params={"steps": 5, "frames": 3}) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        text = "".join(reply.iter_text())
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    assert [e[0] for e in events] == ["event: state"] * 3 + ["event: done"]
    states = [json.loads(e[1].removeprefix("data: ")) for e in events[:3]]
    assert [s["step"] for s in states] == [5, 10, 15]
    assert client.get(f"/api/runs/{key}/history").json()["step"] == [5, 10, 15]
    response = client.get(f"/api/runs/{key}/live", params={"steps": 0})
    assert response.status_code == 422 and response.json()["field"] == "steps"
