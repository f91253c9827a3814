/**
 * `npm start` end to end on a throwaway local stack: the first start loads Telco, trains,
 * publishes, scores and serves; the printed curl works; a second start does not retrain.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const state = mkdtempSync(path.join(tmpdir(), "foresight-start-"));
const port = 8797;
let server: ChildProcess | undefined;

/** Runs `npm start` until it prints the curl example; returns everything it printed. */
function start(): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    server = spawn("npm", ["start"], { cwd: root, detached: true, env: { ...process.env, FORESIGHT_STATE_DIR: state, PORT: String(port) } });
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

const keyIn = (out: string) => /Bearer (fs_[A-Za-z0-9]+_[A-Za-z0-9]+)/.exec(out)![1];

describe("npm start", () => {
  it("serves churn scores from a fresh state, and a second start does not retrain", async () => {
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
    const score = (await res.json()) as { churnProbability: number; riskTier: string; drivers: unknown[]; modelVersion: string };
    expect(score.churnProbability).toBeGreaterThan(0.5);
    expect(score.drivers.length).toBeGreaterThan(0);

    const account = await fetch(`http://127.0.0.1:${port}/v1/accounts/7590-VHVEG`, { headers: { authorization: `Bearer ${key}` } });
    expect(account.status).toBe(200);
    const body = (await account.json()) as { arr: number; score: { modelVersion: string } };
    expect(body.arr).toBeCloseTo(12 * 29.85, 6);
    expect(body.score.modelVersion).toBe(score.modelVersion);
    await stop();

    const second = await start();
    expect(second).not.toContain("training one");
    expect(second).toContain(`active model ${score.modelVersion}`);
    expect(second).toContain("every account already has a current score");
  }, 600_000);
});
