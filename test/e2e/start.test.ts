/**
 * `npm start` end to end on a throwaway local stack: the first start loads Telco, trains,
 * publishes, scores and serves; the printed curl works; the in-app banner (`public/banner.js`)
 * works in a real Chromium on another origin; signed webhooks reach real HTTP receivers (retries,
 * dead letters, redelivery); a second start does not retrain.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import type { Account, BatchScore, BatchScoreResponse, ExpansionAnswer, ModelList, ModelPerformance, Portfolio, ScoreHistory, ScoreResult, Worklist } from "../../client/index";
import { checkWebhooks, E2E_RETRY_SCHEDULE } from "./webhooks";

const root = path.resolve(import.meta.dirname, "../..");
const state = mkdtempSync(path.join(tmpdir(), "foresight-start-"));
const port = 8797;
let server: ChildProcess | undefined;

/** Runs `npm start` until it prints the curl example; returns everything it printed. */
function start(): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    server = spawn("npm", ["start"], {
      cwd: root,
      detached: true,
      env: { ...process.env, FORESIGHT_STATE_DIR: state, PORT: String(port), FORESIGHT_WEBHOOK_RETRY_SCHEDULE: E2E_RETRY_SCHEDULE },
    });
    const timer = setTimeout(() => reject(new Error(`npm start did not become ready:\n${out}`)), 240_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("curl -s") && out.includes("/v1/accounts/7590-VHVEG")) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    server.stdout!.on("data", onData);
    server.stderr!.on("data", onData);
    server.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
}

async function stop(): Promise<void> {
  if (!server?.pid) return;
  const exited = new Promise((r) => server!.once("exit", r));
  process.kill(-server.pid, "SIGTERM");
  await exited;
  server = undefined;
}

afterEach(stop);

const CHROMIUM = "/usr/bin/chromium";

/** Runs a command, its output going to ours; rejects unless it exits with 0. */
function run(cmd: string, args: string[]): Promise<void> {
  console.log(`[banner] $ ${cmd} ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`))));
  });
}

