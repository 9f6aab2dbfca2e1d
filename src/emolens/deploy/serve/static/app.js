// emolens serve — plain JavaScript, inline SVG and canvas; nothing is fetched from elsewhere.
"use strict";

const state = { model: null, files: [], result: null, selected: null, seq: 0, nextId: 1, recCount: 0 };
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const MAP = { w: 640, h: 470, left: 48, right: 16, top: 14, bottom: 38 };

function el(tag, attrs = {}, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
const pct = (v) => `${(100 * v).toFixed(0)} %`;

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

// ------------------------------------------------------------------ model
async function loadModel() {
  const r = await fetch("/api/model");
  const m = await r.json();
  state.model = m;
  const t = m.training || {}, h = m.heldout || {};
  const corpora = (t.corpora || []).join(" + ") || "unknown corpora";
  const ua = h.ua !== undefined ? `, held-out UA ${pct(h.ua)}` + (h.ua_ci95 ? ` (95 % CI ${pct(h.ua_ci95[0])}–${pct(h.ua_ci95[1])})` : "") : "";
  $("model-line").textContent = `Model: ${(m.model && m.model.name) || "bundle"} trained on ${corpora}` +
    ` (${t.n_utterances || "?"} utterances, ${t.n_speakers || "?"} speakers)${ua}; classes ${m.labels.join(", ")}` +
    (m.classes ? `; labels restricted to ${m.classes.join(", ")} (--classes).` : ".");
  $("privacy").textContent = "Audio is analysed by this server on this computer and " +
    (m.keeps_audio ? "kept in the --keep folder." : "not kept after the answer.") +
    ` Limits: ${m.limits.max_upload_mb} MB per upload, ${m.limits.max_duration} s per file.`;
  $("ref-name").textContent = m.reference.label;
  if (m.runs) { $("runs-tab").hidden = false; }
  drawLegend();
  drawMap();
}

// ------------------------------------------------------------------ files
function addFiles(list) {
  const speaker = state.files.length ? state.files[state.files.length - 1].speaker : "speaker 1";
  for (const f of list) state.files.push({ id: state.nextId++, file: f, speaker, url: URL.createObjectURL(f) });
  renderFiles();
  analyse();
}

function renderFiles() {
  const ul = $("files");
  ul.textContent = "";
  $("files-box").hidden = state.files.length === 0;
  $("count").textContent = state.files.length ? `(${state.files.length})` : "";
  const res = state.result;
  state.files.forEach((f, i) => {
    const li = el("li");
    li.dataset.id = f.id;
    const name = res && res.files ? res.files[i] : f.file.name;
    if (state.selected && name === state.selected) li.classList.add("selected");
    li.appendChild(el("span", { class: "name", title: f.file.name }, `${i + 1}. ${f.file.name}`));
    const inp = el("input", { value: f.speaker, "aria-label": "speaker of " + f.file.name, title: "speaker" });
    inp.addEventListener("click", (e) => e.stopPropagation());
    inp.addEventListener("change", () => { f.speaker = inp.value.trim() || "speaker 1"; analyse(); });
    li.appendChild(inp);
    const x = el("button", { class: "x", title: "remove", "aria-label": "remove " + f.file.name }, "×");
    x.addEventListener("click", (e) => { e.stopPropagation(); URL.revokeObjectURL(f.url); state.files.splice(i, 1); renderFiles(); analyse(); });
    li.appendChild(x);
    const out = el("span", { class: "result" });
    if (res) {
      const row = rowOf(name), skip = (res.skipped || []).find((s) => s.file === name);
      if (row) {
        out.appendChild(chip(row.label));
        out.appendChild(document.createTextNode(` p=${fmt(row["p_" + row.label])}`));
        if (row.ood) out.appendChild(el("span", { class: "oodflag", title: "out-of-domain" }, "unlike training data"));
      } else if (skip) {
        out.appendChild(el("span", { class: "skip" }, "skipped: " + skip.reason));
      } else out.textContent = "…";
    } else out.textContent = "…";
    li.appendChild(out);
    li.addEventListener("click", () => { if (rowOf(name)) select(name); });
    ul.appendChild(li);
  });
}

function chip(label) {
  return el("span", { class: "chip", style: `background:${state.model.colors[label] || "#555"}` }, label);
}
const rowOf = (name) => state.result && state.result.predictions.find((r) => r.file === name);

// ------------------------------------------------------------------ predict
async function analyse() {
  const seq = ++state.seq;
  if (!state.files.length) {
    state.result = null; state.selected = null;
    renderAll(); setStatus(""); return;
  }
  if (!state.model) { setStatus("the model is still loading; add the files again in a moment", true); return; }
  // the server's limits, checked here first: a browser reports a refused upload as a network error
  const lim = state.model.limits, mb = state.files.reduce((s, f) => s + f.file.size, 0) / 1e6;
  if (mb > lim.max_upload_mb || state.files.length > lim.max_files) {
    setStatus(mb > lim.max_upload_mb
      ? `these files are ${mb.toFixed(1)} MB together; this server accepts ${lim.max_upload_mb} MB per analysis ` +
        "(remove some, or start emolens serve with --max-upload-mb)"
      : `${state.files.length} files; this server accepts ${lim.max_files} per analysis (remove some, or start emolens serve with --max-files)`, true);
    return;
  }
  const fd = new FormData();
  for (const f of state.files) { fd.append("files", f.file, f.file.name); fd.append("speaker", f.speaker); }
  setStatus(`analysing ${state.files.length} file(s)…`);
  let r, body;
  try {
    r = await fetch("/api/predict?explain=true", { method: "POST", body: fd });
    body = await r.json();
  } catch (e) {
    if (seq === state.seq) setStatus("the server did not answer: " + e, true);
    return;
  }
  if (seq !== state.seq) return; // a newer request is on its way
  if (!r.ok && !(r.status === 422 && body.predictions)) {
    setStatus(`error ${r.status}: ${body.detail || JSON.stringify(body)}`, true);
    return;
  }
  state.result = body;
  const n = body.predictions.length, s = body.skipped.length;
  setStatus(`${n} file(s) predicted` + (s ? `, ${s} skipped (reasons in the list)` : "") +
    `, ${body.predictions.filter((p) => p.ood).length} unlike the training data.`, s > 0 && n === 0);
  if (!state.selected || !rowOf(state.selected)) state.selected = n ? body.predictions[0].file : null;
  renderAll();
}

function renderAll() {
  renderFiles();
  const res = state.result;
  $("norm-box").hidden = $("download-box").hidden = !res || !res.predictions.length;
  if (res) { $("norm-note").textContent = res.normalisation; $("norm-why").textContent = res.normalisation_why; }
  $("empty").hidden = !!(res && res.predictions.length);
  drawMap();
  renderDetail();
}

// ------------------------------------------------------------------ map
function extent() {
  const m = state.model, xs = [], ys = [];
  const add = (x, y) => { xs.push(x); ys.push(y); };
  if (m.regions.available) for (const c of Object.values(m.regions.classes)) {
    // bounding box of the rotated 90 % ellipse, with room for the class name at its tip
    const e = c.ellipses[c.ellipses.length - 1], a = e.angle * Math.PI / 180, k = 1.12;
    const hx = k * Math.hypot(e.rx * Math.cos(a), e.ry * Math.sin(a)), hy = k * Math.hypot(e.rx * Math.sin(a), e.ry * Math.cos(a));
    add(e.cx - hx, e.cy - hy); add(e.cx + hx, e.cy + hy);
  }
  if (m.reference.latent) add(m.reference.latent[0], m.reference.latent[1]);
  if (state.result) for (const p of state.result.predictions) add(p.z1, p.z2);
  if (!xs.length) { add(-1, -1); add(1, 1); }
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const px = 0.08 * (x1 - x0 || 1), py = 0.08 * (y1 - y0 || 1);
  return [x0 - px, x1 + px, y0 - py, y1 + py];
}

function drawMap() {
  const svg = $("map"), m = state.model;
  if (!m) return;
  svg.textContent = "";
  if (m.latent_dim !== 2) { $("map-note").textContent = `The latent has ${m.latent_dim} dimensions; the map shows z1 and z2.`; }
  let [x0, x1, y0, y1] = extent();
  const W = MAP.w - MAP.left - MAP.right, H = MAP.h - MAP.top - MAP.bottom;
  // one scale for both axes: distances and ellipse shapes on the page are the model's
  const k = Math.min(W / (x1 - x0), H / (y1 - y0)), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  [x0, x1, y0, y1] = [cx - W / k / 2, cx + W / k / 2, cy - H / k / 2, cy + H / k / 2];
  const sx = (x) => MAP.left + (x - x0) / (x1 - x0) * W, sy = (y) => MAP.top + (1 - (y - y0) / (y1 - y0)) * H;
  // grid and axes
  for (const t of ticks(x0, x1)) {
    svg.appendChild(el("svg:line", { class: "grid", x1: sx(t), x2: sx(t), y1: MAP.top, y2: MAP.top + H }));
    svg.appendChild(el("svg:text", { x: sx(t), y: MAP.top + H + 14, "text-anchor": "middle" }, t.toFixed(1)));
  }
  for (const t of ticks(y0, y1)) {
    svg.appendChild(el("svg:line", { class: "grid", y1: sy(t), y2: sy(t), x1: MAP.left, x2: MAP.left + W }));
    svg.appendChild(el("svg:text", { x: MAP.left - 5, y: sy(t) + 4, "text-anchor": "end" }, t.toFixed(1)));
  }
  svg.appendChild(el("svg:rect", { x: MAP.left, y: MAP.top, width: W, height: H, fill: "none", stroke: "#bbb" }));
  svg.appendChild(el("svg:text", { x: MAP.left + W / 2, y: MAP.h - 6, "text-anchor": "middle" }, "z1 (latent)"));
  svg.appendChild(el("svg:text", { x: 12, y: MAP.top + H / 2, transform: `rotate(-90 12 ${MAP.top + H / 2})`, "text-anchor": "middle" }, "z2 (latent)"));
  // regions
  const kx = W / (x1 - x0), ky = H / (y1 - y0);
  if (m.regions.available) {
    for (const [c, r] of Object.entries(m.regions.classes)) {
      r.ellipses.forEach((e, i) => {
        const outer = i === r.ellipses.length - 1;
        svg.appendChild(el("svg:ellipse", {
          cx: sx(e.cx), cy: sy(e.cy), rx: e.rx * kx, ry: e.ry * ky,
          transform: `rotate(${-e.angle} ${sx(e.cx)} ${sy(e.cy)})`,
          fill: outer ? "none" : m.colors[c], "fill-opacity": outer ? 0 : 0.16,
          stroke: m.colors[c], "stroke-width": outer ? 1.2 : 0, "stroke-dasharray": outer ? "5 4" : "",
        }));
      });
    }
    // class names at the outer tip of their 90 % ellipse (away from the others), not on the points
    const cls = Object.values(m.regions.classes);
    const mx = cls.reduce((s, r) => s + r.mean[0], 0) / cls.length, my = cls.reduce((s, r) => s + r.mean[1], 0) / cls.length;
    for (const [c, r] of Object.entries(m.regions.classes)) {
      const e = r.ellipses[r.ellipses.length - 1], a = e.angle * Math.PI / 180;
      const tips = [1, -1].map((k) => [e.cx + k * 1.08 * e.rx * Math.cos(a), e.cy + k * 1.08 * e.rx * Math.sin(a)]);
      const far = (t) => (t[0] - mx) ** 2 + (t[1] - my) ** 2;
      const [tx, ty] = far(tips[0]) >= far(tips[1]) ? tips[0] : tips[1];
      svg.appendChild(el("svg:text", { x: sx(tx), y: sy(ty) + 4, "text-anchor": "middle",
        style: `fill:${m.colors[c]};font-weight:bold;font-size:13px;paint-order:stroke;stroke:#fff;stroke-width:3px` }, c));
    }
    $("map-note").textContent = "Shaded: where half of each emotion's training utterances lie; dashed: 90 % " +
      "(Gaussian ellipses stored in the model). Points: your recordings, coloured and shaped by the predicted class; " +
      "a dashed ring marks a recording unlike the training data.";
  } else {
    svg.appendChild(el("svg:text", { x: MAP.left + W / 2, y: MAP.top + 18, "text-anchor": "middle", style: "fill:#A33" },
      "Emotion regions unavailable for this model"));
    $("map-note").textContent = "Emotion regions unavailable: " + m.regions.reason + ".";
  }
  if (m.reference.latent) {
    const [rx, ry] = [sx(m.reference.latent[0]), sy(m.reference.latent[1])];
    svg.appendChild(el("svg:path", { d: `M${rx - 6},${ry - 6}L${rx + 6},${ry + 6}M${rx - 6},${ry + 6}L${rx + 6},${ry - 6}`, stroke: "#000", "stroke-width": 2 }));
    svg.appendChild(el("svg:text", { x: rx - 8, y: ry + 16, "text-anchor": "end", style: "fill:#555" }, `${m.reference.label} reference`));
  }
  // points
  if (!state.result) return;
  for (const p of state.result.predictions) {
    const g = el("svg:g", { class: "pt" + (p.file === state.selected ? " selected" : ""), tabindex: 0, "data-file": p.file });
    const [x, y] = [sx(p.z1), sy(p.z2)];
    g.appendChild(el("svg:circle", { cx: x, cy: y, r: 13, fill: "transparent" })); // easier to hit
    if (p.ood) g.appendChild(el("svg:circle", { cx: x, cy: y, r: 12, fill: "none", stroke: "#000", "stroke-dasharray": "3 2" }));
    const mark = marker(m.markers[p.label] || "o", x, y, 7);
    mark.setAttribute("class", "mark");
    mark.setAttribute("fill", m.colors[p.label] || "#555");
    mark.setAttribute("stroke", "#fff");
    mark.setAttribute("stroke-width", 1.5);
    g.appendChild(mark);
    g.appendChild(el("svg:title", {}, `${p.file}: ${p.label} (p=${fmt(p["p_" + p.label])})${p.ood ? ", unlike the training data" : ""}`));
    const num = state.result.files.indexOf(p.file) + 1;
    g.appendChild(el("svg:text", { x: x + 9, y: y - 6, style: p.file === state.selected ? "font-weight:bold" : "" },
      p.file === state.selected ? `${num} ${short(p.file)}` : String(num)));
    g.addEventListener("click", () => select(p.file));
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") select(p.file); });
    svg.appendChild(g);
  }
}

function marker(kind, x, y, r) {
  if (kind === "s") return el("svg:rect", { x: x - r * 0.85, y: y - r * 0.85, width: 1.7 * r, height: 1.7 * r });
  if (kind === "^") return el("svg:path", { d: `M${x},${y - r * 1.1}L${x + r},${y + r * 0.8}L${x - r},${y + r * 0.8}Z` });
  if (kind === "D") return el("svg:path", { d: `M${x},${y - r * 1.15}L${x + r},${y}L${x},${y + r * 1.15}L${x - r},${y}Z` });
  return el("svg:circle", { cx: x, cy: y, r });
}

function ticks(a, b) {
  const span = b - a, step0 = Math.pow(10, Math.floor(Math.log10(span / 5)));
  const step = [1, 2, 5, 10].map((k) => k * step0).find((s) => span / s <= 7);
  const out = [];
  for (let t = Math.ceil(a / step) * step; t <= b; t += step) out.push(Math.round(t / step) * step);
  return out;
}
const short = (s) => (s.length > 22 ? s.slice(0, 20) + "…" : s);

function drawLegend() {
  const m = state.model, box = $("legend");
  box.textContent = "";
  for (const c of m.labels) {
    const span = el("span");
    const s = el("svg:svg", { width: 16, height: 16 });
    const mk = marker(m.markers[c] || "o", 8, 8, 5.5);
    mk.setAttribute("fill", m.colors[c]);
    s.appendChild(mk);
    span.appendChild(s);
    span.appendChild(document.createTextNode(" " + c));
    box.appendChild(span);
  }
  const o = el("span");
  const s = el("svg:svg", { width: 16, height: 16 });
  s.appendChild(el("svg:circle", { cx: 8, cy: 8, r: 6, fill: "none", stroke: "#000", "stroke-dasharray": "3 2" }));
  o.appendChild(s);
  o.appendChild(document.createTextNode(" unlike the training data (out-of-domain)"));
  box.appendChild(o);
}

// ------------------------------------------------------------------ detail
function select(name) {
  state.selected = name;
  renderFiles();
  drawMap();
  renderDetail();
}

function renderDetail() {
  const box = $("detail"), res = state.result, m = state.model;
  const row = state.selected && rowOf(state.selected);
  box.hidden = !row;
  if (!row) return;
  const d = res.details[row.file] || {};
  $("d-title").textContent = row.file;
  $("d-meta").textContent = `speaker "${d.speaker}" · ${fmt(d.duration, 1)} s · ${d.format}, ${d.sample_rate} Hz, ` +
    `${d.channels} channel(s) · latent (${fmt(row.z1)}, ${fmt(row.z2)})`;
  const idx = res.files.indexOf(row.file);
  const f = state.files[idx];
  const player = $("player");
  if (f && player.dataset.src !== f.url) { player.src = f.url; player.dataset.src = f.url; }
  // probabilities
  const probs = $("probs");
  probs.textContent = "";
  for (const c of m.labels) {
    const v = row["p_" + c];
    const b = el("div", { class: "bar" });
    b.appendChild(el("span", {}, c + (c === row.label ? " ◀" : "")));
    const tr = el("div", { class: "track" });
    tr.appendChild(el("div", { class: "fill", style: `width:${(100 * v).toFixed(1)}%;background:${m.colors[c]}` }));
    b.appendChild(tr);
    b.appendChild(el("span", {}, pct(v)));
    probs.appendChild(b);
  }
  $("ood").textContent = d.ood_reason || `score ${fmt(row.ood_score)}`;
  $("ood").className = row.ood ? "skip" : "";
  renderAttribution(d.attribution);
  renderTimeline(d);
}

function renderAttribution(a) {
  const box = $("attr"), m = state.model;
  box.textContent = "";
  if (!a) { $("attr-note").textContent = m.attribution.reason || "no attribution"; return; }
  const top = a.groups.slice(0, 10);
  const max = Math.max(...top.map((g) => Math.abs(g.along)), 1e-9);
  for (const g of top) {
    const b = el("div", { class: "abar", title: `${g.group}: z1 ${fmt(g.z1, 3)}, z2 ${fmt(g.z2, 3)}` });
    b.appendChild(el("span", {}, g.group));
    const tr = el("div", { class: "track" });
    const w = 50 * Math.abs(g.along) / max;
    tr.appendChild(el("div", { class: "fill " + (g.along >= 0 ? "pos" : "neg"),
      style: g.along >= 0 ? `left:50%;width:${w}%` : `left:${50 - w}%;width:${w}%` }));
    b.appendChild(tr);
    b.appendChild(el("span", {}, (g.along >= 0 ? "+" : "") + fmt(g.along)));
    box.appendChild(b);
  }
  $("attr-note").textContent = `The recording lies ${fmt(a.distance)} latent units from the ${m.reference.label} reference. ` +
    "Bars: each feature group's share of that move (DeepLIFT; blue pushes away, grey pulls back; they add up to the distance). " +
    `Top ${top.length} of ${a.groups.length} groups. Reference: ${m.reference.text}.`;
}

function renderTimeline(d) {
  const tl = d.timeline, box = $("timeline-box");
  box.hidden = !tl;
  if (!tl) return;
  const m = state.model, dur = d.duration;
  $("tl-note").textContent = `probabilities of ${tl.window} s windows every ${tl.hop} s (colours as on the map; darkened: unlike the training data; ` +
    "each window is normalised with the training statistics, as emolens predict --stream)";
  // waveform
  const cv = $("wave"), ctx = cv.getContext("2d"), W = cv.width, H = cv.height, wf = d.waveform;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#777";
  const peak = Math.max(1e-6, ...wf.max.map(Math.abs), ...wf.min.map(Math.abs));
  for (let i = 0; i < wf.min.length; i++) {
    const x = i / wf.min.length * W;
    const y0 = H / 2 - wf.max[i] / peak * H / 2 * 0.95, y1 = H / 2 - wf.min[i] / peak * H / 2 * 0.95;
    ctx.fillRect(x, y0, Math.max(1, W / wf.min.length), Math.max(1, y1 - y0));
  }
  ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; // time axis, seconds
  for (const t of ticks(0, dur)) { ctx.fillRect(t / dur * W, 0, 1, 6); ctx.fillText(`${t} s`, t / dur * W + 3, 11); }
  // stacked probabilities per window, at the window centres
  const svg = $("timeline");
  svg.textContent = "";
  const X = (t) => t / dur * 900;
  const rows = tl.rows.filter((r) => r.label);
  const half = tl.hop / 2;
  for (const r of tl.rows) {
    const c = (r.start + r.end) / 2, a = X(Math.max(0, c - half)), b = X(Math.min(dur, c + half));
    if (!r.label) { svg.appendChild(el("svg:rect", { x: a, y: 0, width: b - a, height: 90, fill: "#eee" }, "")); continue; }
    let y = 0;
    for (const lab of m.labels) {
      const h = 90 * r["p_" + lab];
      const rect = el("svg:rect", { x: a, y, width: Math.max(0.5, b - a), height: h, fill: m.colors[lab] });
      rect.appendChild(el("svg:title", {}, `${fmt(r.start, 0)}–${fmt(r.end, 0)} s: ${lab} ${pct(r["p_" + lab])}`));
      svg.appendChild(rect);
      y += h;
    }
    if (r.ood) svg.appendChild(el("svg:rect", { x: a, y: 0, width: b - a, height: 90, fill: "#000", "fill-opacity": 0.18 }));
  }
  if (!rows.length) svg.appendChild(el("svg:text", { x: 10, y: 50 }, "no window could be predicted"));
  svg.appendChild(el("svg:line", { id: "playhead", x1: 0, x2: 0, y1: 0, y2: 90, stroke: "#000", "stroke-width": 2 }));
}

function onTime() {
  const p = $("playhead"), d = state.result && state.selected && state.result.details[state.selected];
  if (p && d) { const x = $("player").currentTime / d.duration * 900; p.setAttribute("x1", x); p.setAttribute("x2", x); }
}

// ------------------------------------------------------------------ microphone
let recorder = null;
async function toggleRecord() {
  const btn = $("record");
  if (recorder) { recorder.stop(); return; }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    setStatus("this browser cannot record here (microphones need localhost or https)", true); return;
  }
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (e) {
    setStatus("no microphone: " + e.message, true); return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    recorder = null;
    btn.classList.remove("recording"); btn.textContent = "● Record";
    try {
      const buf = await new Blob(chunks).arrayBuffer();
      const ctx = new AudioContext();
      const audio = await ctx.decodeAudioData(buf);
      ctx.close();
      state.recCount += 1;
      addFiles([new File([wav(audio)], `recording ${state.recCount}.wav`, { type: "audio/wav" })]);
    } catch (e) { setStatus("could not decode the recording: " + e.message, true); }
  };
  recorder.start();
  btn.classList.add("recording"); btn.textContent = "■ Stop";
  setStatus("recording… press Stop when done");
}

