// The playground's page: menus from GET /api/options, one run per tab (POST /api/runs), play,
// one step and reset through the JSON API, the live views drawn by draw.js, the Wengert list
// of a clicked point and the optimizers' paths on a loss surface. Every API error is shown in
// the page's message line.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  options: null,
  runId: null,
  config: null,
  playing: false,
  queue: Promise.resolve(),
  generation: 0,
  boundary: null,
  frame: null,
  selected: null,
  history: { step: [], loss: [], val_loss: [] },
};

class ApiError extends Error {}

/** One request to the API; an error answer becomes an ApiError with the server's message. */
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(`The playground's server does not answer (${err.message}).`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.error ? data.error : `${response.status} ${text}`.trim();
    throw new ApiError(message);
  }
  return data;
}

function showMessage(message) {
  const box = $("message");
  box.textContent = message;
  box.hidden = !message;
}

function report(err) {
  stop();
  showMessage(err instanceof ApiError ? err.message : `The page failed: ${err.message}`);
}

// ---- menus -----------------------------------------------------------------------------------

function entries(list) {
  // A menu's entries may come as names or as {name, label} records.
  if (!list) return [];
  if (!Array.isArray(list)) {
    return Object.entries(list).map(([name, label]) => ({
      name, label: typeof label === "string" ? label : name,
    }));
  }
  return list.map((o) => (typeof o === "string" ? { name: o, label: o } : {
    name: o.name, label: o.label || o.name,
  }));
}

function fill(select, list, preferred) {
  select.replaceChildren(...entries(list).map(({ name, label }) => new Option(label, name)));
  if (preferred !== undefined && entries(list).some((e) => e.name === String(preferred))) {
    select.value = String(preferred);
  }
}

function fillFeatures(names) {
  const box = $("features");
  box.replaceChildren(...entries(names).map(({ name, label }) => {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = name;
    input.dataset.testid = `feature-${name}`;
    const wrap = document.createElement("label");
    wrap.append(input, ` ${label}`);
    return wrap;
  }));
}

function fillMenus(options) {
  fill($("dataset"), options.datasets);
  fill($("activation"), options.activations);
  fill($("loss-name"), options.losses);
  fill($("optimizer"), options.optimizers);
  fill($("schedule"), options.schedules);
  fillFeatures(options.features || ["x1", "x2"]);
  const surfaces = options.surfaces || ["valley", "saddle"];
  fill($("surface"), surfaces);
  const pathOptimizers = entries(options.path_optimizers || options.optimizers);
  $("surface-optimizers").replaceChildren(...pathOptimizers.map(({ name, label }, i) => {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = name;
    input.checked = i < 4;
    const wrap = document.createElement("label");
    wrap.append(input, ` ${label}`);
    return wrap;
  }));
  const limits = options.limits || {};
  if (limits.max_samples) $("n-samples").max = limits.max_samples;
}

function syncVisibility() {
  $("margin-row").hidden = !$("loss-name").value.includes("hinge");
  const sgd = $("optimizer").value === "sgd";
  document.querySelectorAll(".sgd-only").forEach((el) => { el.hidden = !sgd; });
  $("batch-size-row").hidden = $("batch-mode").value !== "B";
  const decays = NEEDS_DECAY.includes($("schedule").value);
  document.querySelectorAll(".decay-only").forEach((el) => { el.hidden = !decays; });
}

// ---- the run ---------------------------------------------------------------------------------

function number(id) {
  const text = $(id).value.trim();
  const value = Number(text);
  return text === "" || !Number.isFinite(value) ? text : value;
}

function hiddenWidths() {
  const text = $("hidden").value.trim();
  if (!text) return [];
  return text.split(/[\s,]+/).filter(Boolean).map((w) => (Number.isFinite(Number(w)) ? Number(w) : w));
}

function batchSize() {
  const mode = $("batch-mode").value;
  if (mode === "1") return 1;
  if (mode === "full") return "full";
  return number("batch-size");
}

const NEEDS_DECAY = ["exponential", "step_decay", "inverse_scaling"];

/** The run's config as the form says it; the server checks every field. */
function readConfig() {
  const config = {
    dataset: $("dataset").value,
    n_samples: number("n-samples"),
    noise: number("noise"),
    val_split: number("validation"),
    seed: number("seed"),
    features: [...$("features").querySelectorAll("input:checked")].map((i) => i.value),
    hidden: hiddenWidths(),
    activation: $("activation").value,
    bias: $("bias").checked,
    loss: $("loss-name").value,
    margin: number("margin"),
    l2: number("l2"),
    optimizer: $("optimizer").value,
    learning_rate: number("learning-rate"),
    schedule: $("schedule").value,
    batch_size: batchSize(),
  };
  if (config.optimizer === "sgd") {
    config.momentum = number("momentum");
    config.momentum_form = $("momentum-form").value;
    config.nesterov = $("nesterov").checked;
  }
  if (NEEDS_DECAY.includes(config.schedule)) {
    config.decay = number("decay");
    config.decay_steps = number("decay-steps");
  }
  return config;
}

