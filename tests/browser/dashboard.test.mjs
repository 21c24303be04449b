// corral's dashboard (the admin listener's "/") in Debian's headless Chromium,
// driven by playwright-core, in two parts:
//
// 1. Against the real corral that dashboard_test.cpp started: one row per
//    running container of the pool (as the Docker Engine lists them), a
//    container killed through the Engine API, its row changing to the
//    replacement's new container id, no page or console errors, and the
//    screenshot for the docs.
// 2. Against a stand-in admin listener on 127.0.0.1 that serves the same page
//    (fetched from the real corral) with made-up documents: the whole
//    contract of docs/OBSERVABILITY.md (probes, actors, /events), then no
//    answer (the "not answering" banner, and polling goes on), then the
//    older /status without those parts (shown as absent, never an error).
//
//   node dashboard.test.mjs ADMIN_URL POOL DOCKER_SOCKET STANDIN_PORT SCREENSHOT.png
//
// ADMIN_URL is http://127.0.0.1:PORT. Exit status: 0 when every step
// passed, 1 when one failed (the reason is the last line; a screenshot of the
// failure goes next to SCREENSHOT), 2 for bad usage. Only 127.0.0.1 (and the
// Docker socket) is ever contacted: every other request is blocked and fails
// the run.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// The whole run; the C++ test that starts this script has a longer deadline.
const RUN_DEADLINE_MS = 150_000;
// One step (a state the page must reach).
const STEP_MS = 15_000;
// A replacement: corral sees the death at once, a new Acts container is ready
// in a second or two; generous for a loaded machine.
const REPLACE_MS = 40_000;
// Traffic shown on the chart before and after the kill, for the screenshot.
const CHART_MS = 12_000;

const [admin, pool, dockerSocket, standinPortText, screenshotPath] = process.argv.slice(2);
const standinPort = Number(standinPortText);
if (!admin || !/^http:\/\/127\.0\.0\.1:\d+$/.test(admin) || !pool || !dockerSocket
    || !(standinPort > 0 && standinPort < 65536) || !screenshotPath) {
  console.error("usage: node dashboard.test.mjs http://127.0.0.1:PORT POOL DOCKER_SOCKET STANDIN_PORT SCREENSHOT.png");
  process.exit(2);
}

const log = (text) => console.log(`dashboard.test: ${text}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// Polls `check` until it returns a truthy value; throws `what` after `ms`.
async function until(what, check, ms = STEP_MS) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}${last ? ` (${last.message})` : ""}`);
    await sleep(100);
  }
}

// -- the Docker Engine API on its unix socket ------------------------------------------------

