// The phoenix.js side of tests/e2e/phoenix_presence.sh: two viewers of one live query on two
// nodes of a cluster, each joined with `presence`; phoenix.js's own Presence must list both on
// each side, and the second one's leave must show on the first node. Prints "ok STEP" or fails.
// Environment: WS1, WS2 (ws://127.0.0.1:PORT of each node).
"use strict";
const { Socket, Presence } = require("phoenix");
const WebSocket = require("ws");

function within(ms, what, arm) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out after " + ms + " ms: " + what)), ms);
    arm((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
function viewer(url, key, meta) {
  const socket = new Socket(url + "/socket", { transport: WebSocket });
  socket.connect();
  const channel = socket.channel("live:totals", { presence: { key, meta } });
  const presence = new Presence(channel);
  const keys = () => presence.list((k, { metas }) => k + ":" + metas.map((m) => m.color).join("|")).sort();
  let waiters = [];
  presence.onSync(() => (waiters = waiters.filter((w) => !w(keys()))));
  // Resolves once the list is `want` (an array of "key:color").
  const sees = (want, ms) =>
    within(ms, key + " to see " + JSON.stringify(want), (done) => {
      const w = (k) => JSON.stringify(k) === JSON.stringify(want) && (done(k), true);
      if (!w(keys())) waiters.push(w);
    });
  return { socket, channel, sees, keys };
}
function joined(v) {
  return within(5000, "join of " + v.channel.topic, (done) =>
    v.channel.join().receive("ok", done).receive("error", (e) => done({ error: e })));
}

async function main() {
  const ann = viewer(process.env.WS1, "ann", { color: "red" });
  const r1 = await joined(ann);
  if (r1.error || !r1.rows) throw new Error("ann's join: " + JSON.stringify(r1));
  await ann.sees(["ann:red"], 5000);
  console.log("ok ann on node 1 sees herself");
  const bob = viewer(process.env.WS2, "bob", { color: "blue" });
  const r2 = await joined(bob);
  if (r2.error || !r2.rows) throw new Error("bob's join: " + JSON.stringify(r2));
  await bob.sees(["ann:red", "bob:blue"], 10000);
  console.log("ok bob on node 2 sees ann of node 1 in his presence_state");
  await ann.sees(["ann:red", "bob:blue"], 10000);
  console.log("ok ann sees bob arrive (a presence_diff from the other node)");
  bob.channel.leave();
  await ann.sees(["ann:red"], 10000);
  console.log("ok ann sees bob leave");
  bob.socket.disconnect();
  ann.socket.disconnect();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error("FAIL: " + e.message);
    process.exit(1);
  },
);
