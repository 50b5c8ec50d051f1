// SPDX-License-Identifier: MIT
// app.js - the page's behaviour: reads the JSON API, follows the event stream, and sends connect, download and
// cancel requests (docs/api.md). No library and no build step.
//
// Every name, address and message that came from another peer is put on the page as text (textContent, or a text
// node through append()), never parsed as HTML: a file named <img src=x onerror=alert(1)> shows as those characters.
"use strict";

const token = document.querySelector('meta[name="p2p-token"]').content;
const state = {
  self: null,
  peers: [],
  files: [],
  failures: [],
  transfers: new Map(), // op -> {data, nodes, rates: [{t, rate}]}
  stopped: false,
};
const chartPoints = 60; // the chart shows the last 60 rate reports (about 12 s at one per 200 ms)

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

/** An element with properties and children; strings become text nodes, never markup. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") {
      node.textContent = value;
    } else if (key === "class") {
      node.className = value;
    } else if (key.startsWith("on")) {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value);
    }
  }
  node.append(...children);
  return node;
}

function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function short(id) {
  return id ? id.slice(0, 8) : "?";
}

function say(text, isError = false) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = isError ? "error" : "ok";
}

function setStatus(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = kind;
}

/** Calls the API; resolves to the JSON body, or rejects with the API's error message. */
async function api(path, method = "GET", body = undefined) {
  const init = { method, headers: { "X-P2P-Token": token }, credentials: "same-origin", cache: "no-store" };
  if (method === "POST") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, init);
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    throw new Error(data && data.error ? data.error : `HTTP ${response.status}`);
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

function renderSelf() {
  const self = state.self;
  document.getElementById("self-id").textContent = self.short;
  document.title = `p2p peer ${self.short}`;
  document.getElementById("self-address").textContent = `Listening on ${self.addresses.join(", ")}`;
  const key = document.getElementById("self-key");
  if (self.secure) {
    key.hidden = false;
    key.textContent = `Public key: ${self.public_key} (others connect to ${self.public_key}@host:port)`;
    document.getElementById("connect-address").placeholder = "KEY@host:port";
  }
}

function haveLocally(name) {
  return state.files.some((f) => f.name === name);
}

function downloading(name) {
  for (const t of state.transfers.values()) {
    if (t.data.name === name && (t.data.state === "starting" || t.data.state === "running")) {
      return true;
    }
  }
  return false;
}

function renderPeers() {
  const box = document.getElementById("peers");
  if (state.peers.length === 0) {
    box.replaceChildren(el("p", { class: "empty", text: "No peers connected" }));
    return;
  }
  box.replaceChildren(
    ...state.peers.map((peer) => {
      const list = el("ul", { class: "files" });
      for (const file of peer.files) {
        const actions = el("span", { class: "actions" });
        if (haveLocally(file.name)) {
          actions.append(el("span", { class: "note", text: "in my folder" }));
        } else if (downloading(file.name)) {
          actions.append(el("span", { class: "note", text: "downloading" }));
        } else {
          actions.append(
            el("button", {
              type: "button",
              class: "get-one",
              text: `Get from ${short(peer.peer)}`,
              onclick: () => download(file.name, peer.peer),
            }),
            el("button", {
              type: "button",
              class: "get-any",
              text: "Get from any",
              onclick: () => download(file.name, ""),
            }),
          );
        }
        list.append(
          el("li", { class: "file" },
            el("span", { class: "name", text: file.name }),
            el("span", { class: "size", text: formatBytes(file.size) }),
            actions),
        );
      }
      if (peer.files.length === 0) {
        list.append(el("li", { class: "empty", text: "No files shared" }));
      }
      return el("article", { class: "peer", "data-peer": peer.peer },
        el("h3", {},
          el("span", { class: "peer-id", text: `Peer ${short(peer.peer)}` }),
          el("span", { class: "peer-address", text: ` at ${peer.address}` }),
          el("span", { class: "note", text: peer.outbound ? " (we connected)" : " (it connected)" })),
        list);
    }),
  );
}

function renderFiles() {
  const list = document.getElementById("files");
  if (state.files.length === 0) {
    list.replaceChildren(el("li", { class: "empty", text: "No files available" }));
    return;
  }
  list.replaceChildren(
    ...state.files.map((f) =>
      el("li", { class: "file" },
        el("span", { class: "name", text: f.name }),
        el("span", { class: "size", text: formatBytes(f.size) }))),
  );
}

