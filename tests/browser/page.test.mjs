// The Acts page in Debian's headless Chromium, driven by playwright-core:
// load it, create a user and a category, upload images, see their thumbnails
// in the grid, upvote one, and save a screenshot.
//
//   node page.test.mjs http://127.0.0.1:PORT SCREENSHOT.png
//
// Exit status: 0 when every step passed, 1 when one failed (the reason is the
// last line; a screenshot of the failure goes next to SCREENSHOT), 2 for bad
// usage. Only 127.0.0.1 is ever contacted: every other request is blocked
// and fails the run.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// The whole run; the C++ test that starts this script has a longer deadline.
const RUN_DEADLINE_MS = 60_000;
// One step (a click and what it must bring about).
const STEP_MS = 10_000;

const [base, screenshotPath] = process.argv.slice(2);
if (!base || !screenshotPath || !/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) {
  console.error("usage: node page.test.mjs http://127.0.0.1:PORT SCREENSHOT.png");
  process.exit(2);
}

const log = (text) => console.log(`page.test: ${text}`);

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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// -- a PNG made here, so the test needs no image file ---------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/// A size x size RGB PNG: a diagonal gradient from one colour to another,
/// with a ring, so each upload is easy to tell apart on the screenshot.
function gradientPng(size, from, to) {
  const raw = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * (size - 1));
      const dx = x - size / 2;
      const dy = y - size / 2;
      const ring = Math.abs(Math.sqrt(dx * dx + dy * dy) - size * 0.3) < size * 0.04;
      for (let c = 0; c < 3; c++)
        raw[row + 1 + x * 3 + c] = ring ? 255 : Math.round(from[c] + (to[c] - from[c]) * t);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// -- the run -------------------------------------------------------------------------------

const userDataDir = mkdtempSync(join(tmpdir(), "corral-chromium-"));
let context;
let page;
const blocked = [];
const timer = setTimeout(() => fail(new Error(`the run took over ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);

async function fail(error) {
  console.error(`page.test: FAILED: ${error.message}`);
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
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(status);
}

async function run() {
  // A fresh profile; no sandbox (Chromium's refuses to run as root, which the
  // tests and CI run as); nothing that phones home. Host names resolve to
  // nothing, so only the IP literal 127.0.0.1 is reachable.
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
  // Belt and braces: anything not for 127.0.0.1 (or an inline data: URL) is
  // aborted and fails the run.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.hostname === "127.0.0.1") return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  page = context.pages()[0] || (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));

  // 1. The page loads through corral.
  const response = await page.goto(base + "/", { waitUntil: "load" });
  if (!response || response.status() !== 200) throw new Error(`GET / answered ${response && response.status()}`);
  if ((await page.title()) !== "Acts") throw new Error(`title is "${await page.title()}"`);
  await until("the category list to be filled in", async () =>
    (await page.locator("#category-list").textContent()).trim() !== "");
  log(`loaded ${base}/`);

  // 2. A user.
  // Each run has a pool and database of its own, so the name is free.
  const user = "ada";
  await page.fill("#username", user);
  await page.fill("#password", "correct horse battery staple");
  await page.click("#create-user");
  await until(`"User ${user} created."`, async () =>
    (await page.locator("#user-status").textContent()) === `User ${user} created.`);
  log(`created user ${user}`);

  // 3. A category; it shows as a chip and is selected for uploads.
  const category = "corral demo";
  await page.fill("#category-name", category);
  await page.click("#create-category");
  await until(`"Category ${category} created."`, async () =>
    (await page.locator("#category-status").textContent()) === `Category ${category} created.`);
  await until("the category chip", async () =>
    (await page.locator(`.category-chip[data-category="${category}"]`).count()) === 1);
  await until("the category selected", async () => (await page.inputValue("#category-select")) === category);
  log(`created category ${category}`);

  // 4. Uploads: each appears in the grid as a thumbnail, newest first, with
  //    exactly the bytes that were chosen.
  const uploads = [
    { caption: "Sunrise over the pool", from: [255, 140, 50], to: [120, 30, 90] },
    { caption: "Three containers, one port each", from: [40, 120, 220], to: [20, 200, 160] },
    { caption: "Round robin", from: [250, 210, 60], to: [230, 80, 40] },
  ];
  for (const [i, upload] of uploads.entries()) {
    const png = gradientPng(240, upload.from, upload.to);
    await page.setInputFiles("#file", { name: `act-${i + 1}.png`, mimeType: "image/png", buffer: png });
    await page.fill("#caption", upload.caption);
    // The status line reads the same after every upload: clear it, so the
    // wait below sees this upload's answer.
    await page.locator("#upload-status").evaluate((el) => { el.textContent = ""; });
    await page.click("#upload");
    await until(`"Posted to ${category}."`, async () =>
      (await page.locator("#upload-status").textContent()) === `Posted to ${category}.`);
    const first = page.locator("#grid .card[data-act-id]").first();
    await until(`the thumbnail of "${upload.caption}" first in the grid`, async () =>
      (await page.locator("#grid .card[data-act-id]").count()) === i + 1
      && (await first.locator(".caption").textContent()) === upload.caption);
    const thumb = first.locator("img.thumb");
    // Decoded and drawn: the browser knows its real size.
    await until(`the thumbnail of "${upload.caption}" decoded`, async () =>
      thumb.evaluate((img) => img.complete && img.naturalWidth === 240 && img.naturalHeight === 240));
    const src = await thumb.getAttribute("src");
    if (src !== "data:image/png;base64," + png.toString("base64"))
      throw new Error(`the thumbnail of "${upload.caption}" does not hold the uploaded bytes`);
    log(`uploaded "${upload.caption}" and saw its thumbnail`);
  }

  // 5. Upvote the middle one; the count goes up on the page and in the API.
  const card = page.locator("#grid .card[data-act-id]").nth(1);
  const actId = Number(await card.getAttribute("data-act-id"));
  await card.locator("button.upvote").click();
  await until("the upvote count to read 1", async () =>
    (await card.locator(".upvote-count").textContent()) === "1");
  const listed = await page.evaluate(async (path) => (await fetch(path)).json(),
    `/api/v1/categories/${encodeURIComponent(category)}/acts`);
  const act = listed.find((a) => a.actId === actId);
  if (!act || act.upvotes !== 1) throw new Error(`the API lists act ${actId} with ${act && act.upvotes} upvotes`);
  log(`upvoted act ${actId}`);

  if (pageErrors.length) throw new Error(`errors on the page: ${pageErrors.join("; ")}`);
  if (blocked.length) throw new Error(`requests to other hosts were attempted: ${blocked.join(", ")}`);

  // Back to the top with no focus ring, then the picture for the docs.
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  log(`screenshot saved to ${screenshotPath}`);
  log("OK");
}

run().then(() => finish(0), fail);