/** Set the form from a full config, as the server filled it in. */
function fillForm(config) {
  const values = {
    dataset: config.dataset, "n-samples": config.n_samples, noise: config.noise,
    validation: config.val_split, seed: config.seed, hidden: (config.hidden || []).join(", "),
    activation: config.activation, "loss-name": config.loss, margin: config.margin, l2: config.l2,
    optimizer: config.optimizer, "learning-rate": config.learning_rate,
    schedule: config.schedule, momentum: config.momentum, "momentum-form": config.momentum_form,
    decay: config.decay, "decay-steps": config.decay_steps,
  };
  for (const [id, value] of Object.entries(values)) {
    if (value !== undefined && value !== null) $(id).value = String(value);
  }
  $("bias").checked = Boolean(config.bias);
  $("nesterov").checked = Boolean(config.nesterov);
  const batch = config.batch_size;
  $("batch-mode").value = batch === "full" ? "full" : batch === 1 ? "1" : "B";
  if (batch !== "full" && batch !== 1) $("batch-size").value = String(batch);
  const chosen = config.features || [];
  $("features").querySelectorAll("input").forEach((input) => {
    input.checked = chosen.includes(input.value);
  });
  syncVisibility();
}

function clearViews() {
  state.history = { step: [], loss: [], val_loss: [] };
  state.selected = null;
  $("step-count").textContent = "0";
  $("epoch-count").textContent = "0";
  for (const id of ["loss", "val-loss", "error", "val-error"]) $(id).textContent = "–";
  Draw.curves($("curves"), state.history);
  $("trace").replaceChildren(hint());
}

function hint() {
  const p = document.createElement("p");
  p.className = "hint";
  p.textContent = "Click a point on the decision boundary to see the forward list and the "
    + "backward sweep of that sample's loss, with values.";
  return p;
}

function dropRun() {
  if (state.runId) {
    // keepalive lets the request finish while the tab closes.
    fetch(`/api/runs/${state.runId}`, { method: "DELETE", keepalive: true }).catch(() => {});
  }
  state.runId = null;
}

/** A new run from the form (or from the dataset's defaults alone, `fresh`): the old one is
 * deleted, the views start over. */
async function reset(fresh = false) {
  stop();
  state.generation += 1;
  const generation = state.generation;
  dropRun();
  clearViews();
  showMessage("");
  const body = fresh ? { dataset: $("dataset").value } : readConfig();
  const created = await api("POST", "/api/runs", body);
  if (generation !== state.generation) return;
  state.runId = created.id;
  state.config = created.config;
  fillForm(created.config);
  await refresh(generation);
}

function formatLoss(value) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-3 ? value.toExponential(3)
    : value.toFixed(4);
}

function formatError(accuracy) {
  return accuracy === null || accuracy === undefined ? "–" : (1 - accuracy).toFixed(3);
}

function showStep(result) {
  $("step-count").textContent = String(result.step);
  $("epoch-count").textContent = String(result.epoch);
  $("loss").textContent = formatLoss(result.loss);
  $("val-loss").textContent = formatLoss(result.val_loss);
  $("error").textContent = formatError(result.accuracy);
  $("val-error").textContent = formatError(result.val_accuracy);
  const h = state.history;
  h.step.push(result.step);
  h.loss.push(result.loss);
  h.val_loss.push(result.val_loss === null ? NaN : result.val_loss);
  Draw.curves($("curves"), h);
  if (result.diverged) {
    stop();
    showMessage(`The loss diverged at step ${result.step}: try a smaller learning rate.`);
  }
}

function inputNames() {
  const labels = Object.fromEntries(entries(state.options.features).map((e) => [e.name, e.label]));
  return (state.config.features || []).map((name) => labels[name] || name);
}

// The lecture's table is a regression: its points are (x, y), coloured by neither class.
function regression() {
  return state.config.dataset === "seed_table";
}

/** Redraw the boundary and the network from the server's current run. */
async function refresh(generation) {
  const id = state.runId;
  const [boundary, weights] = await Promise.all([
    api("GET", `/api/runs/${id}/boundary?resolution=50`),
    api("GET", `/api/runs/${id}/weights`),
  ]);
  if (generation !== state.generation) return;
  state.boundary = boundary;
  state.frame = Draw.boundary($("boundary"), boundary, state.selected, regression());
  Draw.network($("network"), weights.layers, inputNames());
}

async function advance(steps) {
  const generation = state.generation;
  const result = await api("POST", `/api/runs/${state.runId}/step`, { steps });
  if (generation !== state.generation) return;
  showStep(result);
  await refresh(generation);
}

// ---- play, pause, one step -------------------------------------------------------------------

function stop() {
  state.playing = false;
  $("play").textContent = "Play";
  $("play").setAttribute("aria-pressed", "false");
}

async function loop() {
  while (state.playing) {
    const perFrame = Math.max(1, Math.min(50, Math.round(Number($("steps-per-frame").value)) || 1));
    await advance(perFrame);
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  }
}

