// The live page: lists the catalog, joins one topic over the Phoenix Channels V2 JSON protocol
// (frames [join_ref, ref, topic, event, payload]) and keeps a table, its charts and the list of
// viewers current as pushes arrive. Plain JavaScript, no library: the gateway speaks the protocol
// phoenix.js speaks, and this file speaks the small part of it a viewer needs.
//
// Every value shown comes from the database or from other viewers: it is written with
// textContent, never parsed as HTML.
"use strict";

(() => {
  const HEARTBEAT_MS = 30000;                      // as phoenix.js
  const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];  // reconnect and rejoin delays, then the last
  const CHART_POINTS = 120;                        // samples kept per numeric column
  const FLASH_MS = 1600;                           // how long a changed cell stays marked

  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  // ---- The canonical topic (lib/core/topic.cpp, PROTOCOL.md): parameters sorted by name, the
  // separators, '%' and bytes below 0x21 escaped as %XX; other characters pass unchanged.
  function escapeTopicPart(s) {
    let out = "";
    for (const ch of String(s)) {
      const c = ch.codePointAt(0);
      if (c < 0x21 || ch === "%" || ch === "&" || ch === "=" || ch === "?") {
        out += "%" + c.toString(16).toUpperCase().padStart(2, "0");
      } else {
        out += ch;
      }
    }
    return out;
  }
  function makeTopic(query, params) {
    const names = Object.keys(params).sort();
    const pairs = names.map((n) => escapeTopicPart(n) + "=" + escapeTopicPart(params[n]));
    return "live:" + query + (pairs.length ? "?" + pairs.join("&") : "");
  }

  // ---- The socket: one WebSocket, refs, heartbeats, reconnection with back-off. It knows
  // nothing of tables; the channel below registers itself for its topic.
  class Socket {
    constructor(url) {
      this.url = url;
      this.ws = null;
      this.ref = 0;
      this.attempt = 0;
      this.replies = new Map();  // ref -> callback(payload)
      this.heartbeatRef = null;
      this.timers = {};
      this.onOpen = () => {};
      this.onMessage = () => {};
      this.onState = () => {};
    }
    nextRef() { return String(++this.ref); }
    connect() {
      clearTimeout(this.timers.reconnect);
      this.onState("connecting", "connecting…");
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this.onState("open", "connected");
        this.heartbeatRef = null;
        this.timers.heartbeat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
        this.onOpen();
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        clearInterval(this.timers.heartbeat);
        this.replies.clear();
        this.scheduleReconnect();
      };
      ws.onerror = () => {};  // onclose follows and reconnects
    }
    scheduleReconnect() {
      const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));  // jitter: no herd
      this.attempt++;
      this.onState("closed", "disconnected, retrying in " + (delay / 1000).toFixed(1) + " s");
      this.timers.reconnect = setTimeout(() => this.connect(), delay);
    }
    heartbeat() {
      if (this.heartbeatRef !== null) {  // the last one was never answered: the link is dead
        this.heartbeatRef = null;
        if (this.ws) this.ws.close();
        return;
      }
      this.heartbeatRef = this.push(null, "phoenix", "heartbeat", {}, () => {
        this.heartbeatRef = null;
      });
    }
    isOpen() { return this.ws !== null && this.ws.readyState === WebSocket.OPEN; }
    // Sends one frame; onReply (if given) receives its phx_reply payload. Returns the ref.
    push(joinRef, topic, event, payload, onReply) {
      const ref = this.nextRef();
      if (onReply) this.replies.set(ref, onReply);
      if (this.isOpen()) this.ws.send(JSON.stringify([joinRef, ref, topic, event, payload]));
      return ref;
    }
    receive(data) {
      let frame;
      try {
        frame = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!Array.isArray(frame) || frame.length !== 5) return;
      const [joinRef, ref, topic, event, payload] = frame;
      if (event === "phx_reply" && ref !== null && this.replies.has(ref)) {
        const cb = this.replies.get(ref);
        this.replies.delete(ref);
        cb(payload && typeof payload === "object" ? payload : {});
        return;
      }
      this.onMessage(joinRef, topic, event, payload && typeof payload === "object" ? payload : {});
    }
  }

  // ---- The page's state: one open topic at a time.
  const state = {
    catalog: null,     // [{name, params, key, interval_ms}] or null when the gateway gave none
    query: null,       // the catalog entry of the open topic (null if unknown)
    topic: null,       // "live:..." while a topic is open
    joinRef: null,     // the join_ref of the current join; frames of older joins are ignored
    epoch: null,
    seq: null,
    owner: null,         // the node that polls the topic, as the last update named it
    ownerSession: null,  // its session, a decimal string (64 bits)
    columns: [],
    keyCols: [],
    rows: new Map(),   // key string -> {row, tr}
    series: new Map(), // numeric column -> [sum, ...]
    presence: {},      // key -> [meta, ...]
    rejoinAttempt: 0,
    me: null,          // our presence key
    since: new Date().toISOString(),
  };

  const params = new URLSearchParams(location.search);
  const wsUrl = (() => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = proto + "//" + location.host + "/socket/websocket?vsn=2.0.0";
    if (params.get("token")) url += "&token=" + encodeURIComponent(params.get("token"));
    return url;
  })();
  const socket = new Socket(wsUrl);

  socket.onState = (kind, text) => {
    const badge = $("connection");
    badge.textContent = text;
    badge.dataset.state = kind;
  };
  socket.onOpen = () => {
    if (state.topic) join(true);
  };
  socket.onMessage = (joinRef, topic, event, payload) => {
    if (topic !== state.topic) return;
    if (joinRef !== null && joinRef !== state.joinRef) return;  // a push for an older join
    switch (event) {
      case "diff": return onDiff(payload);
      case "snapshot": return onSnapshot(payload);
      case "error": return onStreamError(payload);
      case "presence_state": return onPresenceState(payload);
      case "presence_diff": return onPresenceDiff(payload);
      case "phx_error":
      case "phx_close":
        state.joinRef = null;
        return scheduleRejoin(event === "phx_close" ? "the server closed the channel"
                                                    : "the channel failed");
    }
  };

  // ---- Joining, leaving, rejoining.
  function shortAgent() {
    const m = navigator.userAgent.match(/(Firefox|Edg|OPR|Chrome|Chromium|Safari)\/(\d+)/);
    return m ? m[1] + " " + m[2] : "browser";
  }

  function join(resume) {
    if (!socket.isOpen()) return;  // onOpen joins
    const payload = {presence: {key: state.me, meta: {since: state.since, ua: shortAgent()}}};
    if (resume && state.epoch !== null) {
      // The last update applied, as its pushes named it (PROTOCOL.md, "Sessions and resume").
      payload.resume = {epoch: state.epoch, seq: state.seq};
      if (state.owner !== null) payload.resume.owner = state.owner;
      if (state.ownerSession !== null) payload.resume.owner_session = state.ownerSession;
    }
    const joinRef = socket.nextRef();
    state.joinRef = joinRef;
    setLiveState("joining");
    const topic = state.topic;
    socket.replies.set(joinRef, (reply) => {
      if (state.topic !== topic || state.joinRef !== joinRef) return;
      const response = reply.response && typeof reply.response === "object" ? reply.response : {};
      if (reply.status !== "ok") {
        state.joinRef = null;
        setLiveState("refused");
        showError("Join refused: " + (response.reason || "no reason given"));
        return;  // a refusal (unknown query, bad parameter, token) does not heal by retrying
      }
      state.rejoinAttempt = 0;
      showError(null);
      // The reply is the first update of the stream: a snapshot (a first join, or a resume the
      // server refused), an error, or nothing new when the stream resumed where we were.
      if (Array.isArray(response.rows)) {
        onSnapshot(response);
      } else if (response.error !== undefined) {
        onStreamError(response);
      } else if (Array.isArray(response.changes)) {
        onDiff(response);
      } else {
        setStream(response);
      }
      setLiveState("live");
    });
    socket.ws.send(JSON.stringify([joinRef, joinRef, topic, "phx_join", payload]));
  }

  function scheduleRejoin(why) {
    setLiveState("rejoining");
    const base = BACKOFF_MS[Math.min(state.rejoinAttempt, BACKOFF_MS.length - 1)];
    state.rejoinAttempt++;
    showError(why + "; rejoining in " + (base / 1000).toFixed(1) + " s");
    clearTimeout(state.rejoinTimer);
    state.rejoinTimer = setTimeout(() => join(true), base);
  }

  function leave() {
    if (state.topic && state.joinRef !== null) {
      socket.push(state.joinRef, state.topic, "phx_leave", {});
    }
    clearTimeout(state.rejoinTimer);
    state.topic = null;
    state.joinRef = null;
    $("live-panel").hidden = true;
    $("viewers-panel").hidden = true;
    $("close").disabled = true;
  }

  function open(query, values) {
    leave();
    state.query = (state.catalog || []).find((q) => q.name === query) || null;
    state.topic = makeTopic(query, values);
    state.keyCols = state.query && Array.isArray(state.query.key) ? state.query.key.map(String) : [];
    state.epoch = state.seq = state.owner = state.ownerSession = null;
    state.columns = [];
    state.rows = new Map();
    state.series = new Map();
    state.presence = {};
    state.rejoinAttempt = 0;
    $("topic").textContent = state.topic.slice("live:".length);
    $("live").tBodies[0].replaceChildren();
    $("live").tHead.rows[0].replaceChildren();
    $("charts").replaceChildren();
    for (const id of ["owner", "epoch", "seq", "row-count", "last-change"]) $(id).textContent = "—";
    showError(null);
    renderViewers();
    $("live-panel").hidden = false;
    $("viewers-panel").hidden = false;
    $("close").disabled = false;
    join(false);
  }

  // ---- The stream: snapshots replace the rows, diffs change them by key.
  function setStream(p) {
    if (p.epoch !== undefined) state.epoch = p.epoch;
    if (p.seq !== undefined) state.seq = p.seq;
    if (typeof p.owner === "string") state.owner = p.owner;
    if (typeof p.owner_session === "string") state.ownerSession = p.owner_session;
    $("owner").textContent = state.owner === null ? "—" : state.owner;
    $("epoch").textContent = state.epoch === null ? "—" : String(state.epoch);
    $("seq").textContent = state.seq === null ? "—" : String(state.seq);
  }

  function setLiveState(s) { $("live-panel").dataset.state = s; }

  function showError(text) {
    const e = $("stream-error");
    e.hidden = text === null;
    e.textContent = text === null ? "" : text;
  }

  function keyOf(row) {
    const cols = state.keyCols.length ? state.keyCols : state.columns.slice(0, 1);
    const vals = cols.map((c) => row[c]);
    return vals.length === 1 ? String(vals[0]) : JSON.stringify(vals);
  }

  function format(v) {
    if (v === null || v === undefined) return "NULL";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function fillCell(td, v) {
    td.textContent = format(v);
    td.classList.toggle("null", v === null || v === undefined);
    td.classList.toggle("num", typeof v === "number");
  }

  function flash(node) {
    node.classList.remove("changed");
    void node.offsetWidth;  // restart the animation when the same cell changes again
    node.classList.add("changed");
    clearTimeout(node._flashTimer);
    node._flashTimer = setTimeout(() => node.classList.remove("changed"), FLASH_MS);
  }

  function renderHead() {
    const tr = $("live").tHead.rows[0];
    tr.replaceChildren();
    for (const c of state.columns) {
      const th = el("th", c);
      th.scope = "col";
      if (state.keyCols.includes(c)) th.title = "key column";
      tr.append(th);
    }
  }

  function makeRow(key, row) {
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    for (const c of state.columns) {
      const td = document.createElement("td");
      td.dataset.col = c;
      fillCell(td, row[c]);
      tr.append(td);
    }
    return tr;
  }

  // Updates a row in place and marks the cells whose value changed.
  function updateRow(entry, row) {
    const cells = entry.tr.cells;
    state.columns.forEach((c, i) => {
      if (format(entry.row[c]) !== format(row[c])) {
        fillCell(cells[i], row[c]);
        flash(cells[i]);
      }
    });
    entry.row = row;
  }

  function onSnapshot(p) {
    const first = state.epoch === null;
    setStream(p);
    showError(null);  // the stream works again (after an error push, or a rejoin)
    const columns = Array.isArray(p.columns)
      ? p.columns.map((c) => (c && typeof c === "object" ? String(c.name) : String(c)))
      : Object.keys((p.rows && p.rows[0]) || {});
    const rows = Array.isArray(p.rows) ? p.rows.filter((r) => r && typeof r === "object") : [];
    const sameColumns = columns.join("\u0000") === state.columns.join("\u0000");
    state.columns = columns;
    if (!sameColumns) {
      renderHead();
      state.rows = new Map();
      $("live").tBodies[0].replaceChildren();
    }
    // Keep the rows we already show (so a new snapshot marks only what changed), in its order.
    const next = new Map();
    const body = $("live").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      const key = keyOf(row);
      let entry = state.rows.get(key);
      if (entry && !next.has(key)) {
        updateRow(entry, row);
      } else {
        entry = {row, tr: makeRow(key, row)};
        if (!first && sameColumns) flash(entry.tr);
      }
      next.set(key, entry);
      frag.append(entry.tr);
    }
    body.replaceChildren(frag);
    state.rows = next;
    changed(!first);
  }

  function onDiff(p) {
    if (state.epoch === null) return;  // before the join's snapshot: the reply will cover it
    if (p.epoch === state.epoch && typeof p.seq === "number" && p.seq <= state.seq) return;  // seen
    if (p.epoch !== state.epoch || p.seq !== state.seq + 1) {
      // A gap (or a new owner's stream): what we show can no longer be patched. A fresh join
      // gets a snapshot; the server decides whether our position can be resumed.
      socket.push(state.joinRef, state.topic, "phx_leave", {});
      state.joinRef = null;
      return join(true);
    }
    setStream(p);
    showError(null);
    const body = $("live").tBodies[0];
    for (const change of Array.isArray(p.changes) ? p.changes : []) {
      const row = change && change.row;
      if (!row || typeof row !== "object") continue;
      const key = keyOf(row);
      const entry = state.rows.get(key);
      if (change.op === "delete") {
        if (entry) {
          entry.tr.remove();
          state.rows.delete(key);
        }
      } else if (entry) {  // update (or an insert of a key we hold: the same thing)
        updateRow(entry, row);
      } else {
        const tr = makeRow(key, row);
        state.rows.set(key, {row, tr});
        body.append(tr);
        flash(tr);
      }
    }
    changed(true);
  }

  function onStreamError(p) {
    setStream(p);
    showError("The query failed: " + format(p.error));
  }

  function changed(isChange) {
    $("row-count").textContent = String(state.rows.size);
    if (isChange) $("last-change").textContent = new Date().toLocaleTimeString();
    sample();
    renderCharts();
  }

  // ---- Charts: the sum of each numeric (non-key) column over the last CHART_POINTS changes.
  function numericColumns() {
    return state.columns.filter((c) => {
      if (state.keyCols.includes(c)) return false;
      let seen = false;
      for (const {row} of state.rows.values()) {
        const v = row[c];
        if (v === null || v === undefined) continue;
        if (typeof v !== "number") return false;
        seen = true;
      }
      return seen;
    });
  }

  function sample() {
    for (const c of numericColumns()) {
      let sum = 0;
      for (const {row} of state.rows.values()) if (typeof row[c] === "number") sum += row[c];
      const s = state.series.get(c) || [];
      s.push(sum);
      if (s.length > CHART_POINTS) s.shift();
      state.series.set(c, s);
    }
  }

  function round(v) { return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, ""); }

  function svg(tag, attrs) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  }

  function renderCharts() {
    const box = $("charts");
    box.replaceChildren();
    const W = 240, H = 56, PAD = 4;
    for (const c of numericColumns()) {
      const s = state.series.get(c) || [];
      if (!s.length) continue;
      const min = Math.min(...s), max = Math.max(...s);
      const span = max - min || 1;
      const x = (i) => PAD + (s.length === 1 ? (W - 2 * PAD) : (i * (W - 2 * PAD)) / (s.length - 1));
      const y = (v) => H - PAD - ((v - min) * (H - 2 * PAD)) / span;
      const fig = el("figure", undefined, "chart");
      const label = c + ": sum " + round(s[s.length - 1]) + " (range " + round(min) + " to " +
                    round(max) + " over the last " + s.length + " updates)";
      const pic = svg("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img"});
      pic.setAttribute("aria-label", label);
      pic.append(svg("rect", {x: 0, y: 0, width: W, height: H, class: "bg"}));
      if (s.length === 1) {
        pic.append(svg("circle", {cx: x(0), cy: H / 2, r: 2.5, class: "dot"}));
      } else {
        const pts = s.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
        pic.append(svg("polyline", {points: pts, class: "line"}));
        pic.append(svg("circle", {cx: x(s.length - 1), cy: y(s[s.length - 1]), r: 2.5, class: "dot"}));
      }
      const cap = el("figcaption");
      cap.append(el("strong", c), document.createTextNode(" " + round(s[s.length - 1])),
                 el("span", " min " + round(min) + " · max " + round(max), "range"));
      fig.append(pic, cap);
      box.append(fig);
    }
    if (!box.childElementCount) box.append(el("p", "No numeric columns.", "note"));
  }

  // ---- Presence: who watches this topic, on any node (Phoenix's {key: {metas: [...]}} shape).
  function metasOf(entry) {
    return entry && Array.isArray(entry.metas) ? entry.metas.filter((m) => m && typeof m === "object") : [];
  }

  function onPresenceState(p) {
    state.presence = {};
    for (const [key, entry] of Object.entries(p)) {
      const metas = metasOf(entry);
      if (metas.length) state.presence[key] = metas;
    }
    renderViewers();
  }

  function onPresenceDiff(p) {
    for (const [key, entry] of Object.entries(p.leaves && typeof p.leaves === "object" ? p.leaves : {})) {
      const gone = new Set(metasOf(entry).map((m) => m.phx_ref));
      const left = (state.presence[key] || []).filter((m) => !gone.has(m.phx_ref));
      if (left.length) state.presence[key] = left; else delete state.presence[key];
    }
    for (const [key, entry] of Object.entries(p.joins && typeof p.joins === "object" ? p.joins : {})) {
      const have = state.presence[key] || [];
      const refs = new Set(have.map((m) => m.phx_ref));
      state.presence[key] = have.concat(metasOf(entry).filter((m) => !refs.has(m.phx_ref)));
    }
    renderViewers();
  }

  function since(meta) {
    const t = Date.parse(meta.since);
    if (Number.isNaN(t)) return "";
    const mins = Math.max(0, Math.round((Date.now() - t) / 60000));
    return mins < 1 ? "just now" : mins < 60 ? mins + " min" : Math.round(mins / 60) + " h";
  }

  function renderViewers() {
    const list = $("viewers");
    list.replaceChildren();
    const keys = Object.keys(state.presence).sort();
    for (const key of keys) {
      const metas = state.presence[key];
      const li = el("li");
      li.dataset.key = key;
      li.append(el("span", key, "who"));
      if (key === state.me) li.append(el("span", " (you)", "you"));
      const details = [];
      if (metas.length > 1) details.push(metas.length + " connections");
      const first = metas[0];
      if (typeof first.ua === "string") details.push(first.ua.slice(0, 40));
      const ago = since(first);
      if (ago) details.push("since " + ago);
      if (details.length) li.append(el("span", " — " + details.join(", "), "meta"));
      list.append(li);
    }
    if (!keys.length) list.append(el("li", "nobody yet", "note"));
  }

  // ---- The catalog and the form.
  function renderParams(query, values) {
    const box = $("params");
    box.replaceChildren();
    // A parameter bound to a token's claim is the server's to fill (core/access.h): not asked.
    const bound = new Set(query && Array.isArray(query.bound) ? query.bound : []);
    for (const name of query && Array.isArray(query.params) ? query.params : []) {
      if (bound.has(name)) continue;
      const div = el("div", undefined, "field");
      const id = "param-" + String(name).replace(/[^A-Za-z0-9_-]/g, "_");
      const label = el("label", String(name));
      label.htmlFor = id;
      const input = el("input");
      input.id = id;
      input.dataset.param = name;
      input.value = values[name] !== undefined ? values[name] : "";
      div.append(label, input);
      box.append(div);
    }
  }

  function renderCatalog() {
    const select = $("query");
    const list = $("catalog");
    select.replaceChildren();
    list.replaceChildren();
    for (const q of state.catalog) {
      const opt = el("option", q.name);
      opt.value = q.name;
      select.append(opt);
      const li = el("li");
      li.append(el("code", q.name));
      const bits = [];
      if (q.params && q.params.length) bits.push("parameters: " + q.params.join(", "));
      if (q.key && q.key.length) bits.push("key: " + q.key.join(", "));
      if (typeof q.interval_ms === "number") bits.push("every " + q.interval_ms + " ms");
      if (q.token_required) bits.push("needs a token (?token= in the address)");
      li.append(document.createTextNode(bits.length ? " — " + bits.join("; ") : ""));
      list.append(li);
    }
    $("catalog-note").textContent = state.catalog.length + " queries in this node's catalog.";
  }

  async function loadCatalog() {
    try {
      const res = await fetch("/api/queries", {headers: {Accept: "application/json"}});
      if (!res.ok) throw new Error("HTTP " + res.status);
      const data = await res.json();
      if (!Array.isArray(data)) throw new Error("not a list");
      state.catalog = data.filter((q) => q && typeof q.name === "string");
      renderCatalog();
    } catch (e) {
      state.catalog = null;
      $("catalog-note").textContent = "The catalog is unavailable (" + e.message + ").";
    }
  }

  function selectedQuery() {
    return (state.catalog || []).find((q) => q.name === $("query").value) || null;
  }

  function randomViewer() {
    const n = new Uint16Array(1);
    crypto.getRandomValues(n);
    return "viewer-" + n[0].toString(16).padStart(4, "0");
  }

  // The address says what is open, so a link (or a test) opens the same live table:
  //   /?q=QUERY&p.NAME=VALUE&viewer=NAME[&token=JWT]
  function urlValues() {
    const values = {};
    for (const [k, v] of params) if (k.startsWith("p.")) values[k.slice(2)] = v;
    return values;
  }

  function remember(query, values) {
    const u = new URLSearchParams();
    u.set("q", query);
    for (const [k, v] of Object.entries(values)) u.set("p." + k, v);
    u.set("viewer", state.me);
    if (params.get("token")) u.set("token", params.get("token"));
    history.replaceState(null, "", "?" + u.toString());
  }

  async function main() {
    state.me = (params.get("viewer") || "").slice(0, 64) || randomViewer();
    $("viewer").value = state.me;
    $("query").addEventListener("change", () => renderParams(selectedQuery(), {}));
    $("open-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const name = $("query").value;
      if (!name) return;
      const values = {};
      for (const input of $("params").querySelectorAll("input[data-param]")) {
        values[input.dataset.param] = input.value;
      }
      state.me = $("viewer").value.trim().slice(0, 64) || randomViewer();
      $("viewer").value = state.me;
      remember(name, values);
      open(name, values);
    });
    $("close").addEventListener("click", leave);
    socket.connect();
    await loadCatalog();
    const q = params.get("q");
    if (q && state.catalog && !state.catalog.some((c) => c.name === q)) {
      $("catalog-note").textContent += " Unknown query in the address: " + q;
    }
    if (!state.catalog) {
      // Without a catalog, the address alone names the query and its parameters.
      if (q) {
        const opt = el("option", q);
        opt.value = q;
        $("query").append(opt);
        renderParams({params: Object.keys(urlValues())}, urlValues());
        open(q, urlValues());
      }
      return;
    }
    if (q && state.catalog.some((c) => c.name === q)) {
      $("query").value = q;
      renderParams(selectedQuery(), urlValues());
      open(q, urlValues());
    } else {
      renderParams(selectedQuery(), {});
    }
  }

  main();
})();
