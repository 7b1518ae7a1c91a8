(async function () {
  "use strict";
  const D = JSON.parse(document.getElementById("explorer-data").textContent);
  const S = D.steps.length, N = D.points, P = D.precision, NONFINITE = 999;

  async function inflate(text) {  // base64 of deflated bytes -> the bytes
    const raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate"));
    return (await new Response(stream).arrayBuffer());
  }
  async function series(packed) {  // rows of S numbers: digits (delta-coded) and powers of ten
    const bytes = await inflate(packed.digits);
    const digits = packed.type === "int32" ? new Int32Array(bytes) : new Float64Array(bytes);
    for (let start = 0; start < digits.length; start += S) {
      for (let k = start + 1; k < start + S; k++) { digits[k] += digits[k - 1]; }
    }
    return { digits: digits, powers: new Int16Array(await inflate(packed.powers)) };
  }
  const own = await series(D.numbers), parameters = await series(D.parameters);
  const layoutAt = new Uint16Array(await inflate(D.layoutAt));
  const keys = new Int32Array(await inflate(D.keys));
  const largestAt = new Float64Array(await inflate(D.largest));
  const predicted = new Uint8Array(await inflate(D.predicted));
  const regions = new Uint8Array(await inflate(D.regions));

  // Point i's rows start at rowStart[i]; its keys are keys[keyStart[i] ...].
  const rowStart = [], keyStart = [];
  for (let i = 0, rows = 0; i < N; i++) {
    keyStart.push(rows);
    rowStart.push(rows * S);
    rows += D.keyCounts[i];
  }
  const lookups = new Map();
  function rowOf(i, key) {  // which of point i's rows holds key
    if (!lookups.has(i)) {
      const map = new Map();
      for (let r = 0; r < D.keyCounts[i]; r++) { map.set(keys[keyStart[i] + r], r); }
      lookups.set(i, map);
    }
    return lookups.get(i).get(key);
  }

  function text(d, e) {  // format_number's text, from the integers alone
    if (e === NONFINITE) { return d === 0 ? "nan" : d > 0 ? "inf" : "-inf"; }
    const sign = d < 0 ? "-" : "";
    let s = String(Math.abs(d));
    if (e === -P) {
      if (P === 0) { return sign + s; }
      s = s.padStart(P + 1, "0");
      return sign + s.slice(0, s.length - P) + "." + s.slice(s.length - P);
    }
    const exponent = e + P, mantissa = P === 0 ? s : s[0] + "." + s.slice(1);
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") +
      String(Math.abs(exponent)).padStart(2, "0");
  }
  function value(d, e) {
    if (e === NONFINITE) { return d === 0 ? NaN : d * Infinity; }
    return d * Math.pow(10, e);
  }
  function rangeText(numbers) {  // viz's number_range: one number, or "low … high"
    if (numbers.length === 1) { return text(numbers[0][0], numbers[0][1]); }
    const real = numbers.filter((n) => !isNaN(value(n[0], n[1])));
    const nan = real.length < numbers.length ? "nan" : "";
    if (!real.length) { return nan; }
    let low = real[0], high = real[0];
    for (const n of real) {
      if (value(n[0], n[1]) < value(low[0], low[1])) { low = n; }
      if (value(n[0], n[1]) > value(high[0], high[1])) { high = n; }
    }
    const a = text(low[0], low[1]), b = text(high[0], high[1]);
    const shown = a === b ? a : a + " \u2026 " + b;
    return nan ? nan + ", " + shown : shown;
  }
  function colours(numbers, largest) {  // viz's cell_colors: by the largest of them in size
    let g = NaN;
    for (const n of numbers) {
      const v = value(n[0], n[1]);
      if (!isNaN(v) && (isNaN(g) || Math.abs(v) > Math.abs(g))) { g = v; }
    }
    if (isNaN(g)) { return D.colors.nan[0]; }
    if (g === 0 || largest === 0) { return D.colors.zero[0]; }
    const share = (!isFinite(g) || !isFinite(largest)) ? 1 : Math.min(Math.abs(g) / largest, 1);
    const level = Math.round(Math.sqrt(share) * D.colorLevels);
    return (g < 0 ? D.colors.negative : D.colors.positive)[level];
  }

  const drawings = [...document.querySelectorAll(".drawing")].map((drawing) => {
    const texts = [], fills = [];
    drawing.querySelectorAll("[data-slot]").forEach((t) => { texts[Number(t.dataset.slot)] = t; });
    drawing.querySelectorAll("[data-fill]").forEach((f) => { fills[Number(f.dataset.fill)] = f; });
    return { element: drawing, texts: texts, fills: fills };
  });
  const slider = document.getElementById("slider"), play = document.getElementById("play");
  const position = document.getElementById("position");
  const caption = document.getElementById("caption");
  const points = [...document.querySelectorAll(".point")];
  const chosen = document.getElementById("chosen");
  const marker = document.getElementById("marker"), scores = document.getElementById("scores");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = D.grid;
  const context = canvas.getContext("2d"), image = context.createImageData(D.grid, D.grid);
  const rgb = D.classes.map((c) => [1, 3, 5].map((k) => parseInt(c.slice(k, k + 2), 16)));
  let step = 0, current = D.point, timer = null;

  function numbersOf(i, s, sources) {  // [digits, power] of each (source, index) pair
    const shown = [];
    for (let m = 0; m < sources.length; m += 2) {
      if (sources[m] === 1) {
        const at = sources[m + 1] * S + s;
        shown.push([parameters.digits[at], parameters.powers[at]]);
      } else {
        const at = rowStart[i] + rowOf(i, sources[m + 1]) * S + s;
        shown.push([own.digits[at], own.powers[at]]);
      }
    }
    return shown;
  }
  function showGraph() {
    const index = layoutAt[step * N + current], layout = D.layouts[index];
    drawings.forEach((d, k) => { d.element.hidden = k !== index; });
    const parts = drawings[index], largest = largestAt[step * N + current];
    let loss = "";
    layout.texts.forEach((sources, t) => {
      const numbers = numbersOf(current, step, sources), element = parts.texts[t];
      const shown = rangeText(numbers);
      element.textContent = element.textContent.split(" ")[0] + " " + shown;
      if (t === layout.root) { loss = shown; }
      const fill = parts.fills[t];
      if (fill && D.colors) {
        const pair = colours(numbers, largest);
        fill.setAttribute("fill", pair[0]);
        element.setAttribute("fill", pair[1]);
      }
    });
    const label = D.labels[current], guess = predicted[step * N + current];
    const [a, b] = D.features[current];
    caption.innerHTML = "Training point <b>" + current + "</b> at (" + a + ", " + b +
      "), class <b>" + label + "</b>; the model says <b>" + guess + "</b> (" +
      (guess === label ? "right" : "wrong") + ")" +
      (loss ? "; its loss at step " + D.steps[step] + " is <b>" + loss + "</b>" : "") + ".";
    caption.dataset.point = current;
    caption.dataset.step = step;
  }
  function showRegions() {
    const cells = D.grid * D.grid;
    for (let c = 0; c < cells; c++) {
      const at = (step * cells + c) * 2, colour = rgb[regions[at]];
      const alpha = 0.1 + 0.55 * regions[at + 1] / 255;
      for (let k = 0; k < 3; k++) {
        image.data[4 * c + k] = Math.round(255 + (colour[k] - 255) * alpha);
      }
      image.data[4 * c + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    document.getElementById("regions").setAttribute("href", canvas.toDataURL());
    points.forEach((circle, i) => {
      circle.classList.toggle("wrong", predicted[step * N + i] !== D.labels[i]);
    });
  }
  function showScores() {
    marker.setAttribute("x1", D.markerX[step]);
    marker.setAttribute("x2", D.markerX[step]);
    let rows = "<tr><th>step " + D.steps[step] + "</th><th>loss</th><th>accuracy</th></tr>";
    for (const name of Object.keys(D.losses)) {
      const loss = D.losses[name][step];
      rows += '<tr data-set="' + name + '"><td>' + name + "</td><td>" +
        (loss === null ? "–" : loss.toFixed(4)) + "</td><td>" +
        (100 * D.accuracies[name][step]).toFixed(1) + "%</td></tr>";
    }
    scores.innerHTML = rows;
  }
  function choose(i) {
    current = i;
    chosen.setAttribute("cx", points[i].getAttribute("cx"));
    chosen.setAttribute("cy", points[i].getAttribute("cy"));
    showGraph();
  }
  function show(s) {
    step = Math.max(0, Math.min(S - 1, s));
    slider.value = step;
    position.textContent = "step " + D.steps[step] + " (snapshot " + (step + 1) + " of " + S + ")";
    showRegions();
    showScores();
    showGraph();
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
  function toggle() {
    if (timer) { stop(); return; }
    if (step === S - 1) { show(0); }
    play.textContent = "Pause";
    timer = setInterval(() => { if (step === S - 1) { stop(); } else { show(step + 1); } }, 350);
  }
  document.getElementById("previous").onclick = () => { stop(); show(step - 1); };
  document.getElementById("next").onclick = () => { stop(); show(step + 1); };
  play.onclick = toggle;
  document.getElementById("zoom").onchange = (event) => {  // the drawing at its own size
    drawings.forEach((d) => {
      const svg = d.element.querySelector("svg");
      d.element.classList.toggle("zoomed", event.target.checked);
      svg.style.width = event.target.checked ? svg.viewBox.baseVal.width + "pt" : "";
    });
  };
  slider.oninput = () => { stop(); show(Number(slider.value)); };
  points.forEach((circle, i) => { circle.addEventListener("click", () => choose(i)); });
  document.addEventListener("keydown", (event) => {
    if (event.target === slider) { return; }
    if (event.key === "ArrowRight") { stop(); show(step + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { stop(); show(step - 1); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  choose(current);
  show(0);
  document.body.dataset.ready = "1";
})();
