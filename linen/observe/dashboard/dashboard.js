// The Linen dashboard: one WebSocket to the node, `linen_pipelineStatus` asked every second and at
// each new head (eth_subscribe newHeads), drawn with plain DOM calls (no framework, nothing loaded
// from outside). Every value from the chain is put in as text, never as HTML.
"use strict";

const state = { ws: null, nextId: 1, pending: new Map(), tracked: null, last: null };
const LANES = ["blocks", "batches", "blobs", "aggregations", "finalized"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

function range(r) { return r[0] === r[1] ? `${r[0]}` : `${r[0]}–${r[1]}`; }
function short(hash) { return hash ? `${hash.slice(0, 10)}…` : "–"; }
function fill(id, ...children) { const node = document.getElementById(id); node.replaceChildren(...children); }

// -- the connection ------------------------------------------------------------------------------
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
  state.ws = ws;
  ws.onopen = () => {
    setBadge("connection", "live", "ok");
    call("eth_subscribe", ["newHeads"]).catch(() => {});
    refresh();
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "eth_subscription") { refresh(); return; }
    const waiting = state.pending.get(message.id);
    if (!waiting) return;
    state.pending.delete(message.id);
    if (message.error) waiting.reject(new Error(message.error.message)); else waiting.resolve(message.result);
  };
  ws.onclose = () => {
    setBadge("connection", "disconnected, retrying", "stalled");
    for (const waiting of state.pending.values()) waiting.reject(new Error("closed"));
    state.pending.clear();
    setTimeout(connect, 1000);
  };
}

function call(method, params) {
  return new Promise((resolve, reject) => {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { reject(new Error("not connected")); return; }
    const id = state.nextId++;
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const params = state.tracked === null ? [] : [`0x${state.tracked.toString(16)}`];
    const picture = await call("linen_pipelineStatus", params);
    state.last = picture;
    render(picture);
  } catch (error) {
    if (String(error.message) !== "not connected" && String(error.message) !== "closed") {
      setBadge("connection", `error: ${error.message}`, "failing");
    }
  } finally {
    refreshing = false;
  }
}

function setBadge(id, text, status) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = `badge status-${status}`;
}

// -- drawing -------------------------------------------------------------------------------------
function render(p) {
  const chain = p.endpoints.l2ChainId ? `L2 chain ${p.endpoints.l2ChainId}` : "";
  document.getElementById("chain").textContent = chain;
  setBadge("overall", `pipeline ${p.health.status}`, p.health.status);
  renderStages(p);
  renderTracked(p.tracked);
  renderTimeline(p);
  renderProvers(p.provers);
  renderBridge(p.bridge);
  renderActors(p.health.actors || {});
  renderEndpoints(p.endpoints);
}

function counts(c) {
  return el("div", { class: "counts" }, ...Object.entries(c || {}).map(([k, v]) => el("span", {}, `${k} ${v}`)));
}

function latest(stage, what) {
  if (!stage || !stage.recent.length) return el("div", { class: "muted" }, `no ${what} yet`);
  const row = stage.recent[0];
  return el("div", {}, el("div", { class: "big" }, range(row.range)),
    el("div", { class: "muted" }, `${row.status} · ${age(row.age)}`));
}

function renderStages(p) {
  const blocks = p.timeline.blocks;
  const txs = blocks.reduce((sum, b) => sum + b[2], 0);
  fill("stage-blocks", el("h2", {}, "Blocks"), el("div", { class: "big" }, `#${p.head.number}`),
    el("div", { class: "muted" }, `head sealed ${age(p.head.age)}`),
    el("div", { class: "muted" }, `${blocks.length} blocks, ${txs} transactions in the last hour`));
  fill("stage-batches", el("h2", {}, "Batches"), latest(p.batches, "batches"), counts(p.batches && p.batches.counts));
  fill("stage-blobs", el("h2", {}, "Blobs"), latest(p.blobs, "blobs"), counts(p.blobs && p.blobs.counts));
  fill("stage-aggregations", el("h2", {}, "Proofs"), latest(p.aggregations, "aggregations"),
    counts(p.aggregations && p.aggregations.counts));
  const f = p.finalized;
  fill("stage-finalized", el("h2", {}, "Finalized on L1"),
    f ? el("div", { class: "big" }, `#${f.block}`) : el("div", { class: "muted" }, "no pipeline in this process"),
    f ? el("div", { class: "muted" }, `${age(f.age)} · tx ${short(f.tx)}`) : null);
}