// Actions run one after another (a step never overlaps a reset); play's loop is one action
// that ends when stop() clears state.playing.
function queued(action) {
  state.queue = state.queue.then(action).catch(report);
  return state.queue;
}

function onPlay() {
  if (state.playing) {
    stop();
    return;
  }
  if (!state.runId) return;
  state.playing = true;
  $("play").textContent = "Pause";
  $("play").setAttribute("aria-pressed", "true");
  queued(loop);
}

function onStep() {
  if (state.playing || !state.runId) return;
  queued(() => advance(1));
}

// ---- the Wengert list of a point ------------------------------------------------------------

function nearestPoint(px, py) {
  const f = state.frame;
  let best = null;
  let bestDistance = 12;
  (state.boundary.points || []).forEach((p) => {
    const d = Math.hypot(f.px(p[0]) - px, f.py(p[1]) - py);
    if (d < bestDistance) {
      best = p;
      bestDistance = d;
    }
  });
  return best;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function shown(value, digits = 6) {
  if (typeof value === "number") {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));
  }
  // an array's entries with fewer digits, so that a layer's values fit on a line
  if (Array.isArray(value)) return `[${value.map((v) => shown(v, 4)).join(", ")}]`;
  return value === undefined || value === null ? "" : String(value);
}

// A table of Wengert lines; the backward sweep's also say where each adjoint comes from, and
// "+=" where it adds to an adjoint already written.
function lineTable(title, lines, backward) {
  const table = document.createElement("table");
  table.createCaption().textContent = title;
  const head = table.createTHead().insertRow();
  const headings = backward ? ["name", "rule", "value", "from"] : ["name", "expression", "value"];
  for (const h of headings) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const line of lines) {
    const row = body.insertRow();
    const expression = backward ? `${line.accumulates ? "+= " : ""}${line.rule}` : line.expression;
    row.append(cell(line.name), cell(expression), cell(shown(line.value), "value"));
    if (backward) row.append(cell(line.source || "", "source"));
  }
  return table;
}

function showTrace(point, trace) {
  const panel = $("trace");
  const title = document.createElement("p");
  title.className = "hint";
  title.textContent = regression()
    ? `Sample x = ${shown(point[0])}, y = ${shown(point[1])}`
    : `Sample x = (${shown(point[0])}, ${shown(point[1])}), label ${point[2]}`;
  const parts = [title, lineTable("Forward", trace.forward, false),
    lineTable("Backward sweep", trace.backward, true)];
  if (trace.text) {
    const details = document.createElement("details");
    details.open = false;
    const summary = document.createElement("summary");
    summary.textContent = "as wg.trace prints it";
    const pre = document.createElement("pre");
    pre.textContent = trace.text;
    details.append(summary, pre);
    parts.push(details);
  }
  panel.replaceChildren(...parts);
}

async function onBoundaryClick(event) {
  if (!state.boundary || !state.runId) return;
  const canvas = $("boundary");
  const box = canvas.getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * canvas.width;
  const py = ((event.clientY - box.top) / box.height) * canvas.height;
  const point = nearestPoint(px, py);
  if (!point) return;
  state.selected = point;
  Draw.boundary(canvas, state.boundary, point, regression());
  try {
    const query = new URLSearchParams({ x: point[0], y: point[1], label: point[2] });
    showTrace(point, await api("GET", `/api/runs/${state.runId}/trace?${query}`));
  } catch (err) {
    report(err);
  }
}

// ---- the loss surface ------------------------------------------------------------------------

async function drawSurface() {
  const chosen = [...$("surface-optimizers").querySelectorAll("input:checked")].map((i) => i.value);
  const query = new URLSearchParams({
    surface: $("surface").value,
    optimizers: chosen.join(","),
    steps: $("surface-steps").value,
  });
  try {
    Draw.surface($("surface-canvas"), await api("GET", `/api/paths?${query}`));
  } catch (err) {
    report(err);
  }
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  try {
    state.options = await api("GET", "/api/options");
    fillMenus(state.options);
    syncVisibility();
    await queued(() => reset(true));
  } catch (err) {
    report(err);
  }
  drawSurface();
}

$("play").addEventListener("click", onPlay);
$("step").addEventListener("click", onStep);
$("reset").addEventListener("click", () => {
  stop();
  queued(() => reset(false));
});
$("boundary").addEventListener("click", onBoundaryClick);
$("controls").addEventListener("change", (event) => {
  if (event.target.id === "steps-per-frame") return;
  syncVisibility();
  stop();
  // A new dataset starts from its own defaults (the lecture's table is y = w·x, one input).
  const fresh = event.target.id === "dataset";
  queued(() => reset(fresh));
});
$("controls").addEventListener("submit", (event) => event.preventDefault());
$("surface-controls").addEventListener("change", drawSurface);
$("surface-draw").addEventListener("click", drawSurface);
window.addEventListener("pagehide", dropRun);
start();