/** Installs Debian's Chromium with apt-get when /usr/bin/chromium is missing (sudo unless root). */
async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) {
    console.log(`[banner] using ${CHROMIUM}`);
    return;
  }
  console.log(`[banner] ${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
  const asRoot = process.getuid?.() === 0;
  const apt = (...args: string[]) => {
    const cmd = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", "DPkg::Lock::Timeout=300", ...args];
    return asRoot ? run(cmd[0], cmd.slice(1)) : run("sudo", cmd);
  };
  await apt("update");
  await apt("install", "-y", "chromium");
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  console.log(`[banner] installed ${CHROMIUM}`);
}

/** `npm run --silent create-key` against the running server's state; the key is its last stdout line. */
function createKey(scopes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const child = spawn("npm", ["run", "--silent", "create-key", "--", "--scopes", scopes], { cwd: root, env: { ...process.env, FORESIGHT_STATE_DIR: state } });
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = out.trim().split("\n").pop()?.trim() ?? "";
      if (code === 0 && /^fs_[A-Za-z0-9]+_[A-Za-z0-9]+$/.test(last)) resolve(last);
      else reject(new Error(`create-key exited with ${code}:\n${out}\n${err}`));
    });
  });
}

interface BannerDetail {
  accountId: string | null;
  shown: boolean;
  expansionReady?: boolean;
  dismissed?: boolean;
  error?: string;
}

/** Relative luminance contrast of two CSS rgb()/rgba() colours (WCAG 2). */
function contrast(fg: string, bg: string): number {
  const lum = (c: string) => {
    const [r, g, b] = c.match(/[\d.]+/g)!.slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The banner snippet in Chromium, on a host page served from another origin (so CORS is real),
 * with a banner-only key: shown, accessible and dismissible for an expansion-ready (blue) account;
 * absent for a red one. Host page CSS that would restyle everything must not reach the banner.
 */
async function checkBanner(adminKey: string): Promise<void> {
  // Functions given to page.evaluate run in the page; this project's lib has no DOM types, hence the casts.
  const api = `http://127.0.0.1:${port}`;
  const bannerKey = await createKey("banner");
  const firstOf = async (tier: string) => {
    const res = await fetch(`${api}/v1/accounts?tier=${tier}&limit=1`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(res.status).toBe(200);
    const { accounts } = (await res.json()) as Worklist;
    expect(accounts).toHaveLength(1);
    return accounts[0].id;
  };
  const blue = await firstOf("blue");
  const red = await firstOf("red");

  // The banner key may read the expansion answer and nothing else.
  const asBanner = { authorization: `Bearer ${bannerKey}`, "content-type": "application/json" };
  const denied = await fetch(`${api}/v1/score`, { method: "POST", headers: asBanner, body: JSON.stringify({ accountId: blue }) });
  expect(denied.status).toBe(403);
  expect((await fetch(`${api}/v1/accounts/${blue}`, { headers: asBanner })).status).toBe(403);
  const answer = (await (await fetch(`${api}/v1/accounts/${blue}/expansion`, { headers: asBanner })).json()) as ExpansionAnswer;
  expect(answer.expansionReady).toBe(true);

  const host = createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://host").searchParams;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host app</title>
<style>* { color: red !important; font-family: serif !important } p, button { display: none }</style>
<script>document.addEventListener("foresight:expansion", (e) => { window.__banner = e.detail; });</script>
</head><body><h1>Host app</h1><p id="own">The host's own paragraph.</p>
<script src="${api}/banner.js" data-account="${q.get("account")}" data-key="${q.get("key") ?? bannerKey}" data-cta-href="https://example.com/plans" async></script>
</body></html>`);
  });
  await new Promise<void>((r) => host.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  const errors: string[] = [];
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking"] });
    const open = async (page: Page, url: string): Promise<BannerDetail> => {
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as { __banner?: unknown }).__banner, null, { timeout: 20_000 });
      return page.evaluate(() => (globalThis as unknown as { __banner: BannerDetail }).__banner);
    };
    const deepFocus = (page: Page) =>
      page.evaluate(() => {
        let el = (globalThis as any).document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el ? `${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") ?? el.textContent}` : null;
      });

    // Blue: the banner appears, cross-origin, with a real CORS answer.
    const ctx = await browser.newContext({ viewport: { width: 900, height: 500 } });
    const page = await ctx.newPage();
    const response = page.waitForResponse((r) => r.url().endsWith(`/v1/accounts/${blue}/expansion`));
    const shown = await open(page, `${origin}/?account=${blue}`);
    const res = await response;
    expect(res.status()).toBe(200);
    expect((await res.request().allHeaders()).origin).toBe(origin);
    expect(res.headers()["access-control-allow-origin"]).toBe(origin);
    expect(shown).toEqual({ accountId: blue, shown: true, expansionReady: true });

    const region = page.getByRole("region", { name: "Offer" });
    await region.waitFor({ state: "visible", timeout: 10_000 });
    expect(await region.count()).toBe(1);
    expect(await region.getAttribute("aria-live")).toBe("polite");
    const text = region.getByText("Upgrade to unlock more");
    expect(await text.isVisible()).toBe(true);
    const box = (await region.boundingBox())!;
    expect(box.y + box.height).toBeLessThanOrEqual(500);
    const snapshot = await region.ariaSnapshot();
    expect(snapshot).toContain('region "Offer"');
    expect(snapshot).toContain('link "See plans"');
    expect(snapshot).toContain('button "Dismiss"');
    // The host's `* { color: red !important }` and `p, button { display: none }` do not reach it.
    const look = await region.evaluate((el) => {
      const css = (e: unknown) => (globalThis as any).getComputedStyle(e);
      const p = (el as { querySelector(s: string): unknown }).querySelector("p");
      return { color: css(p).color, background: css(el).backgroundColor, font: css(p).fontFamily, animation: css(el).animationName };
    });
    expect(look.color).not.toBe("rgb(255, 0, 0)");
    expect(look.font).not.toMatch(/^serif/);
    expect(contrast(look.color, look.background)).toBeGreaterThanOrEqual(4.5);
    expect(look.animation).not.toBe("none");
    // ...and its styles do not leak out: the host's own paragraph stays hidden.
    expect(await page.locator("#own").isVisible()).toBe(false);
    if (process.env.BANNER_SCREENSHOT) await page.screenshot({ path: process.env.BANNER_SCREENSHOT });

    // Keyboard: Tab reaches the link, then the Dismiss button, each with a visible focus ring.
    await page.keyboard.press("Tab");
    expect(await deepFocus(page)).toBe("a See plans");
    await page.keyboard.press("Tab");
    expect(await deepFocus(page)).toBe("button Dismiss");
    const dismiss = region.getByRole("button", { name: "Dismiss" });
    const ring = await dismiss.evaluate((el) => {
      const css = (globalThis as any).getComputedStyle(el);
      return { style: css.outlineStyle, width: parseFloat(css.outlineWidth) };
    });
    expect(ring.style).not.toBe("none");
    expect(ring.width).toBeGreaterThanOrEqual(2);

    // Dismissing removes it and is remembered for 30 days: a reload shows nothing.
    await dismiss.click();
    expect(await page.locator("foresight-banner").count()).toBe(0);
    const until = Number(await page.evaluate((k) => (globalThis as any).localStorage.getItem(k), `foresight:banner-dismissed:${blue}`));
    expect(until).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(until).toBeLessThan(Date.now() + 31 * 86_400_000);
    await page.reload();
    await page.waitForFunction(() => (globalThis as { __banner?: unknown }).__banner, null, { timeout: 20_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __banner: BannerDetail }).__banner)).toEqual({ accountId: blue, shown: false, dismissed: true });
    expect(await page.locator("foresight-banner").count()).toBe(0);
    expect(await page.getByRole("region", { name: "Offer" }).count()).toBe(0);
    await ctx.close();

    // A fresh visitor who prefers reduced motion: no animation; Escape dismisses only from inside.
    const calm = await browser.newContext({ reducedMotion: "reduce" });
    const calmPage = await calm.newPage();
    expect((await open(calmPage, `${origin}/?account=${blue}`)).shown).toBe(true);
    const calmRegion = calmPage.getByRole("region", { name: "Offer" });
    await calmRegion.waitFor({ state: "visible", timeout: 10_000 });
    expect(await calmRegion.evaluate((el) => (globalThis as any).getComputedStyle(el).animationName)).toBe("none");
    await calmPage.keyboard.press("Escape");
    expect(await calmRegion.count()).toBe(1);
    await calmPage.keyboard.press("Tab");
    expect(await deepFocus(calmPage)).toBe("a See plans");
    await calmPage.keyboard.press("Escape");
    expect(await calmPage.locator("foresight-banner").count()).toBe(0);
    await calm.close();

    // Red: the snippet finishes without showing anything.
    const redCtx = await browser.newContext();
    const redPage = await redCtx.newPage();
    expect(await open(redPage, `${origin}/?account=${red}`)).toEqual({ accountId: red, shown: false, expansionReady: false });
    expect(await redPage.locator("foresight-banner").count()).toBe(0);
    expect(await redPage.getByRole("region", { name: "Offer" }).count()).toBe(0);

    // A bad key: the snippet reports the error quietly, shows nothing and throws nothing.
    expect(await open(redPage, `${origin}/?account=${blue}&key=fs_nope_nope`)).toEqual({ accountId: blue, shown: false, error: "HTTP 401" });
    expect(await redPage.locator("foresight-banner").count()).toBe(0);
    await redCtx.close();
    expect(errors).toEqual([]);
  } finally {
    await browser?.close();
    await new Promise((r) => host.close(r));
  }
}

