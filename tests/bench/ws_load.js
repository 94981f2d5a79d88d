// The load client of ws_run.sh: raw WebSockets (the `ws` package, as in tests/e2e/phoenix) against
// livepolld's gateway. Two phases, each printing one JSON line:
//   idle N: opens N sockets (at most 200 connecting at once), each sending nothing after its
//     handshake, then tells its parent it holds them all ("idle N") and waits for a line on
//     stdin before closing them (so the parent measures the daemon's RSS meanwhile);
//   join M TOPIC: M joins of TOPIC one after another on one socket (each after a leave of the
//     last), timing each phx_join until its phx_reply; prints p50/p99/max in ms.
// Environment: WS (ws://127.0.0.1:PORT), NODE_PATH (the folder holding ws).
"use strict";
const WebSocket = require("ws");
const readline = require("readline");

const url = process.env.WS + "/socket/websocket?vsn=2.0.0";

function open() {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(url, { perMessageDeflate: false });
    s.once("open", () => resolve(s));
    s.once("error", reject);
  });
}

async function idle(n) {
  const sockets = [];
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      sockets.push(await open());
    }
  }
  const t0 = Date.now();
  await Promise.all(Array.from({ length: Math.min(200, n) }, worker));
  console.log(JSON.stringify({ phase: "idle", sockets: sockets.length, open_ms: Date.now() - t0 }));
  await new Promise((r) => readline.createInterface({ input: process.stdin }).once("line", r));
  for (const s of sockets) s.terminate();
}

async function join(m, topic) {
  const s = await open();
  const times = [];
  let ref = 0;
  for (let i = 0; i < m; i++) {
    const joinRef = String(++ref);
    const t0 = process.hrtime.bigint();
    const reply = await new Promise((resolve) => {
      const on = (data) => {
        const f = JSON.parse(String(data));
        if (f[1] === joinRef && f[3] === "phx_reply") {
          s.off("message", on);
          resolve(f);
        }
      };
      s.on("message", on);
      s.send(JSON.stringify([joinRef, joinRef, topic, "phx_join", {}]));
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (reply[4].status !== "ok") throw new Error("join refused: " + JSON.stringify(reply));
    s.send(JSON.stringify([joinRef, String(++ref), topic, "phx_leave", {}]));
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(JSON.stringify({ phase: "join", joins: m, p50_ms: +q(0.5).toFixed(3),
                               p99_ms: +q(0.99).toFixed(3), max_ms: +times[times.length - 1].toFixed(3) }));
  s.terminate();
}

const [phase, count, topic] = process.argv.slice(2);
(phase === "idle" ? idle(Number(count)) : join(Number(count), topic)).then(
  () => process.exit(0),
  (e) => {
    console.error("ws_load: " + e.message);
    process.exit(1);
  },
);