function docker(method, path) {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: dockerSocket, method, path, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => { body += chunk; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path}: no answer in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

/// The pool's running containers: [{id, name}], as the engine lists them.
async function runningContainers() {
  const filters = encodeURIComponent(JSON.stringify({ label: [`corral.pool=${pool}`], status: ["running"] }));
  const r = await docker("GET", `/containers/json?filters=${filters}`);
  if (r.status !== 200) throw new Error(`docker ps answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body).map((c) => ({ id: c.Id, name: String((c.Names || [])[0] || "").replace(/^\//, "") }));
}

// -- the page ---------------------------------------------------------------------------------

/// The container rows as the page shows them: [{port, id, state, text}].
const rowsOf = (page) => page.$$eval("#containers tbody tr", (trs) => trs.map((tr) => ({
  port: Number(tr.dataset.port),
  id: tr.dataset.container,
  state: tr.dataset.state,
  shown: tr.cells[2].textContent,
  rate: tr.cells[5].textContent,
  restarts: tr.cells[4].textContent,
})));

/// Throws unless the rows are exactly the running containers, one each,
/// each on the port its name carries and showing its short id.
function sameAsDocker(rows, running) {
  if (rows.length !== running.length)
    throw new Error(`${rows.length} rows for ${running.length} running containers`);
  for (const c of running) {
    const mine = rows.filter((r) => r.id && c.id.startsWith(r.id.slice(0, 12)));
    if (mine.length !== 1) throw new Error(`${mine.length} rows show container ${c.name} (${c.id.slice(0, 12)})`);
    const row = mine[0];
    if (c.name !== `${pool}-${row.port}`) throw new Error(`the row of port ${row.port} shows ${c.name}`);
    if (row.shown !== c.id.slice(0, 12)) throw new Error(`the row of port ${row.port} reads "${row.shown}"`);
  }
  return true;
}

const renderErrors = (page) => page.$$eval(".render-error", (els) => els.map((e) => e.textContent));

// -- a stand-in admin listener with made-up documents ----------------------------------------

/// Serves `html` at "/" and documents by `mode`: "full" (the whole contract),
/// "legacy" (the /status before issue 9: no requests, probe, actors, events),
/// "down" (503 for everything but the page).
function standin(html) {
  const t0 = Date.now();
  const ports = Array.from({ length: 10 }, (_, i) => 8000 + i);
  const server = {
    mode: "full",
    eventsRequests: 0,
    http: null,
  };
  // 200 events, oldest first; the newest is a scale event so the test can
  // tell the order, and only /events carries more than status.events' 20.
  const kinds = ["created", "started", "ready", "died", "replaced"];
  const events = Array.from({ length: 200 }, (_, i) => ({
    at_ms: t0 - (200 - i) * 1500,
    event: i === 199 ? "scale" : kinds[i % kinds.length],
    port: i === 199 ? 0 : ports[i % 10],
    container: i === 199 ? "" : (i * 7919).toString(16).padStart(12, "0"),
    detail: i === 199 ? "3 -> 10 (212 requests in the window)" : i % 5 === 3 ? "exit 137" : "",
  }));
  const handling = (p50) => ({ count: 1000, sum_seconds: p50 * 1000, p50_seconds: p50, p99_seconds: p50 * 8 });
  const actor = (role, port, extra) => Object.assign({
    role, alive: 1, spawned: 1, exited: 0, messages: { tick: 120, get_status: 15 },
    mailbox: 0, mailbox_max: 3, busy_seconds: 0, handling: handling(4e-6),
  }, port ? { port } : {}, extra || {});

  function fullStatus() {
    const now = Date.now();
    const secs = (now - t0) / 1000;
    const slots = ports.map((port, i) => ({
      port, name: `standin-${port}`,
      state: i === 7 ? "waiting" : i === 8 ? "starting" : "ready",
      container: i === 7 ? "" : `${(0xabc000 + i).toString(16)}0123456789abcdef0123456789abcdef0123456789abcdef012345678`,
      since_ms: t0 - i * 61_000, restarts: i === 7 ? 3 : 0, failure_streak: i === 7 ? 3 : 0,
      last_error: i === 7 ? "start failed: port 8007 is taken" : "",
      requests: i >= 7 ? 500 : Math.floor(1000 + secs * (i + 1) * 4),
      in_flight: i % 3,
      probe: i === 7 ? null : { result: i === 8 ? "connect_error" : "ok", latency_ms: 0.3 + i / 10, at_ms: now - 400 },
      actor: { alive: 1, messages: 50 + i, mailbox: 0, mailbox_max: 1, busy_seconds: 0, handling: handling(2e-4) },
    }));
    return {
      corral: { version: "0.1.0", pid: 4242, started_ms: t0 - 3_600_000, uptime_seconds: (now - t0) / 1000 + 3600 },
      pool: { name: "standin", image: "acts:latest", desired: 10, ready: 8, slots },
      balancer: { rotation: ports.slice(0, 7), backends: [], handed_out: 5000, no_backend: 2, failed: 1, window_requests: 17 },
      scaler: { windows: 4, last_window_requests: 212,
        last_decision: { from: 3, to: 10, direction: "up", reason: "rule", at_ms: t0 - 1500 } },
      proxy: { connections_open: 3, connections_accepted: 40, requests: Math.floor(5000 + secs * 120),
        responses: { "1xx": 0, "2xx": 4990, "3xx": 0, "4xx": 8, "5xx": 2 },
        bad_gateway: 1, no_backend: 2, gateway_timeout: 0, retries: 1, backend_connects: 6, backend_reuses: 4994,
        round_trip: { count: 5000, sum_seconds: 0.2, p50_seconds: 2.5e-5, p99_seconds: 1e-4 } },
      actors: [
        actor("supervisor"), actor("balancer", 0, { messages: { next: 5000, up: 10 }, mailbox_max: 7 }),
        actor("health_checker", 0, { busy_seconds: 0.02 }), actor("scaler"), actor("admin", 0, { alive: 2 }),
        ...ports.map((port) => actor("container", port, { handling: handling(0.012) })),
      ],
      events: events.slice(-20),
    };
  }

  function legacyStatus() {
    const secs = (Date.now() - t0) / 1000;
    const slots = ports.slice(0, 3).map((port, i) => ({
      port, name: `standin-${port}`, state: "ready",
      container: `${(0xdef000 + i).toString(16)}0123456789abcdef0123456789abcdef0123456789abcdef012345678`,
      restarts: 0, failure_streak: 0, since_ms: t0, last_error: "",
    }));
    return {
      pool: { name: "standin", image: "acts:latest", desired: 3, ready: 3, slots },
      balancer: { rotation: ports.slice(0, 3), handed_out: 100, no_backend: 0, failed: 0, window_requests: 3,
        backends: ports.slice(0, 3).map((port) => ({ port, in_flight: 0, served: Math.floor(secs * 5), draining: false })) },
      proxy: { connections_open: 1, requests: Math.floor(secs * 15), responses: { "1xx": 0, "2xx": 100, "3xx": 0, "4xx": 0, "5xx": 0 },
        bad_gateway: 0, no_backend: 0, gateway_timeout: 0, retries: 0 },
    };
  }

  server.http = createServer((req, res) => {
    const path = req.url.split("?")[0];
    const send = (status, type, body) => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    if (path === "/") return send(200, "text/html; charset=utf-8", html);
    if (server.mode === "down") return send(503, "text/plain", "corral is shutting down or busy\n");
    if (path === "/status")
      return send(200, "application/json", JSON.stringify(server.mode === "full" ? fullStatus() : legacyStatus()));
    if (path === "/events" && server.mode === "full") {
      ++server.eventsRequests;
      return send(200, "application/json", JSON.stringify({ events }));
    }
    if (path === "/events") ++server.eventsRequests;
    return send(404, "text/plain", "not found\n");
  });
  return new Promise((resolve, reject) => {
    server.http.once("error", reject);
    server.http.listen(standinPort, "127.0.0.1", () => resolve(server));
  });
}

// -- the run ------------------------------------------------------------------------------------

const userDataDir = mkdtempSync(join(tmpdir(), "corral-chromium-"));
let context;
let page;
let fake;
const blocked = [];
// Console errors and uncaught exceptions, each with the part of the run it
// happened in: only the outage may log failed loads (its 503s).
let phase = "corral";
const problems = [];
const timer = setTimeout(() => fail(new Error(`the run took over ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);

async function fail(error) {
  console.error(`dashboard.test: FAILED: ${error.message}`);
  try {
    if (page) await page.screenshot({ path: screenshotPath.replace(/\.png$/, "") + ".failure.png", fullPage: true });
  } catch {}
  await finish(1);
}

async function finish(status) {
  clearTimeout(timer);
  try {
    if (context) await context.close();
  } catch {}
  try {
    if (fake) fake.http.close();
  } catch {}
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(status);
}

/// Throws when the page logged an error or threw outside the outage.
function noProblems(where) {
  const real = problems.filter((p) => !(p.phase === "down" && p.kind === "console" && /Failed to load resource/.test(p.text)));
  if (real.length) throw new Error(`${where}: errors on the page: ${real.map((p) => `[${p.phase}] ${p.text}`).join("; ")}`);
  if (blocked.length) throw new Error(`${where}: requests to other hosts were attempted: ${blocked.join(", ")}`);
}

async function run() {
  // The same browser set-up as page.test.mjs: a fresh profile, no sandbox
  // (tests run as root), nothing that phones home, only 127.0.0.1 resolves.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    viewport: { width: 1280, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.hostname === "127.0.0.1") return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => problems.push({ phase, kind: "exception", text: e.message }));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push({ phase, kind: "console", text: m.text() });
  });

  // -- 1. the real corral --------------------------------------------------------------------

  const response = await page.goto(admin + "/", { waitUntil: "load" });
  if (!response || response.status() !== 200) throw new Error(`GET / answered ${response && response.status()}`);
  const type = response.headers()["content-type"];
  if (type !== "text/html; charset=utf-8") throw new Error(`GET / is "${type}"`);
  if ((await page.title()) !== "corral dashboard") throw new Error(`title is "${await page.title()}"`);
  const unknown = await fetch(admin + "/no/such/page");
  if (unknown.status !== 404) throw new Error(`GET /no/such/page answered ${unknown.status}, not 404`);
  const opened = Date.now();
  log(`loaded ${admin}/`);

  const before = await until("one row per running container", async () => {
    const rows = await rowsOf(page);
    return sameAsDocker(rows, await runningContainers()) && rows;
  });
  log(`${before.length} rows, one per running container: ${before.map((r) => `${r.port}=${r.shown}`).join(" ")}`);
  if (await page.textContent("#pool-name") !== pool) throw new Error(`the header names pool "${await page.textContent("#pool-name")}"`);
  await until("requests per second above 0 (the test sends a steady load)", async () =>
    (await rowsOf(page)).some((r) => parseFloat(r.rate) > 0));
  await until("chart lines for every container", async () =>
    (await page.locator("#chart path.series").count()) === before.length);
  await sleep(Math.max(0, opened + CHART_MS - Date.now()));

  // Kill a container in the middle of the pool, as an operator's `docker kill` would.
  const victim = before[Math.floor(before.length / 2)];
  const name = `${pool}-${victim.port}`;
  const killed = await docker("POST", `/containers/${encodeURIComponent(name)}/kill?signal=SIGKILL`);
  if (killed.status !== 204) throw new Error(`killing ${name} answered ${killed.status}: ${killed.body}`);
  log(`killed ${name} (${victim.shown})`);

  const replaced = await until(`the row of port ${victim.port} to show the replacement of ${victim.shown}`, async () => {
    const row = (await rowsOf(page)).find((r) => r.port === victim.port);
    if (!row || !row.id || row.id === victim.id) return false;
    const running = (await runningContainers()).find((c) => c.name === name);
    if (!running || !running.id.startsWith(row.id.slice(0, 12))) return false;
    return row;
  }, REPLACE_MS);
  log(`port ${victim.port} now shows ${replaced.shown} (${replaced.state}, restarts ${replaced.restarts})`);
  await until("one row per running container after the replacement", async () =>
    sameAsDocker(await rowsOf(page), await runningContainers()));
  await until(`port ${victim.port} ready again`, async () =>
    (await rowsOf(page)).find((r) => r.port === victim.port).state === "ready", REPLACE_MS);

  // The dip and the recovery on the chart, then the picture for the docs.
  await sleep(CHART_MS);
  const errors = await renderErrors(page);
  if (errors.length) throw new Error(`parts of the page could not be drawn: ${errors.join("; ")}`);
  noProblems("against corral");
  await page.screenshot({ path: screenshotPath, fullPage: true });
  log(`screenshot saved to ${screenshotPath}`);

  // -- 2. the stand-in: the whole contract, an outage, the older /status ---------------------

  const html = await (await fetch(admin + "/")).text();
  fake = await standin(html);
  const base = `http://127.0.0.1:${standinPort}`;
  phase = "full";
  await page.goto(base + "/", { waitUntil: "load" });
  await until("ten rows from the whole contract", async () => (await rowsOf(page)).length === 10);
  await until("requests per second from `requests`", async () =>
    parseFloat((await rowsOf(page)).find((r) => r.port === 8000).rate) > 0);
  const probe = await page.textContent("#containers tbody tr[data-port='8000'] td:nth-child(9)");
  if (!/^ok \d+\.\d+ ms$/.test(probe)) throw new Error(`the probe of port 8000 reads "${probe}"`);
  await until("the actors' table", async () => (await page.locator("#actors tbody tr").count()) === 15);
  const balancer = await page.$$eval("#actors tbody tr[data-role='balancer'] td", (tds) => tds.map((td) => td.textContent));
  if (balancer[1] !== "5,010" || balancer[2] !== "0 / 7") throw new Error(`the balancer's row reads ${JSON.stringify(balancer)}`);
  // 60 rows can only come from /events (status.events holds 20), newest first.
  await until("the newest events from /events", async () =>
    (await page.locator("#events tbody tr").count()) === 60
    && (await page.getAttribute("#events tbody tr:first-child", "data-event")) === "scale");
  if (fake.eventsRequests === 0) throw new Error("the page never asked for /events");
  await page.waitForTimeout(1500);
  let drawErrors = await renderErrors(page);
  if (drawErrors.length) throw new Error(`the whole contract: parts could not be drawn: ${drawErrors.join("; ")}`);
  noProblems("the whole contract");
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, "") + ".contract.png", fullPage: true });
  log("the whole contract: rows, probes, actors and events shown");

  phase = "down";
  fake.mode = "down";
  await until("the banner while /status fails", async () =>
    (await page.isVisible("#banner")) && /corral is not answering/.test(await page.textContent("#banner")));
  log(`banner: ${await page.textContent("#banner")}`);
  fake.mode = "legacy";
  await until("the banner gone once /status answers again", async () => !(await page.isVisible("#banner")));
  phase = "legacy";
  await until("three rows from the older /status", async () => (await rowsOf(page)).length === 3);
  await until("requests per second from the balancer's `served`", async () =>
    (await rowsOf(page)).some((r) => parseFloat(r.rate) > 0));
  const asked = fake.eventsRequests;
  await page.waitForTimeout(2500);
  if (fake.eventsRequests !== asked) throw new Error("the page asks the older corral for /events");
  if (!/does not report its actors/.test(await page.textContent("#actors")))
    throw new Error(`the actors' part reads "${await page.textContent("#actors")}"`);
  const probes = await page.$$eval("#containers tbody tr td:nth-child(9)", (tds) => tds.map((td) => td.textContent));
  if (probes.some((p) => p !== "—")) throw new Error(`probes without data read ${JSON.stringify(probes)}`);
  drawErrors = await renderErrors(page);
  if (drawErrors.length) throw new Error(`the older /status: parts could not be drawn: ${drawErrors.join("; ")}`);
  noProblems("the older /status");
  log("the older /status: absent parts shown as such");
  log("OK");
}

run().then(() => finish(0), fail);
