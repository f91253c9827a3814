/**
 * Accuracy and drift monitoring (the daily cron, and `POST /v1/models/{version}/performance/compute`).
 *
 * For each monitored churn model version it reads, in one pass over the accounts by id:
 * - each account's earliest score by that version, labelled by the outcomes that followed it
 *   (`outcomeLabel` in shared/monitoring.ts: churned within the model's horizon, or not, once the
 *   horizon has passed), for ROC-AUC, precision/recall/F1 at the red threshold, Brier and a
 *   reliability table;
 * - the live accounts' current signals, and the version's probabilities for them, counted into
 *   the artifact's reference bins, for the PSI per signal and of the predictions.
 *
 * Each computation stores one `model_performance` row per version. For the active model, a
 * precision at red below 0.70 emits `model.performance_degraded` and any PSI above 0.2
 * `model.drift_detected`, in the same D1 transaction as the row, with their webhook deliveries;
 * event ids are derived from (version, type, day), so a second computation the same day sends
 * nothing twice.
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { SqlPick } from "../../shared/db/rows";
import { type accounts as accountsTable, type models, modelPerformance, type ModelStatus } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import { DriftCounter } from "../../shared/model/reference";
import type { RawValue } from "../../shared/model/features";
import type { Scorer } from "../../shared/model/scorer";
import {
  type Accuracy,
  alertsFor,
  type AlertType,
  evaluateScores,
  hasChurned,
  MIN_DRIFT_ACCOUNTS,
  type OutcomeRow,
  outcomeLabel,
  PRECISION_ALERT,
  PSI_ALERT,
  retrainingRecommendation,
} from "./policy";
import { scorerForVersion } from "../scoring/model-cache";
import { enqueuePendingDeliveries, eventId, eventStatements, type NewEvent } from "../webhooks/outbox";

/** Accounts read per page: a million accounts take 200 pages of three queries. */
const PAGE = 5000;

export interface MonitorOptions {
  /** "Now" for the horizon check, the stored timestamp and the event ids' day; tests pin it. */
  now?: Date;
  /** Only these versions (the compute route); default: the active and shadow churn models and every other one that was ever active and has scores. */
  versions?: string[];
}

/** One stored computation (a `model_performance` row), as `GET /v1/models/{version}/performance` serves it. */
export type PerformanceEntry = typeof modelPerformance.$inferSelect;

/** What one computation did for one version: the stored row and the events it emitted. */
export interface MonitorResult {
  performance: PerformanceEntry;
  /** Ids of the events emitted (already existing ones included: the same day's re-run). */
  events: string[];
}

interface Monitored {
  version: string;
  status: ModelStatus;
  scorer: Scorer | null;
  loadError: string | null;
  horizonDays: number;
  red: number | null;
  drift: DriftCounter | null;
  p: number[];
  y: number[];
  pending: number;
  gone: number;
  notes: string[];
}

const round4 = (v: number) => Number(v.toFixed(4));

/**
 * Computes and stores accuracy and drift for the monitored versions; returns what it stored.
 *
 * @example
 *   const [{ performance, events }] = await runMonitoring(env, { versions: ["churn-20261122-140512-3fa1c2"] });
 */
