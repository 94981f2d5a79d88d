// The phoenix.js side of tests/e2e/phoenix.sh: the real `phoenix` npm client (with `ws` as its
// WebSocket under Node) against livepolld's gateway, plus raw `ws` sockets for what phoenix.js
// never sends. Each step prints "ok STEP" or throws (exit 1 with the reason).
// Environment: WS (ws://127.0.0.1:PORT), HTTP (http://127.0.0.1:PORT), DB (the SQLite file),
// TOKEN_ALICE (a good token, sub=alice), RESTART (a command that restarts the daemon on the same
// port), IDLE_MS (the daemon's ws_idle_timeout).
"use strict";
const { Socket } = require("phoenix");
const WebSocket = require("ws");
const { execFileSync } = require("child_process");

const WS = process.env.WS;
const DB = process.env.DB;
const IDLE_MS = Number(process.env.IDLE_MS);

function sql(statement) {
  execFileSync("sqlite3", ["-cmd", ".timeout 5000", DB, statement]);
}
function ok(step) {
  console.log("ok " + step);
}
function check(cond, what) {
  if (!cond) throw new Error(what);
}
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
// Resolves with the first value `arm(resolve)` hands over, or fails after `ms`.
function within(ms, what, arm) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out after " + ms + " ms: " + what)), ms);
    arm((v) => {
      clearTimeout(t);
      resolve(v);
    }, reject);
  });
}

function connect(params = {}, opts = {}) {
  const socket = new Socket(WS + "/socket", { transport: WebSocket, params, ...opts });
  socket.connect();
  return socket;
}
// Joins `topic`; resolves {status, response} of the reply (ok or error).
function join(channel, ms = 5000) {
  return within(ms, "the reply to joining " + channel.topic, (done) => {
    channel
      .join()
      .receive("ok", (response) => done({ status: "ok", response }))
      .receive("error", (response) => done({ status: "error", response }));
  });
}
function nextPush(channel, event, ms, pred = () => true) {
  return within(ms, event + " on " + channel.topic, (done) => {
    const ref = channel.on(event, (payload) => {
      if (!pred(payload)) return;
      channel.off(event, ref);
      done(payload);
    });
  });
}
function rawSocket(path) {
  return new WebSocket(WS.replace(/\/$/, "") + path);
}

