/**
 * The baseline Worker of `npm run bench:rescore`: does what a rescoring chunk does to D1 without
 * scoring. For one id range it reads the accounts as the consumer does, then writes score rows
 * that were computed earlier (another run's rows, given by `run`) under a new run id with the
 * consumer's own statements (`insertScoreStatements`, 250 rows per D1 transaction). Served by
 * `wrangler dev` on the bench's state dir, so the writes take the same path as the consumer's
 * (workerd's D1 binding), not the platform proxy's.
 *
 * `POST /?run=RUN&as=NEW_RUN&from=ID&to=ID` → `{ rows, accountReadMs, precomputedReadMs, writeMs }`.
 *
 * It also runs the retention job on the same state, one range (or the logs) per request, for the
 * bench's measurement of retention at scale: `POST /retention?day=YYYY-MM-DD&from=ID&to=ID` (or
 * `&logs=1`) → the counts, and `ms` (its wall time inside the Worker).
 *
 * And the CRM export's D1 walk alone, for the bench's export memory control (bench/rescore-export.ts):
 * `GET /export-walk` reads every page the export reads (`exportPages`) and discards it → `{ rows, ms }`.
 */
import { db, runBatch } from "../shared/db/write";
import { insertScoreStatements, type ScoreWrite } from "../shared/db/scores";
import { exportPages } from "../workers/exports/rows";
import { processRetention } from "../workers/retention/job";

const WRITE_SIZE = 250;

export default {
  async fetch(request: Request, env: { DB: D1Database; MODELS: R2Bucket }): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    if (url.pathname === "/export-walk") {
      const t = Date.now();
      let rows = 0;
      for await (const page of exportPages(env as unknown as Env, new Date().toISOString().slice(0, 10))) rows += page.length;
      return Response.json({ rows, ms: Date.now() - t });
    }
    if (url.pathname === "/retention") {
      const t = Date.now();
      const part = url.searchParams.get("logs") ? ("logs" as const) : { from: url.searchParams.get("from")!, to: url.searchParams.get("to") || null };
      const r = await processRetention(env as unknown as Env, { retention: url.searchParams.get("day")!, part }, { waitForRescoring: false, maxPages: Number.MAX_SAFE_INTEGER });
      return Response.json({ counts: r.counts, ms: Date.now() - t });
    }
    const run = url.searchParams.get("run");
    const as = url.searchParams.get("as");
    const from = url.searchParams.get("from");
    const to = url.searchParams.get("to") || null;
    if (!run || !as || !from) return new Response("run, as and from are required", { status: 400 });
    // Clock readings only around awaited I/O: workerd advances Date.now() at I/O.
    const t0 = Date.now();
    // As the consumer reads a chunk (an upper bound only when there is one: see processChunk).
    const binds = to === null ? [from] : [from, to];
    const accounts = await env.DB.prepare(`SELECT id, name, arr, owner, features, risk_tier, tier, churn_probability FROM accounts WHERE id >= ?1 ${to === null ? "" : "AND id < ?2"} ORDER BY id`)
      .bind(...binds)
      .all();
    const t1 = Date.now();
    const stored = await env.DB.prepare(`SELECT * FROM scores WHERE run_id = ?1 AND account_id >= ?2 ${to === null ? "" : "AND account_id < ?3"} ORDER BY account_id`)
      .bind(run, ...binds)
      .all<Record<string, string | number | null>>();
    const t2 = Date.now();
    const scoredAt = new Date().toISOString();
    const rows: ScoreWrite[] = stored.results.map((s) => ({
      accountId: s.account_id as string,
      modelVersion: s.model_version as string,
      churnProbability: s.churn_probability as number,
      intervalLow: s.interval_low as number | null,
      intervalHigh: s.interval_high as number | null,
      confidence: s.confidence as string | null,
      riskTier: s.risk_tier as string,
      drivers: JSON.parse(s.drivers as string) as unknown[],
      imputed: JSON.parse(s.imputed as string) as string[],
      source: "bench",
      runId: as,
      scoredAt,
      tier: s.tier as string | null,
      expansionProbability: s.expansion_probability as number | null,
      expansionReady: s.expansion_ready === null ? null : s.expansion_ready === 1,
      expansionSource: s.expansion_source as string | null,
      expansionVersion: s.expansion_version as string | null,
      expansionReason: s.expansion_reason as string | null,
    }));
    const d = db(env.DB);
    let writeMs = 0;
    for (let i = 0; i < rows.length; i += WRITE_SIZE) {
      const t = Date.now();
      await runBatch(d, insertScoreStatements(d, rows.slice(i, i + WRITE_SIZE)));
      writeMs += Date.now() - t;
    }
    return Response.json({ rows: rows.length, accounts: accounts.results.length, accountReadMs: t1 - t0, precomputedReadMs: t2 - t1, writeMs });
  },
};