function renderFailures() {
  const list = document.getElementById("failures");
  if (state.failures.length === 0) {
    list.replaceChildren(el("li", { class: "empty", text: "No failed connections" }));
    return;
  }
  list.replaceChildren(
    ...state.failures.map((f) => {
      const when = new Date(f.last_time).toLocaleString();
      const times = f.count === 1 ? "1 failure" : `${f.count} failures`;
      return el("li", {}, el("span", { class: "name", text: f.address }),
        el("span", { text: `: ${times}, last at ${when}: ${f.last_error}` }));
    }),
  );
}

/** The nodes of one transfer: made once, then updated in place, so the bar and the chart keep their state. */
function transferNodes(op) {
  const nodes = {
    title: el("span", { class: "name" }),
    state: el("span", { class: "state" }),
    bar: el("progress", { max: "1", value: "0" }),
    detail: el("p", { class: "detail" }),
    chart: el("canvas", { class: "chart", width: "300", height: "60", "aria-label": "transfer rate over time" }),
    cancel: el("button", { type: "button", class: "cancel", text: "Cancel", onclick: () => cancel(op) }),
  };
  nodes.root = el("article", { class: "transfer", "data-op": String(op) },
    el("h3", {}, nodes.title, nodes.state), nodes.bar, nodes.detail, nodes.chart, nodes.cancel);
  return nodes;
}

function updateTransfer(data) {
  let entry = state.transfers.get(data.op);
  if (!entry) {
    entry = { data, nodes: transferNodes(data.op), rates: [] };
    state.transfers.set(data.op, entry);
  }
  entry.data = data;
  if (data.state === "running") {
    entry.rates.push(data.rate);
    if (entry.rates.length > chartPoints) {
      entry.rates.shift();
    }
  }
  const n = entry.nodes;
  n.title.textContent = data.name;
  const words = { starting: "starting", running: "", done: "done", failed: data.code === "cancelled" ? "cancelled" : "failed" };
  n.state.textContent = words[data.state] ? ` — ${words[data.state]}` : "";
  n.root.dataset.state = data.state;
  if (data.size > 0) {
    n.bar.max = data.size;
    n.bar.value = data.bytes;
  }
  const from = data.peer ? `from ${short(data.peer)}` : data.from ? `from ${short(data.from)}` : "from any peer";
  const parts = [`${formatBytes(data.bytes)} of ${data.size > 0 ? formatBytes(data.size) : "?"}`, from];
  if (data.state === "running" || data.state === "done") {
    parts.push(`${formatBytes(data.rate)}/s`);
  }
  if (data.eta !== null && data.state === "running") {
    parts.push(`${formatClock(data.eta)} left`);
  }
  if (data.holders.length > 0) {
    parts.push(`held by ${data.holders.map(short).join(", ")}`);
  }
  if (data.state === "failed" && data.code !== "cancelled") {
    parts.push(data.error); // why it failed (a cancel says so in the heading already)
  }
  if (data.state === "done" && data.limit) {
    parts.push(`limited by ${data.limit.text}`); // what bounded the rate, as get prints it
  }
  n.detail.textContent = parts.join(" · ");
  n.cancel.hidden = !(data.state === "starting" || data.state === "running") || state.stopped;
  drawChart(n.chart, entry.rates);
  renderTransferList();
}

function renderTransferList() {
  const box = document.getElementById("transfers");
  const entries = [...state.transfers.values()].sort((a, b) => b.data.op - a.data.op);
  if (entries.length === 0) {
    box.replaceChildren(el("p", { class: "empty", text: "No transfers yet" }));
    return;
  }
  // Appending nodes that are already there only moves them: the bars and charts stay as they are.
  const current = [...box.children];
  if (current.length !== entries.length || entries.some((e, i) => current[i] !== e.nodes.root)) {
    box.replaceChildren(...entries.map((e) => e.nodes.root));
  }
}

