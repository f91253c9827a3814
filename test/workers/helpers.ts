/** Test helpers: real keys in D1, the real Telco model published to R2, requests through the Worker. */
import { env, exports } from "cloudflare:workers";
import type { Problem, RescoreRun } from "../../client/index";
import { apiKeys, type ApiScope } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { generateKey } from "../../shared/keys";
import { type PublishResult, publishArtifact } from "../../shared/db/registry";

/** A real key in D1; unlimited unless `rateLimit` (requests per second) is given. */
export async function createKey(scopes: ApiScope[], rateLimit = 0): Promise<string> {
  const k = await generateKey();
  await db(env.DB).insert(apiKeys).values({ id: k.id, keyHash: k.keyHash, prefix: k.prefix, scopes, rateLimit });
  return k.key;
}

/** Publishes and activates the Telco fixture model through the same code as `npm run publish-model`. */
export async function publishTelcoModel(): Promise<PublishResult> {
  return publishArtifact(env, new TextEncoder().encode(env.TEST_MODEL), { activate: true });
}

export interface CallOptions {
  key?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  return exports.default.fetch(new Request(`http://foresight.test${path}`, { method, headers, body }));
}

/** Reads a problem+json response, asserting its media type. */
export async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get("content-type");
  if (type !== "application/problem+json") throw new Error(`expected problem+json, got ${type}: ${await res.text()}`);
  return res.json<Problem>();
}

/** Polls GET /v1/rescore/{runId} until the run completes or fails (or `timeoutMs` passes). */
export async function waitForRun(key: string, runId: string, timeoutMs = 50_000): Promise<RescoreRun> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = await (await call("GET", `/v1/rescore/${runId}`, { key })).json<RescoreRun>();
    if (body.status === "completed" || body.status === "failed" || Date.now() > until) return body;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A Telco customer: month-to-month fibre, 2 months in, electronic check. */
export const riskyCustomer = {
  gender: "Female",
  SeniorCitizen: 0,
  Partner: "No",
  Dependents: "No",
  tenure: 2,
  PhoneService: "Yes",
  MultipleLines: "No",
  InternetService: "Fiber optic",
  OnlineSecurity: "No",
  OnlineBackup: "No",
  DeviceProtection: "No",
  TechSupport: "No",
  StreamingTV: "Yes",
  StreamingMovies: "Yes",
  Contract: "Month-to-month",
  PaperlessBilling: "Yes",
  PaymentMethod: "Electronic check",
  MonthlyCharges: 95.5,
  TotalCharges: 191,
};

/** A loyal Telco customer: two-year contract, 60 months in. */
export const loyalCustomer = {
  ...riskyCustomer,
  tenure: 60,
  InternetService: "DSL",
  OnlineSecurity: "Yes",
  TechSupport: "Yes",
  Contract: "Two year",
  PaymentMethod: "Bank transfer (automatic)",
  MonthlyCharges: 60,
  TotalCharges: 3600,
};