function wav(audio) { // mono 16-bit PCM WAV (the browser records WebM/Opus, which libsndfile cannot read)
  const n = audio.length, sr = audio.sampleRate, ch = audio.numberOfChannels;
  const mono = new Float32Array(n);
  for (let c = 0; c < ch; c++) { const d = audio.getChannelData(c); for (let i = 0; i < n; i++) mono[i] += d[i] / ch; }
  const buf = new ArrayBuffer(44 + 2 * n), v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); v.setUint32(4, 36 + 2 * n, true); str(8, "WAVE"); str(12, "fmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, sr, true);
  v.setUint32(28, 2 * sr, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true); str(36, "data");
  v.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) v.setInt16(44 + 2 * i, Math.max(-1, Math.min(1, mono[i])) * 32767, true);
  return buf;
}

// ------------------------------------------------------------------ downloads
function download(name, text, type) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.appendChild(a); a.click(); a.remove();
}
function csvText() {
  const res = state.result, cols = res.columns;
  const cell = (v) => {
    if (v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "True" : "False"; // as pandas writes them
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(",")].concat(res.predictions.map((r) => cols.map((c) => cell(r[c])).join(","))).join("\n") + "\n";
}
function jsonText() { return JSON.stringify(state.result.predictions, null, 1) + "\n"; }
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }
function summaryHtml() {
  const res = state.result, m = state.model, when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const head = ["#", "file", "speaker", "label"].concat(m.labels.map((c) => "p_" + c), ["z1", "z2", "ood_score", "out-of-domain", "top groups (away from " + m.reference.label + ")"]);
  const rows = res.predictions.map((r) => {
    const d = res.details[r.file] || {}, a = d.attribution;
    const top = a ? a.groups.slice(0, 3).map((g) => `${g.group} (${g.along >= 0 ? "+" : ""}${fmt(g.along)})`).join(", ") : "";
    const cells = [res.files.indexOf(r.file) + 1, r.file, d.speaker || "", r.label].concat(m.labels.map((c) => fmt(r["p_" + c])), [fmt(r.z1), fmt(r.z2), fmt(r.ood_score), r.ood ? "yes" : "no", top]);
    return "<tr>" + cells.map((c) => `<td>${esc(c)}</td>`).join("") + "</tr>";
  }).join("\n");
  const skipped = res.skipped.map((s) => `<li>${esc(s.file)}: ${esc(s.reason)}</li>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>emolens session ${esc(when)}</title>
<style>body{font:13px system-ui,sans-serif;margin:20px;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}td:nth-child(-n+4){white-space:nowrap}svg text{font-size:11px}.grid{stroke:#eee}</style></head><body>
<h1>emolens session, ${esc(when)}</h1>
<p>${esc($("model-line").textContent)}</p>
<p><b>Normalisation:</b> ${esc(res.normalisation)}</p><p>${esc(res.normalisation_why)}</p>
${$("map").outerHTML.replace("<svg", '<svg width="640" height="470" xmlns="http://www.w3.org/2000/svg"')}
<p>${esc($("map-note").textContent)} The numbers are those of the table.</p>
<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>
${rows}</table>
${skipped ? `<h2>Skipped</h2><ul>${skipped}</ul>` : ""}
<p>Attribution: ${esc(m.attribution.method)}. Out-of-domain threshold ${fmt(m.ood.threshold)} (${esc(m.ood.source)}); a flag means unlike the training data, not a wrong prediction.</p>
<p>emolens ${esc(m.emolens)}</p></body></html>`;
}

// ------------------------------------------------------------------ runs tab
async function loadRuns() {
  const r = await (await fetch("/api/runs")).json(), ul = $("run-list");
  ul.textContent = "";
  if (!r.runs.length) ul.appendChild(el("li", {}, r.available ? "no report.html below the --runs folder" : r.reason));
  for (const run of r.runs) {
    const li = el("li"), a = el("a", { href: run.report }, run.name);
    a.addEventListener("click", (e) => { e.preventDefault(); $("run-frame").hidden = false; $("run-frame").src = run.report; });
    li.appendChild(a);
    li.appendChild(document.createTextNode(`  (${run.modified})`));
    ul.appendChild(li);
  }
}

// ------------------------------------------------------------------ wiring
function init() {
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles([...e.dataTransfer.files]); });
  $("file-input").addEventListener("change", (e) => { addFiles([...e.target.files]); e.target.value = ""; });
  $("record").addEventListener("click", toggleRecord);
  $("one-speaker").addEventListener("click", () => { state.files.forEach((f) => (f.speaker = "speaker 1")); renderFiles(); analyse(); });
  $("own-speaker").addEventListener("click", () => { state.files.forEach((f, i) => (f.speaker = `speaker ${i + 1}`)); renderFiles(); analyse(); });
  $("clear").addEventListener("click", () => { state.files.forEach((f) => URL.revokeObjectURL(f.url)); state.files = []; analyse(); });
  $("dl-csv").addEventListener("click", () => download("emolens-predictions.csv", csvText(), "text/csv"));
  $("dl-json").addEventListener("click", () => download("emolens-predictions.json", jsonText(), "application/json"));
  $("dl-html").addEventListener("click", () => download("emolens-summary.html", summaryHtml(), "text/html"));
  $("player").addEventListener("timeupdate", onTime);
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b === t));
    $("recordings").hidden = t.dataset.tab !== "recordings";
    $("runs").hidden = t.dataset.tab !== "runs";
    if (t.dataset.tab === "runs") loadRuns();
  });
  loadModel().catch((e) => setStatus("cannot load the model: " + e, true));
}
init();