/** The scoring API surface against npm start's own data: portfolio, worklist, batch, history, models. */
async function checkApiSurface(key: string, modelVersion: string): Promise<void> {
  const api = `http://127.0.0.1:${port}`;
  const get = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${api}${p}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status, p).toBe(200);
    return (await res.json()) as T;
  };
  const portfolio = await get<Portfolio>("/v1/portfolio");
  expect(Object.values(portfolio.tiers).reduce((a, t) => a + t.accounts, 0)).toBe(7043);
  expect(portfolio.tiers.blue.accounts).toBeGreaterThan(0);
  expect(portfolio.arrAtRisk).toBeGreaterThan(0);
  expect(portfolio.summary).toMatch(new RegExp(`^${portfolio.tiers.red.accounts} accounts, \\$\\d+K ARR in red`));

  const first = await get<Worklist>("/v1/accounts?owner=Avery%20Chen&tier=red,yellow&limit=20");
  expect(first.accounts).toHaveLength(20);
  expect(first.accounts.every((a) => a.owner === "Avery Chen" && ["red", "yellow"].includes(a.score!.tier) && /^\d{4}-\d{2}-01$/.test(a.renewalDate!))).toBe(true);
  const risks = first.accounts.map((a) => a.arrAtRisk);
  expect(risks).toEqual([...risks].sort((x, y) => y - x));
  const second = await get<Worklist>(`/v1/accounts?owner=Avery%20Chen&tier=red,yellow&limit=20&cursor=${first.nextCursor}`);
  expect(second.accounts[0].arrAtRisk).toBeLessThanOrEqual(risks.at(-1)!);
  expect(second.accounts.some((a) => first.accounts.some((b) => b.id === a.id))).toBe(false);

  const batch = await fetch(`${api}/v1/score/batch?drivers=2`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ rows: [{ accountId: first.accounts[0].id }, { accountId: "7590-VHVEG" }] }),
  });
  expect(batch.status).toBe(200);
  expect((((await batch.json()) as BatchScoreResponse).results as BatchScore[]).map((r) => [r.accountId, r.drivers.length])).toEqual([
    [first.accounts[0].id, 2],
    ["7590-VHVEG", 2],
  ]);
  const history = await get<ScoreHistory>("/v1/accounts/7590-VHVEG/scores");
  expect(history.scores.map((s) => s.source)).toEqual(["batch", "start"]);
  expect(history.scores.every((s) => s.modelVersion === modelVersion)).toBe(true);
  const models = await get<ModelList>("/v1/models");
  expect(models.models).toEqual([expect.objectContaining({ version: modelVersion, status: "active", target: "churn" })]);
  expect(models.models[0].metrics.auc).toBeGreaterThan(0.8);

  // Monitoring for the active model: computed on demand (the daily cron does the same) and served
  // as a time series. The demo's scores are all fresh, so accuracy waits for the horizon, and drift
  // is measured at once: the Telco accounts are the training data, so nothing has drifted.
  const computed = await fetch(`${api}/v1/models/${modelVersion}/performance/compute`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
  expect(computed.status).toBe(201);
  const perf = await get<ModelPerformance>(`/v1/models/${modelVersion}/performance`);
  expect(perf.version).toBe(modelVersion);
  expect(perf.series.length).toBeGreaterThan(0);
  expect(perf.series[0].scoresEvaluated).toBe(0);
  expect(perf.series[0].maxFeaturePsi).toBeLessThan(0.1);
}

