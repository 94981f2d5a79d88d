// Drives one tab of a headless Chromium over the DevTools protocol, step by step, for
// tests/e2e/webpage.sh. Node's own fetch and WebSocket speak to the browser's debugging port
// (node --experimental-websocket, Node >= 20.10); an older Node (Debian 12's 18) uses the `ws`
// package the phoenix.js tests pin, found through NODE_PATH (tests/e2e/phoenix/npm_lib.sh).
//
//   node [--experimental-websocket] cdp.mjs PORT STEP...
//   STEP: open=URL             navigate the tab and wait for the document to load
//         wait=SECONDS:JS      evaluate JS every 100 ms until it is truthy, or fail
//         run=SHELL            run a shell command (e.g. a database change); fail if it fails
//         print=JS             print the value of JS on stdout
//         screenshot=PATH      write a PNG of the page
//         newtab=URL           open URL in another tab (another viewer), left alone by later steps
//         closetabs            close the tabs newtab opened
//
// Any exception thrown by the page fails the run: the page must not break on the way.
// Exit status: 0 when every step passed; 1 with the failed step on stderr.
import {execSync} from "node:child_process";
import {writeFileSync} from "node:fs";
import {createRequire} from "node:module";

// require, not import: an ES module import does not look in NODE_PATH.
const WebSocketClass = globalThis.WebSocket ?? createRequire(import.meta.url)("ws");
const [port, ...steps] = process.argv.slice(2);
const fail = (why) => {
  console.error("cdp: FAIL: " + why);
  process.exit(1);
};
if (!port || !steps.length) fail("usage: cdp.mjs PORT STEP...");

// The browser lists its tabs at /json/list; the first page is the one it opened (a later run
// finds it again, as long as the tabs of newtab are closed).
async function pageSocketUrl() {
  for (let i = 0; i < 100; i++) {
    try {
      const tabs = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      const page = tabs.find((t) => t.type === "page");
      if (page) return page.webSocketDebuggerUrl;
    } catch (e) {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`no page on the debugging port ${port} after 10 s`);
}

const ws = new WebSocketClass(await pageSocketUrl());
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = () => reject(new Error("cannot connect to the page"));
});
let nextId = 0;
const pending = new Map();
const exceptions = [];
const otherTabs = [];  // ids of the tabs newtab opened
ws.onmessage = (ev) => {
  const msg = JSON.parse(ev.data);
  if (msg.id !== undefined && pending.has(msg.id)) {
    const {resolve, method} = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) fail(`${method}: ${msg.error.message}`);
    resolve(msg.result);
  } else if (msg.method === "Runtime.exceptionThrown") {
    const d = msg.params.exceptionDetails;
    exceptions.push((d.exception && d.exception.description) || d.text);
  } else if (msg.method === "Runtime.consoleAPICalled") {
    const text = msg.params.args.map((a) => a.value ?? a.description ?? "").join(" ");
    console.error(`page console.${msg.params.type}: ${text}`);
  }
};
const call = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++nextId;
    pending.set(id, {resolve, method});
    ws.send(JSON.stringify({id, method, params}));
  });

async function evaluate(expression) {
  const r = await call("Runtime.evaluate", {expression, returnByValue: true});
  if (r.exceptionDetails) return {error: r.exceptionDetails.text};
  return {value: r.result.value};
}

function checkExceptions() {
  if (exceptions.length) fail("the page threw: " + exceptions.join("; "));
}

await call("Runtime.enable");
await call("Page.enable");
for (const step of steps) {
  const eq = step.indexOf("=");
  const [verb, arg] = eq < 0 ? [step, ""] : [step.slice(0, eq), step.slice(eq + 1)];
  if (verb === "open") {
    await call("Page.navigate", {url: arg});
    const deadline = Date.now() + 10000;
    while ((await evaluate("document.readyState")).value !== "complete") {
      if (Date.now() > deadline) fail(`${arg} did not load within 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } else if (verb === "wait") {
    const colon = arg.indexOf(":");
    const seconds = Number(arg.slice(0, colon));
    const expr = arg.slice(colon + 1);
    const deadline = Date.now() + seconds * 1000;
    let last;
    for (;;) {
      last = await evaluate(expr);
      checkExceptions();
      if (last.value) break;
      if (Date.now() > deadline) {
        fail(`timed out after ${seconds} s waiting for: ${expr} (last: ${JSON.stringify(last)})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } else if (verb === "run") {
    try {
      execSync(arg, {stdio: ["ignore", "inherit", "inherit"], shell: "/bin/bash"});
    } catch (e) {
      fail(`command failed: ${arg}`);
    }
  } else if (verb === "print") {
    const r = await evaluate(arg);
    if (r.error) fail(`print ${arg}: ${r.error}`);
    console.log(typeof r.value === "string" ? r.value : JSON.stringify(r.value));
  } else if (verb === "newtab") {
    const res = await fetch(`http://127.0.0.1:${port}/json/new?${encodeURIComponent(arg)}`, {
      method: "PUT",
    });
    if (!res.ok) fail(`newtab ${arg}: HTTP ${res.status}`);
    otherTabs.push((await res.json()).id);
  } else if (verb === "closetabs") {
    for (const id of otherTabs.splice(0)) await fetch(`http://127.0.0.1:${port}/json/close/${id}`);
  } else if (verb === "screenshot") {
    const shot = await call("Page.captureScreenshot", {format: "png", captureBeyondViewport: true});
    writeFileSync(arg, Buffer.from(shot.data, "base64"));
  } else {
    fail(`unknown step: ${step}`);
  }
  checkExceptions();
}
ws.close();
process.exit(0);
