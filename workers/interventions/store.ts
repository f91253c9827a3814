/**
 * Reading interventions with the playbook version each runs, and resolving the playbook version a
 * new one starts with. Playbook versions are never deleted (retiring a playbook stamps `retiredAt`
 * on every version), so an intervention's version stays readable however the playbook is edited.
 */
import { and, desc, eq, type SQL } from "drizzle-orm";
import { accounts, interventions, playbooks } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import type { FieldError } from "../../shared/model/features";
import { Problem } from "../http/problem";
import { type PlaybookRow, playbookVersions } from "../playbooks/store";
import { interventionSteps } from "./policy";
import type { Intervention } from "./schemas";

export type InterventionRow = typeof interventions.$inferSelect;

/** The intervention as the API shows it. */
export function toIntervention(iv: InterventionRow, pb: PlaybookRow, accountName: string | null): Intervention {
  return {
    id: iv.id,
    accountId: iv.accountId,
    accountName,
    owner: iv.owner,
    startedAt: iv.startedAt,
    notes: iv.notes,
    status: iv.status,
    result: iv.result,
    resultNote: iv.resultNote,
    closedAt: iv.closedAt,
    createdAt: iv.createdAt,
    updatedAt: iv.updatedAt,
    playbook: { id: pb.id, version: pb.version, name: pb.name, tier: pb.tier },
    steps: interventionSteps(pb.steps, iv.stepsDone, iv.startedAt),
  };
}

/** Interventions matching `where`, each with its playbook version and account name, newest first. */
export async function loadInterventions(env: Env, where: SQL | undefined): Promise<{ iv: InterventionRow; pb: PlaybookRow; accountName: string | null }[]> {
  return db(env.DB)
    .select({ iv: interventions, pb: playbooks, accountName: accounts.name })
    .from(interventions)
    .innerJoin(playbooks, and(eq(playbooks.id, interventions.playbookId), eq(playbooks.version, interventions.playbookVersion)))
    .leftJoin(accounts, eq(accounts.id, interventions.accountId))
    .where(where)
    .orderBy(desc(interventions.startedAt), desc(interventions.createdAt), desc(interventions.id));
}

/** The intervention with its playbook version, or a 404 naming `id`. */
export async function loadIntervention(env: Env, id: string) {
  const [found] = await loadInterventions(env, eq(interventions.id, id));
  if (!found) throw new Problem(404, "intervention-not-found", `No intervention '${id}'.`, [{ field: "id", detail: "no such intervention" }]);
  return found;
}

/**
 * The playbook version a new intervention runs: `version` when given, else the playbook's current
 * one (its newest version, unless the playbook is retired). Problems name `playbookId` or
 * `playbookVersion`.
 */
export async function resolvePlaybook(env: Env, id: string, version: number | undefined): Promise<{ playbook?: PlaybookRow; error?: FieldError }> {
  // Through the playbooks' store, so the default playbooks exist on a fresh installation.
  const versions = (await playbookVersions(env, id)).slice().reverse();
  if (versions.length === 0) return { error: { field: "playbookId", detail: `no playbook '${id}'` } };
  if (version !== undefined) {
    const playbook = versions.find((v) => v.version === version);
    return playbook ? { playbook } : { error: { field: "playbookVersion", detail: `playbook '${id}' has no version ${version} (its versions are 1 to ${versions[0].version})` } };
  }
  const current = versions.find((v) => v.retiredAt === null);
  return current ? { playbook: current } : { error: { field: "playbookId", detail: `playbook '${id}' is retired; name a playbookVersion to record an intervention that ran it` } };
}