const keyIn = (out: string) => /Bearer (fs_[A-Za-z0-9]+_[A-Za-z0-9]+)/.exec(out)![1];

describe("npm start", () => {
  it("serves churn scores from a fresh state, and a second start does not retrain", async () => {
    // CI machines start without Chromium: install it while the first start trains.
    const chromiumReady = ensureChromium();
    chromiumReady.catch(() => {});
    const first = await start();
    expect(first).toContain("loading the Telco demo portfolio");
    expect(first).toContain("training one on the Telco data");
    expect(first).toMatch(/scored 7043 accounts/);
    const key = keyIn(first);

    const res = await fetch(`http://127.0.0.1:${port}/v1/score`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ features: { tenure: 2, Contract: "Month-to-month", InternetService: "Fiber optic", PaymentMethod: "Electronic check", MonthlyCharges: 95.5 } }),
    });
    expect(res.status).toBe(200);
    const score = (await res.json()) as ScoreResult;
    expect(score.churnProbability).toBeGreaterThan(0.5);
    expect(score.drivers.length).toBeGreaterThan(0);

    const account = await fetch(`http://127.0.0.1:${port}/v1/accounts/7590-VHVEG`, { headers: { authorization: `Bearer ${key}` } });
    expect(account.status).toBe(200);
    const body = (await account.json()) as Account;
    expect(body.arr).toBeCloseTo(12 * 29.85, 6);
    expect(body.score!.modelVersion).toBe(score.modelVersion);

    await checkApiSurface(key, score.modelVersion);
    // Webhooks over real HTTP (test/e2e/webhooks.ts): after the API surface, whose history checks predate this rescoring.
    await checkWebhooks(`http://127.0.0.1:${port}`, key);
    await chromiumReady;
    await checkBanner(key);
    await stop();

    const second = await start();
    expect(second).not.toContain("training one");
    expect(second).toContain(`active model ${score.modelVersion}`);
    expect(second).toContain("every account already has a current score");
  }, 600_000);
});