export async function runMonitoring(env: Env, options: MonitorOptions = {}): Promise<MonitorResult[]> {
  const now = options.now ?? new Date();
  const today = now.toISOString().slice(0, 10);
  const rows = options.versions
    ? (await env.DB.prepare("SELECT version, status FROM models WHERE target = 'churn' AND version IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(options.versions)).all<SqlPick<typeof models, "version" | "status">>()).results
    : (await env.DB.prepare("SELECT version, status FROM models WHERE target = 'churn' AND (status IN ('active', 'shadow', 'retired') OR activated_at IS NOT NULL) ORDER BY created_at").all<SqlPick<typeof models, "version" | "status">>()).results;
  if (rows.length === 0) return [];

  const monitored: Monitored[] = [];
  for (const r of rows) {
    const m: Monitored = { version: r.version, status: r.status, scorer: null, loadError: null, horizonDays: DEFAULT_HORIZON_DAYS, red: null, drift: null, p: [], y: [], pending: 0, gone: 0, notes: [] };
    try {
      m.scorer = await scorerForVersion(env, r.version);
      const a = m.scorer.artifact;
      m.horizonDays = a.horizonDays ?? DEFAULT_HORIZON_DAYS;
      m.red = a.tiers.red;
      if (a.horizonDays === undefined) m.notes.push(`The artifact records no horizon; ${DEFAULT_HORIZON_DAYS} days assumed.`);
      // Drift matters for what serves or may soon serve: the active and shadow models, or any version asked for by name.
      const wantDrift = options.versions !== undefined || r.status === "active" || r.status === "shadow";
      if (!a.reference) m.notes.push("The artifact has no reference distributions (trained before monitoring existed); retrain it to get drift figures.");
      else if (wantDrift) m.drift = new DriftCounter(a.features, a.reference);
      else m.notes.push("Drift is monitored for the active and shadow models only.");
    } catch (e) {
      m.loadError = (e as Error).message;
      m.notes.push(`The artifact could not be loaded, so nothing was computed: ${m.loadError}.`);
    }
    monitored.push(m);
  }
  const byVersion = new Map(monitored.filter((m) => m.scorer).map((m) => [m.version, m]));
  const versionsJson = JSON.stringify([...byVersion.keys()]);
  const drifting = monitored.filter((m) => m.drift);

  let after = "";
  const hasScores = new Set<string>();
  for (;;) {
    const page = await env.DB.prepare("SELECT id, features FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2").bind(after, PAGE).all<SqlPick<typeof accountsTable, "id" | "features">>();
    const accounts = page.results;
    if (accounts.length === 0) break;
    const first = accounts[0].id;
    const last = accounts[accounts.length - 1].id;
    // Each account's earliest score per version (SQLite takes the bare column from the min row).
    const [firsts, outcomeRows] = await env.DB.batch([
      env.DB.prepare(
        `SELECT account_id, model_version, min(scored_at) AS scored_at, churn_probability FROM scores
         WHERE account_id >= ?1 AND account_id <= ?2 AND model_version IN (SELECT value FROM json_each(?3))
         GROUP BY account_id, model_version`,
      ).bind(first, last, versionsJson),
      env.DB.prepare("SELECT account_id, type, date FROM outcomes WHERE account_id >= ?1 AND account_id <= ?2").bind(first, last),
    ]);
    const outcomes = new Map<string, OutcomeRow[]>();
    for (const o of outcomeRows.results as { account_id: string; type: string; date: string }[]) {
      const list = outcomes.get(o.account_id) ?? [];
      list.push({ type: o.type, date: o.date });
      outcomes.set(o.account_id, list);
    }
    for (const s of firsts.results as { account_id: string; model_version: string; scored_at: string; churn_probability: number }[]) {
      const m = byVersion.get(s.model_version);
      if (!m) continue;
      hasScores.add(m.version);
      const label = outcomeLabel(s.scored_at, m.horizonDays, outcomes.get(s.account_id) ?? [], now);
      if (label === "pending") m.pending++;
      else if (label === "gone") m.gone++;
      else {
        m.p.push(s.churn_probability);
        m.y.push(label);
      }
    }
    if (drifting.length) {
      for (const a of accounts) {
        // Live accounts only: a churned account's frozen signals say nothing about today's portfolio.
        if (a.features === "{}" || hasChurned(outcomes.get(a.id) ?? [], today)) continue;
        const signals = JSON.parse(a.features) as Record<string, RawValue>;
        for (const m of drifting) m.drift!.add(signals, m.scorer!.probability(signals));
      }
    }
    if (accounts.length < PAGE) break;
    after = last;
  }

  const results: MonitorResult[] = [];
  const d = db(env.DB);
  for (const m of monitored) {
    // A version that no longer serves and has no scores has nothing to report.
    if (!options.versions && m.status !== "active" && m.status !== "shadow" && !hasScores.has(m.version)) continue;
    const accuracy: Accuracy = m.scorer
      ? evaluateScores(m.p, m.y, m.red!)
      : { scoresEvaluated: 0, positives: 0, auc: null, precisionAtRed: null, recallAtRed: null, f1AtRed: null, brier: null, calibration: null, notes: [] };
    const notes = [...m.notes, ...accuracy.notes];
    if (m.scorer && (m.pending || m.gone)) {
      notes.push(`${m.pending} scored account(s) are within their ${m.horizonDays}-day horizon (not yet evaluable)${m.gone ? `; ${m.gone} had already churned when first scored` : ""}.`);
    }
    let featurePsi: Record<string, number> | null = null;
    let maxFeaturePsi: number | null = null;
    let predictionPsi: number | null = null;
    const driftAccounts = m.drift?.accounts ?? 0;
    if (m.drift) {
      if (driftAccounts < MIN_DRIFT_ACCOUNTS) {
        notes.push(`Only ${driftAccounts} live account(s) have signals; PSI needs at least ${MIN_DRIFT_ACCOUNTS}, below which sampling noise alone reads as drift.`);
      } else {
        const drift = m.drift.result();
        featurePsi = Object.fromEntries(Object.entries(drift.features).map(([name, f]) => [name, round4(f.psi)]));
        maxFeaturePsi = Math.max(0, ...Object.values(featurePsi));
        predictionPsi = Number.isFinite(drift.prediction.psi) ? round4(drift.prediction.psi) : null;
      }
    }
    const alerts = alertsFor({ precisionAtRed: accuracy.precisionAtRed, maxFeaturePsi, predictionPsi });
    if (alerts.length && m.status !== "active") notes.push(`Alerts are sent as events for the active model only; this version is ${m.status}.`);

    const computedAt = now.toISOString();
    const insert = d
      .insert(modelPerformance)
      .values({
        modelVersion: m.version,
        computedAt,
        scoresEvaluated: accuracy.scoresEvaluated,
        positives: accuracy.positives,
        auc: accuracy.auc,
        precisionAtRed: accuracy.precisionAtRed,
        recallAtRed: accuracy.recallAtRed,
        f1AtRed: accuracy.f1AtRed,
        brier: accuracy.brier,
        calibration: accuracy.calibration,
        featurePsi,
        maxFeaturePsi,
        predictionPsi,
        alerts,
        modelStatus: m.status,
        horizonDays: m.scorer ? m.horizonDays : null,
        redThreshold: m.red,
        driftAccounts,
        notes,
      })
      .returning();
    const events = m.status === "active" ? await alertEvents(m, alerts, { accuracy, featurePsi, maxFeaturePsi, predictionPsi, driftAccounts }, now) : [];
    const [inserted] = await d.batch([insert, ...eventStatements(d, events)] as [typeof insert, ...BatchItem<"sqlite">[]]);
    if (events.length) await enqueuePendingDeliveries(env, events.map((e) => e.id));
    const performance: PerformanceEntry = inserted[0];
    results.push({ performance, events: events.map((e) => e.id) });
    console.log(`monitoring ${m.version} (${m.status}): ${accuracy.scoresEvaluated} evaluable scores, AUC ${accuracy.auc ?? "n/a"}, precision at red ${accuracy.precisionAtRed ?? "n/a"}, max feature PSI ${maxFeaturePsi ?? "n/a"}, prediction PSI ${predictionPsi ?? "n/a"}${alerts.length ? `; alerts ${alerts.join(", ")}` : ""}`);
  }
  return results;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The events for a computation's alerts, each with its figures and a retraining recommendation. */
async function alertEvents(
  m: Monitored,
  alerts: AlertType[],
  f: { accuracy: Accuracy; featurePsi: Record<string, number> | null; maxFeaturePsi: number | null; predictionPsi: number | null; driftAccounts: number },
  now: Date,
): Promise<NewEvent[]> {
  const day = now.toISOString().slice(0, 10);
  const out: NewEvent[] = [];
  for (const type of alerts) {
    let payload: Record<string, unknown>;
    if (type === "model.performance_degraded") {
      const a = f.accuracy;
      const summary = `Precision at red (p ≥ ${m.red}) fell to ${pct(a.precisionAtRed!)} on ${a.scoresEvaluated} scores older than ${m.horizonDays} days (alert below ${pct(PRECISION_ALERT)}); recall ${a.recallAtRed === null ? "n/a" : pct(a.recallAtRed)}, ROC-AUC ${a.auc?.toFixed(3) ?? "n/a"}.`;
      payload = {
        modelVersion: m.version,
        computedAt: now.toISOString(),
        summary,
        threshold: PRECISION_ALERT,
        redThreshold: m.red,
        horizonDays: m.horizonDays,
        scoresEvaluated: a.scoresEvaluated,
        positives: a.positives,
        precisionAtRed: a.precisionAtRed,
        recallAtRed: a.recallAtRed,
        f1AtRed: a.f1AtRed,
        auc: a.auc,
        brier: a.brier,
        recommendation: retrainingRecommendation(`Precision at red is ${pct(a.precisionAtRed!)}, below ${pct(PRECISION_ALERT)}: red accounts are too often false alarms. Retrain on recent outcomes.`, m.horizonDays, now),
      };
    } else {
      const drifted = Object.entries(f.featurePsi ?? {})
        .filter(([, v]) => v > PSI_ALERT)
        .sort((a, b) => b[1] - a[1])
        .map(([feature, psi]) => ({ feature, psi }));
      const what = [drifted.length ? `${drifted.length} signal(s) shifted (${drifted.slice(0, 3).map((x) => `${x.feature} PSI ${x.psi.toFixed(2)}`).join(", ")})` : null, (f.predictionPsi ?? 0) > PSI_ALERT ? `predictions shifted (PSI ${f.predictionPsi!.toFixed(2)})` : null].filter(Boolean).join("; ");
      payload = {
        modelVersion: m.version,
        computedAt: now.toISOString(),
        summary: `Drift against the training data on ${f.driftAccounts} live accounts: ${what} (alert above PSI ${PSI_ALERT}).`,
        threshold: PSI_ALERT,
        driftAccounts: f.driftAccounts,
        maxFeaturePsi: f.maxFeaturePsi,
        predictionPsi: f.predictionPsi,
        drifted: drifted.slice(0, 20),
        recommendation: retrainingRecommendation(`The portfolio no longer looks like the data ${m.version} was trained on; its probabilities and tiers may be off. Retrain on recent snapshots.`, m.horizonDays, now),
      };
    }
    out.push({ id: await eventId(m.version, type, day), type, modelVersion: m.version, payload });
  }
  return out;
}

/** Cron job: accuracy and drift of every monitored model version, and their alerts. */
export async function runDailyMonitoring(env: Env): Promise<void> {
  await runMonitoring(env);
}