async function main() {
  // ---- join, snapshot reply, a database change pushed as a diff ----
  const a = connect();
  const totals = a.channel("live:totals", {});
  const r1 = await join(totals);
  check(r1.status === "ok", "join live:totals: " + JSON.stringify(r1));
  const snap = r1.response;
  check(snap.kind === "snapshot", "the join reply is no snapshot: " + JSON.stringify(snap));
  check(JSON.stringify(snap.columns) === '["region","revenue"]', "columns: " + snap.columns);
  const eu = snap.rows.find((r) => r.region === "eu");
  check(eu && eu.revenue === 30, "rows as objects keyed by column: " + JSON.stringify(snap.rows));
  check(snap.owner && snap.epoch >= 1 && typeof snap.owner_session === "string",
        "owner, epoch, owner_session: " + JSON.stringify(snap));
  ok("join live:totals: snapshot reply " + JSON.stringify(snap.rows));

  let diff = nextPush(totals, "diff", 5000);
  sql("UPDATE orders SET total = total + 5 WHERE id = 1");
  diff = await diff;
  check(diff.epoch === snap.epoch && diff.seq > snap.seq, "diff position: " + JSON.stringify(diff));
  check(diff.changes.length === 1 && diff.changes[0].op === "update" &&
        diff.changes[0].row.region === "eu" && diff.changes[0].row.revenue === 35,
        "the diff: " + JSON.stringify(diff));
  ok("database change pushed as a diff " + JSON.stringify(diff.changes));

  // ---- refusals, and the socket still serves ----
  const refusals = [
    ["live:nope", {}, /unknown query/],
    ["live:region_orders", {}, /region/],
    ["live:region_orders?region=eu&color=red", {}, /color/],
    ["live:mine", { token: "not.a.token" }, /token/],
    ["live:mine", {}, /token required/],
    ["room:lobby", {}, /live:QUERY/],
  ];
  for (const [topic, params, reason] of refusals) {
    const ch = a.channel(topic, params);
    const r = await join(ch);
    check(r.status === "error" && reason.test(r.response.reason),
          topic + " " + JSON.stringify(params) + ": " + JSON.stringify(r));
    ch.leave();
    ok("refused " + topic + ": " + r.response.reason);
  }
  const byTopic = a.channel("live:region_orders?region=eu", {});
  const r2 = await join(byTopic);
  check(r2.status === "ok" && r2.response.rows.length === 2 &&
        r2.response.rows.every((r) => r.region === "eu"),
        "live:region_orders?region=eu: " + JSON.stringify(r2));
  const byParams = a.channel("live:region_orders", { params: { region: "us" } });
  const r3 = await join(byParams);
  check(r3.status === "ok" && r3.response.rows.length === 1 && r3.response.rows[0].id === 2,
        "live:region_orders with params: " + JSON.stringify(r3));
  ok("after the refusals the socket joins by topic and by params");

  // ---- a token at connect ----
  const b = connect({ token: process.env.TOKEN_ALICE });
  const mine = b.channel("live:mine", {});
  const r4 = await join(mine);
  check(r4.status === "ok" && r4.response.rows.length === 2 &&
        r4.response.rows.every((r) => r.customer === "alice"),
        "live:mine with alice's token: " + JSON.stringify(r4));
  ok("token at connect: alice sees her " + r4.response.rows.length + " orders");
  b.disconnect();

  // ---- garbage on another socket; the first is unaffected ----
  const junk = rawSocket("/socket/websocket?vsn=2.0.0");
  await within(3000, "the raw socket opens", (done, fail) => {
    junk.on("open", done);
    junk.on("error", fail);
  });
  const junkReplies = [];
  junk.on("message", (m) => junkReplies.push(String(m)));
  junk.send("hello");
  junk.send("[1,2,3]");
  junk.send('{"topic": "x"}');
  junk.send(Buffer.from([1, 2, 3]), { binary: true });
  junk.send("[" + "[".repeat(100) + "]".repeat(100) + "]");
  junk.send('["1","2","live:totals","shout",{}]');
  junk.send('[null,"3","phoenix","heartbeat",{}]');
  await sleep(500);
  check(junkReplies.some((m) => m.includes("unknown event 'shout'")),
        "no error reply to an unknown event: " + JSON.stringify(junkReplies));
  check(junkReplies.some((m) => m === '[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]'),
        "no heartbeat reply after the garbage: " + JSON.stringify(junkReplies));
  diff = nextPush(totals, "diff", 5000);
  sql("UPDATE orders SET total = total + 1 WHERE id = 2");
  diff = await diff;
  check(diff.changes[0].row.region === "us", "after the garbage: " + JSON.stringify(diff));
  ok("garbage answered or ignored; the other socket still gets its diffs");
  junk.close();

  // ---- a wrong vsn: HTTP 403 before the upgrade ----
  for (const path of ["/socket/websocket?vsn=1.0.0", "/socket/websocket"]) {
    const bad = rawSocket(path);
    const status = await within(3000, "the refusal of " + path, (done) => {
      bad.on("unexpected-response", (req, res) => done(res.statusCode));
      bad.on("open", () => done("opened"));
      bad.on("error", () => {});
    });
    check(status === 403, path + ": " + status);
    ok(path + ": HTTP 403");
  }

  // ---- idle: a silent socket is closed, a heartbeating phoenix.js socket is not ----
  const silent = rawSocket("/socket/websocket?vsn=2.0.0");
  const opened = Date.now();
  await within(3000, "the silent socket opens", (done) => silent.on("open", done));
  const beating = connect({}, { heartbeatIntervalMs: Math.max(100, IDLE_MS / 4) });
  const beatingChannel = beating.channel("live:totals", {});
  check((await join(beatingChannel)).status === "ok", "join on the heartbeating socket");
  let beatingClosed = false;
  beating.onClose(() => (beatingClosed = true));
  await within(IDLE_MS * 3 + 2000, "the silent socket to be closed", (done) =>
    silent.on("close", done));
  const lived = Date.now() - opened;
  check(lived >= IDLE_MS * 0.8, "closed after " + lived + " ms, before the idle timeout");
  await sleep(IDLE_MS);
  check(!beatingClosed && beating.isConnected(), "the heartbeating socket was closed");
  diff = nextPush(beatingChannel, "diff", 5000);
  sql("UPDATE orders SET total = total + 1 WHERE id = 1");
  await diff;
  ok("silent socket closed after " + lived + " ms; the heartbeating one lives on and gets diffs");
  beating.disconnect();

  // ---- the daemon restarted: phoenix.js reconnects, rejoins with resume, gets data again ----
  let last = { epoch: snap.epoch, seq: snap.seq, owner: snap.owner, owner_session: snap.owner_session };
  const c = connect({}, { reconnectAfterMs: () => 200, rejoinAfterMs: () => 200 });
  const resumed = [];
  const follow = c.channel("live:totals", () => ({ resume: last }));
  const track = (p) => (last = { epoch: p.epoch, seq: p.seq, owner: p.owner, owner_session: p.owner_session });
  follow.on("diff", track);
  follow.on("snapshot", track);
  const r5 = await join(follow);
  check(r5.status === "ok" && "resumed" in r5.response, "join with resume: " + JSON.stringify(r5));
  if (r5.response.kind) track(r5.response);
  ok("joined with resume: resumed=" + r5.response.resumed);
  // Push.receive calls a hook at once with a reply already received: that one is not the rejoin.
  const rejoined = within(20000, "phoenix.js to rejoin after the restart", (done) => {
    follow.joinPush.receive("ok", (resp) => {
      if (resp !== r5.response) done(resp);
    });
  });
  execFileSync("bash", ["-c", process.env.RESTART], { stdio: "inherit" });
  const again = await rejoined;
  check("resumed" in again, "the rejoin's reply says nothing of resume: " + JSON.stringify(again));
  if (again.resumed === false)
    check(again.kind === "snapshot" && again.rows.length === 2, "new snapshot: " + JSON.stringify(again));
  diff = nextPush(follow, "diff", 5000);
  sql("UPDATE orders SET total = total + 1 WHERE id = 2");
  await diff;
  ok("after the restart phoenix.js rejoined (resumed=" + again.resumed + ") and gets diffs");
  c.disconnect();
  a.disconnect();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error("FAIL: " + e.message);
    process.exit(1);
  },
);
