// Drawing on the page's canvases: the decision boundary with its points, the network, the
// loss curves and the optimizers' paths on a loss surface. Pure functions of what the API
// returned; app.js owns the state and the requests.
"use strict";

const Draw = (() => {
  const ORANGE = [245, 147, 34];
  const BLUE = [8, 119, 189];
  const WHITE = [255, 255, 255];
  const PATH_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    "#e377c2", "#17becf", "#7f7f7f"];

  function mix(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
  }

  // A prediction in [0, 1] as TF Playground colours it: orange for 0, white at 1/2, blue for 1.
  function probabilityColour(p) {
    const q = Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0.5));
    return q < 0.5 ? mix(ORANGE, WHITE, q * 2) : mix(WHITE, BLUE, (q - 0.5) * 2);
  }

  // Scores outside [0, 1] (a hinge or L2 model's raw output) are squashed by a logistic first.
  function asProbabilities(values) {
    const flat = values.flat();
    const inside = flat.every((v) => !Number.isFinite(v) || (v >= 0 && v <= 1));
    return inside ? values : values.map((row) => row.map((v) => 1 / (1 + Math.exp(-v))));
  }

  // Map data coordinates to canvas pixels and back, y growing upwards.
  function frame(canvas, xRange, yRange) {
    const [x0, x1] = xRange;
    const [y0, y1] = yRange;
    return {
      px: (x) => ((x - x0) / (x1 - x0)) * canvas.width,
      py: (y) => canvas.height - ((y - y0) / (y1 - y0)) * canvas.height,
      dataX: (px) => x0 + (px / canvas.width) * (x1 - x0),
      dataY: (py) => y0 + ((canvas.height - py) / canvas.height) * (y1 - y0),
    };
  }

  // A few stops of viridis, for the loss surface's levels (dark low, light high).
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function levelColour(t) {
    const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const k = Math.min(VIRIDIS.length - 2, Math.floor(u));
    return mix(mix(VIRIDIS[k], VIRIDIS[k + 1], u - k), WHITE, 0.35);
  }

  function heatMap(canvas, grid, colour = probabilityColour) {
    const ctx = canvas.getContext("2d");
    const rows = grid.length;
    const cols = grid[0].length;
    const image = ctx.createImageData(cols, rows);
    // values[i][j]: row i runs along y from y_range[0], column j along x from x_range[0].
    for (let i = 0; i < rows; i += 1) {
      for (let j = 0; j < cols; j += 1) {
        const [r, g, b] = colour(grid[i][j]);
        const k = ((rows - 1 - i) * cols + j) * 4;
        image.data.set([r, g, b, 255], k);
      }
    }
    const small = document.createElement("canvas");
    small.width = cols;
    small.height = rows;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function points(canvas, f, pts, validationFrom, selected, regression) {
    const ctx = canvas.getContext("2d");
    pts.forEach((p, index) => {
      const [x, y, label] = p;
      const validation = validationFrom !== null && index >= validationFrom;
      ctx.beginPath();
      ctx.arc(f.px(x), f.py(y), validation ? 4 : 3.5, 0, 2 * Math.PI);
      if (regression) ctx.fillStyle = "#333";
      else ctx.fillStyle = label > 0.5 ? "rgb(8,119,189)" : "rgb(245,147,34)";
      ctx.fill();
      ctx.lineWidth = validation ? 1.5 : 1;
      ctx.strokeStyle = validation ? "#333" : "#fff";
      if (regression && !validation) ctx.strokeStyle = "#ccc";
      ctx.stroke();
    });
    if (selected) {
      ctx.beginPath();
      ctx.arc(f.px(selected[0]), f.py(selected[1]), 8, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#000";
      ctx.stroke();
    }
  }

  /** The boundary: heat map of the predictions, then the train and validation points. */
  function boundary(canvas, data, selected, regression) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (data.values && data.values.length) heatMap(canvas, asProbabilities(data.values));
    const f = frame(canvas, data.x_range, data.y_range);
    const from = Number.isInteger(data.n_train) ? data.n_train : null;
    points(canvas, f, data.points || [], from, selected, regression);
    return f;
  }

  // Each layer's matrix as n_inputs × n_outputs, whichever way the API wrote it: a layer's
  // rows must match the previous layer's width, else it is transposed.
  function layerMatrices(weights, nInputs) {
    let width = nInputs;
    return weights.map((w) => {
      let m = Array.isArray(w) ? w : w.weight || w.weights || w.W;
      if (!Array.isArray(m[0])) m = m.map((v) => [v]);
      if (m.length !== width && m[0].length === width) {
        m = m[0].map((_, j) => m.map((row) => row[j]));
      }
      width = m[0].length;
      return m;
    });
  }

  /** The network: one column of nodes per layer, lines coloured and thickened by weight. */
  function network(canvas, weights, inputNames) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!weights || !weights.length) return;
    const sizes = [inputNames.length];
    const mats = layerMatrices(weights, inputNames.length);
    mats.forEach((m) => sizes.push(m[0].length));
    const colX = (l) => 40 + (l / (sizes.length - 1)) * (canvas.width - 80);
    const nodeY = (l, i) => ((i + 1) / (sizes[l] + 1)) * canvas.height;
    const biggest = Math.max(1e-12, ...mats.flat(2).map((v) => Math.abs(v)));
    mats.forEach((m, l) => {
      m.forEach((row, i) => row.forEach((w, j) => {
        ctx.beginPath();
        ctx.moveTo(colX(l), nodeY(l, i));
        ctx.lineTo(colX(l + 1), nodeY(l + 1, j));
        ctx.lineWidth = 0.5 + 5 * (Math.abs(w) / biggest);
        ctx.strokeStyle = w < 0 ? "rgba(245,147,34,0.85)" : "rgba(8,119,189,0.85)";
        ctx.stroke();
      }));
    });
    ctx.font = "11px system-ui, sans-serif";
    sizes.forEach((n, l) => {
      for (let i = 0; i < n; i += 1) {
        ctx.beginPath();
        ctx.arc(colX(l), nodeY(l, i), 7, 0, 2 * Math.PI);
        ctx.fillStyle = "#fff";
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#333";
        ctx.stroke();
        if (l === 0) {
          ctx.fillStyle = "#333";
          ctx.textAlign = "right";
          ctx.fillText(inputNames[i], colX(0) - 10, nodeY(0, i) + 4);
        }
      }
    });
  }

  function polyline(ctx, xs, ys, f, dashed, colour) {
    ctx.beginPath();
    let started = false;
    xs.forEach((x, i) => {
      if (!Number.isFinite(ys[i]) || ys[i] <= 0) return;
      if (started) ctx.lineTo(f.px(x), f.py(Math.log10(ys[i])));
      else ctx.moveTo(f.px(x), f.py(Math.log10(ys[i])));
      started = true;
    });
    ctx.setLineDash(dashed ? [5, 4] : []);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /** Train and validation loss against the step, on a log scale. */
  function curves(canvas, history) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const finite = history.loss.concat(history.val_loss).filter((v) => Number.isFinite(v) && v > 0);
    if (!finite.length) return;
    let lo = Math.log10(Math.min(...finite));
    let hi = Math.log10(Math.max(...finite));
    if (hi - lo < 1e-3) { lo -= 0.5; hi += 0.5; }
    const steps = history.step;
    const plot = { width: canvas.width - 50, height: canvas.height - 30 };
    const f0 = frame(plot, [Math.min(...steps), Math.max(Math.max(...steps), 1)], [lo, hi]);
    const f = { px: (x) => 45 + f0.px(x), py: (y) => 8 + f0.py(y) };
    ctx.strokeStyle = "#999";
    ctx.lineWidth = 1;
    ctx.strokeRect(45, 8, plot.width, plot.height);
    ctx.fillStyle = "#555";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.fillText(Math.pow(10, hi).toPrecision(2), 42, 16);
    ctx.fillText(Math.pow(10, lo).toPrecision(2), 42, 8 + plot.height);
    ctx.textAlign = "center";
    ctx.fillText(`step ${steps[steps.length - 1]}`, 45 + plot.width / 2, canvas.height - 6);
    polyline(ctx, steps, history.loss, f, false, "#1f6fb2");
    polyline(ctx, steps, history.val_loss, f, true, "#d62728");
  }

  /** The loss surface as a shaded contour grid, and each optimizer's path over it. */
  function surface(canvas, data) {
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const grid = data.grid ? data.grid.z : data.values;
    if (grid && grid.length) {
      const flat = grid.flat().filter(Number.isFinite);
      const lo = Math.min(...flat);
      const shift = lo <= 0 ? 1e-3 - lo : 0;
      const logs = grid.map((row) => row.map((v) => Math.log(v + shift)));
      const lf = logs.flat().filter(Number.isFinite);
      const a = Math.min(...lf);
      const b = Math.max(...lf);
      // Banded levels of log f read as contour lines.
      const bands = 14;
      const scaled = logs.map((row) => row.map((v) => Math.floor(((v - a) / (b - a || 1)) * bands) / bands));
      heatMap(canvas, scaled, levelColour);
    }
    const f = frame(canvas, data.x_range, data.y_range);
    const paths = data.paths || {};
    ctx.font = "12px system-ui, sans-serif";
    Object.entries(paths).forEach(([name, path], k) => {
      const pts = Array.isArray(path) ? path : path.points || path.path;
      const colour = PATH_COLOURS[k % PATH_COLOURS.length];
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(f.px(x), f.py(y)) : ctx.moveTo(f.px(x), f.py(y))));
      ctx.strokeStyle = colour;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.fillStyle = colour;
      const [ex, ey] = pts[pts.length - 1];
      ctx.fillRect(f.px(ex) - 3, f.py(ey) - 3, 6, 6);
      ctx.textAlign = "left";
      ctx.fillText(name, canvas.width - 110, 18 + 15 * k);
    });
    if (data.formula) {
      ctx.fillStyle = "#111";
      ctx.fillText(data.formula, 8, canvas.height - 8);
    }
  }

  return { boundary, network, curves, surface, frame };
})();
