/**
 * The active model, per isolate: its D1 pointer is re-read at most every few seconds, and its
 * artifact is fetched from R2 once per version, checked against the registered sha256 and kept.
 * An artifact that fails the check is refused and the previously loaded model keeps serving.
 */
import type { ActiveModels } from "../../shared/cs/assess";
import { Scorer } from "../../shared/model/scorer";
import { type ActiveModelRow, activeModelRow, fetchArtifact, fetchTrajectoryArtifact } from "../../shared/db/registry";
import { TrajectoryModel } from "../../shared/model/trajectory";
import type { ModelTarget } from "../../shared/db/schema";
import { Problem } from "../http/problem";

/** A loaded model of any format, with the version it was built from. */
interface Loaded {
  readonly artifact: { readonly version: string };
}

interface Slot<M extends Loaded> {
  model?: M;
  pointerCheckedAt: number;
  refused: Set<string>;
}

const slots = new Map<string, Slot<Loaded>>();

/** Milliseconds the last R2 load took, for the cold-start figure in the benchmarks. */
export let lastLoadMs = 0;

/** Drops the cached pointer so the next call re-reads D1 (after an activation). */
export function invalidateActiveModel(target: ModelTarget = "churn"): void {
  const slot = slots.get(target);
  if (slot) slot.pointerCheckedAt = 0;
}

async function refresh<M extends Loaded>(env: Env, slot: Slot<M>, target: ModelTarget, load: (row: ActiveModelRow) => Promise<M>): Promise<M | undefined> {
  const row = await activeModelRow(env.DB, target);
  slot.pointerCheckedAt = Date.now();
  if (!row || row.version === slot.model?.artifact.version || slot.refused.has(`${row.version}:${row.sha256}`)) return slot.model;
  const started = Date.now();
  try {
    slot.model = await load(row);
    lastLoadMs = Date.now() - started;
  } catch (err) {
    slot.refused.add(`${row.version}:${row.sha256}`);
    console.error(`refusing model ${row.version}; ${slot.model ? `still serving ${slot.model.artifact.version}` : "no model to serve"}:`, err);
  }
  return slot.model;
}

/**
 * The active model of a target, loaded by `load`, or undefined when none was ever usable.
 *
 * No promise is shared between requests: in workerd a request must not await I/O started by
 * another request (it can hang until the runtime cancels it). Instead the first request to find
 * the pointer stale claims the refresh by stamping the check time, and concurrent requests keep
 * serving the loaded model meanwhile; only before any model is loaded does each request load
 * its own.
 */
async function active<M extends Loaded>(env: Env, target: ModelTarget, load: (row: ActiveModelRow) => Promise<M>): Promise<M | undefined> {
  let slot = slots.get(target) as Slot<M> | undefined;
  if (!slot) {
    slot = { pointerCheckedAt: 0, refused: new Set() };
    slots.set(target, slot);
  }
  const ttl = Number(env.MODEL_POINTER_TTL_MS ?? 5000);
  // "No model" is cached for the TTL too, so a target without a model (expansion, before any
  // expansion labels) costs no D1 read per request.
  if (slot.pointerCheckedAt > 0 && Date.now() - slot.pointerCheckedAt < ttl) return slot.model;
  if (slot.model) slot.pointerCheckedAt = Date.now();
  return refresh(env, slot, target, load);
}

/** The churn or expansion scorer to use now, or undefined when no model was ever usable. */
export async function activeScorer(env: Env, target: "churn" | "expansion" = "churn"): Promise<Scorer | undefined> {
  return active(env, target, async (row) => new Scorer(await fetchArtifact(env, row)));
}

/** The active trajectory model, or undefined (trajectories then follow each account's own trend). */
export async function activeTrajectoryModel(env: Env): Promise<TrajectoryModel | undefined> {
  return active(env, "trajectory", async (row) => new TrajectoryModel(await fetchTrajectoryArtifact(env, row)));
}

/** Like `activeScorer`, but a 503 problem when there is no model yet. */
export async function requireScorer(env: Env, target: "churn" | "expansion" = "churn"): Promise<Scorer> {
  const scorer = await activeScorer(env, target);
  if (!scorer) {
    throw new Problem(503, "no-active-model", "No model is active yet. Train one with `npm run train` and publish it with `npm run publish-model -- --activate`.");
  }
  return scorer;
}

/** The active churn model (503 without one) and the active expansion model, if any. */
export async function requireModels(env: Env): Promise<ActiveModels> {
  const [churn, expansion] = await Promise.all([requireScorer(env, "churn"), activeScorer(env, "expansion")]);
  return { churn, expansion };
}

const byVersion = new Map<string, Scorer>();

/**
 * A specific registered version (a rescoring run's model, a shadow model), loaded from R2 once
 * per isolate and checked against its registered sha256. Throws if it is missing or altered.
 */
export async function scorerForVersion(env: Env, version: string): Promise<Scorer> {
  const hit = byVersion.get(version) ?? [...slots.values()].map((s) => s.model).find((m): m is Scorer => m instanceof Scorer && m.artifact.version === version);
  if (hit) return hit;
  const row = await env.DB.prepare("SELECT version, r2_key AS r2Key, sha256 FROM models WHERE version = ?1").bind(version).first<ActiveModelRow>();
  if (!row) throw new Error(`model ${version} is not registered`);
  const scorer = new Scorer(await fetchArtifact(env, row));
  if (byVersion.size > 20) byVersion.clear();
  byVersion.set(version, scorer);
  return scorer;
}