function renderTracked(t) {
  if (!t) return;
  const steps = t.steps.map((s, i) => el("li", { class: i === t.steps.length - 1 ? "last" : "" },
    `${s.step} ${range(s.range)}${s.tx ? ` (${short(s.tx)})` : ""}`));
  fill("tracked", el("div", { id: "tracked-stage", "data-stage": t.stage }, `block ${t.block}: ${t.stage}`),
    el("ol", {}, ...steps));
}

function renderTimeline(p) {
  const root = document.getElementById("timeline");
  const width = 1000, lane = 150 / LANES.length, now = p.time, span = p.timeline.seconds;
  const x = (t) => 60 + (width - 70) * (1 - Math.min(span, now - t) / span);
  const nodes = [];
  LANES.forEach((name, i) => {
    nodes.push(svg("text", { x: 2, y: i * lane + lane / 2 + 4 }, name));
    nodes.push(svg("line", { x1: 60, x2: width, y1: (i + 1) * lane, y2: (i + 1) * lane, stroke: "#eee" }));
  });
  for (const [t, , n] of p.timeline.blocks) {
    nodes.push(svg("circle", { cx: x(t), cy: lane / 2, r: n ? 2.5 : 1.2, fill: n ? "#555" : "#bbb" }));
  }
  for (const e of p.timeline.events) {
    const i = e.status === "finalized" ? 4 : LANES.indexOf(e.kind);
    const color = { requested: "#999", proven: "#2f7d32", submitted: "#1565c0", finalized: "#6a1b9a" }[e.status] || "#555";
    const dot = svg("circle", { cx: x(e.time), cy: i * lane + lane / 2, r: 3.5, fill: color });
    dot.append(svg("title", {}, `${e.kind} ${range(e.range)} ${e.status}`));
    nodes.push(dot);
  }
  nodes.push(svg("text", { x: 62, y: 148 }, "−60 min"), svg("text", { x: width - 30, y: 148 }, "now"));
  root.replaceChildren(...nodes);
}

function table(headers, rows) {
  return el("table", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h))),
    ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
}

function renderProvers(p) {
  if (!p) { fill("provers", el("div", { class: "muted" }, "no prover in this process")); return; }
  fill("provers", el("div", {}, `${p.id}: ${p.current ? `proving ${p.current}` : "idle"} · ${p.done} jobs done`),
    table(["request", "kind", "outcome", "s"], p.recent.map((j) => [j.request, j.kind, j.outcome, j.seconds])));
}

function renderBridge(b) {
  if (!b) { fill("bridge", el("div", { class: "muted" }, "no postman in this process (or no L2 message service)")); return; }
  const rows = [];
  for (const [direction, byStatus] of Object.entries(b.counts)) {
    for (const [status, n] of Object.entries(byStatus)) rows.push([direction, status, n]);
  }
  if (!rows.length) { fill("bridge", el("div", { class: "muted" }, "no bridge messages yet")); return; }
  fill("bridge", table(["direction", "status", "messages"], rows),
    table(["direction", "#", "status", "claim"], b.recent.map((m) => [m.direction, m.messageNumber, m.status, short(m.claimTx)])));
}

function renderActors(actors) {
  fill("actors", table(["actor", "status", "last success", "last error"], Object.entries(actors).map(([name, a]) => {
    const status = el("span", { class: `status-${a.status}` }, a.status + (a.busySeconds > 1 ? ` (busy ${a.busySeconds.toFixed(0)} s)` : ""));
    return [name, status, a.lastSuccess ? age(Date.now() / 1000 - a.lastSuccess) : "–", a.lastError || ""];
  })));
}

function renderEndpoints(e) {
  fill("endpoints", table(["", ""], Object.entries(e).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : v])));
}

// -- start ---------------------------------------------------------------------------------------
function follow(value) {
  const n = Number.parseInt(value, value.startsWith("0x") ? 16 : 10);
  state.tracked = Number.isFinite(n) && n >= 0 ? n : null;
  refresh();
}

document.getElementById("track-form").addEventListener("submit", (event) => {
  event.preventDefault();
  follow(document.getElementById("track-input").value.trim());
});
const fromQuery = new URLSearchParams(location.search).get("block");
if (fromQuery !== null) { document.getElementById("track-input").value = fromQuery; follow(fromQuery); }
connect();
setInterval(refresh, 1000);