/** The rate over time as a filled line on a canvas, scaled to its highest point. */
function drawChart(canvas, rates) {
  // A transfer over before its second report has no line to draw. Shown first, so that it has a size to measure.
  canvas.hidden = rates.length < 2;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 300;
  const height = canvas.clientHeight || 60;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  if (rates.length < 2) {
    return;
  }
  const top = Math.max(...rates, 1);
  const x = (i) => (i / (rates.length - 1)) * width; // the points so far span the width
  const y = (r) => height - 2 - (r / top) * (height - 14);
  g.beginPath();
  g.moveTo(x(0), height);
  rates.forEach((r, i) => g.lineTo(x(i), y(r)));
  g.lineTo(x(rates.length - 1), height);
  g.closePath();
  g.fillStyle = "rgba(37, 99, 235, 0.18)";
  g.fill();
  g.beginPath();
  rates.forEach((r, i) => (i === 0 ? g.moveTo(x(i), y(r)) : g.lineTo(x(i), y(r))));
  g.strokeStyle = "#2563eb";
  g.lineWidth = 1.5;
  g.stroke();
  g.fillStyle = "#555";
  g.font = "10px sans-serif";
  g.fillText(`peak ${formatBytes(top)}/s`, 4, 10);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading state

async function refreshSelf() {
  state.self = await api("/api/self");
  renderSelf();
}

async function refreshPeers() {
  const [peers, failures] = await Promise.all([api("/api/peers"), api("/api/failures")]);
  state.peers = peers;
  state.failures = failures;
  renderPeers();
  renderFailures();
}

async function refreshFiles() {
  state.files = await api("/api/files");
  renderFiles();
  renderPeers(); // "in my folder" marks
}

async function refreshTransfers() {
  for (const t of await api("/api/transfers")) {
    updateTransfer(t);
  }
}

async function refreshAll() {
  try {
    await refreshSelf();
    await Promise.all([refreshFiles(), refreshPeers(), refreshTransfers()]);
  } catch (e) {
    say(`Cannot read the peer's state: ${e.message}`, true);
  }
}

/** Coalesces refreshes asked for by a burst of events into one. */
function later(job) {
  if (job.pending) {
    return;
  }
  job.pending = true;
  setTimeout(async () => {
    job.pending = false;
    try {
      await job();
    } catch (e) {
      say(`Cannot read the peer's state: ${e.message}`, true);
    }
  }, 50);
}

// ---------------------------------------------------------------------------------------------------------------
// Acting

async function download(name, from) {
  try {
    const t = await api("/api/downloads", "POST", { name, from });
    updateTransfer(t);
    renderPeers();
    say(`Downloading ${name} ${from ? `from ${short(from)}` : "from any peer that has it"}`);
  } catch (e) {
    say(e.message, true);
  }
}

async function cancel(op) {
  try {
    await api(`/api/downloads/${op}/cancel`, "POST");
  } catch (e) {
    say(e.message, true);
  }
}

async function connect(event) {
  event.preventDefault();
  const input = document.getElementById("connect-address");
  const button = document.getElementById("connect-button");
  const address = input.value.trim();
  if (!address) {
    return;
  }
  button.disabled = true;
  say(`Connecting to ${address}…`);
  try {
    const done = await api("/api/connect", "POST", { address });
    const files = done.file_count === 1 ? "1 file" : `${done.file_count} files`;
    say(`Connected to peer ${short(done.peer)} at ${done.address} (${files} available)`);
    input.value = "";
  } catch (e) {
    say(e.message, true);
  } finally {
    button.disabled = false;
    later(refreshPeers);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Following the peer

function follow() {
  const events = new EventSource("/api/events");
  events.addEventListener("open", () => {
    setStatus("Live", "live");
    refreshAll(); // events may have been missed while the stream was down
  });
  events.addEventListener("error", () => {
    if (!state.stopped) {
      setStatus("Reconnecting…", "down");
    }
  });
  for (const kind of ["peer_joined", "peer_left", "peer_files_changed", "connect_finished"]) {
    events.addEventListener(kind, () => later(refreshPeers));
  }
  events.addEventListener("transfer", (e) => updateTransfer(JSON.parse(e.data)));
  events.addEventListener("local_files_changed", () => later(refreshFiles));
  events.addEventListener("download_finished", (e) => {
    const done = JSON.parse(e.data);
    later(refreshFiles);
    if (done.ok) {
      say(`Got file ${done.name} from peer ${short(done.peer)} (${formatBytes(done.size)})`);
    } else {
      say(done.error, true);
    }
  });
  events.addEventListener("stopping", () => setStatus("The peer is stopping", "down"));
  events.addEventListener("stopped", () => {
    state.stopped = true;
    events.close();
    setStatus("The peer has stopped", "down");
    for (const button of document.querySelectorAll("button")) {
      button.disabled = true;
    }
  });
}

document.getElementById("connect-form").addEventListener("submit", connect);
follow();
