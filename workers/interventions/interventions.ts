/**
 * Interventions: `POST /v1/interventions` starts a playbook on an account (its version fixed then),
 * `PATCH /v1/interventions/{id}` records steps done, the status and the result,
 * `GET /v1/interventions/{id}` and `GET /v1/accounts/{id}/interventions` read them. Creating and
 * each PATCH count as a use by the intervention's owner (`owner_usage`) in the same transaction.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { interventions } from "../../shared/db/schema";
import { db, toD1 } from "../../shared/db/write";
import type { FieldError } from "../../shared/model/features";
import { loadAccount, notFound } from "../accounts/store";
import { countUseIfChangedStatement, countUseStatement } from "../adoption/usage";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { AccountId, bearer, problems } from "../http/schemas";
import { closedAtAfter, mergeStepsDone } from "./policy";
import { Intervention, InterventionCreate, InterventionIdParam, InterventionList, InterventionPatch, normaliseDateOrTime } from "./schemas";
import { loadIntervention, loadInterventions, resolvePlaybook, toIntervention } from "./store";

/** Attempts at a PATCH when concurrent edits keep winning the race. */
const PATCH_ATTEMPTS = 5;

function newId(): string {
  return `iv_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`;
}

export class CreateIntervention extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Interventions"],
    summary: "Start a playbook on an account",
    description:
      "Records a CSM running a playbook on an account. The playbook version is fixed now (default: the playbook's current version), so later edits to the playbook do not change this intervention's steps. Each step is due on startedAt's day + its dueDays. An unknown account or playbook (or version) is a 422 naming the field, and nothing is written. Counts as a use of predictive insights by the owner.",
    security: bearer,
    request: { body: contentJson(InterventionCreate) },
    responses: { "201": { description: "The stored intervention, status open", ...contentJson(Intervention) }, ...problems(400, 401, 403, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const [account, { playbook, error }] = await Promise.all([loadAccount(c.env, body.accountId), resolvePlaybook(c.env, body.playbookId, body.playbookVersion)]);
    const errors: FieldError[] = [];
    if (!account) errors.push({ field: "accountId", detail: `no account '${body.accountId}'` });
    if (error) errors.push(error);
    const owner = body.owner ?? account?.owner ?? null;
    if (account && !owner) errors.push({ field: "owner", detail: "the account has no owner: name the CSM running the intervention" });
    if (errors.length || !account || !playbook || !owner) throw invalid("The intervention cannot be recorded; nothing was written.", errors);

    const stamp = new Date().toISOString();
    const row = {
      id: newId(),
      accountId: account.id,
      playbookId: playbook.id,
      playbookVersion: playbook.version,
      owner,
      startedAt: body.startedAt ? normaliseDateOrTime(body.startedAt) : stamp,
      notes: body.notes ?? null,
      status: "open" as const,
      stepsDone: [],
      result: null,
      resultNote: null,
      closedAt: null,
      createdAt: stamp,
      updatedAt: stamp,
    };
    const d = db(c.env.DB);
    await d.batch([d.insert(interventions).values(row), countUseStatement(d, owner, "intervention")]);
    return c.json(toIntervention(row, playbook, account.name), 201);
  }
}

export class PatchIntervention extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Interventions"],
    summary: "Record steps done, the status and the result of an intervention",
    description:
      "`stepsDone: [{step, doneAt?, note?}]` merges into the steps already done by step index (0 is the first step of the intervention's playbook version; doneAt defaults to now, and a step marked again keeps its first doneAt unless a new one is sent). `status` completed or cancelled closes it and sets closedAt; open reopens it. `result` is retained, expanded, churned or no_change. A step index outside the version's steps is a 422 naming it, and nothing is written. Each PATCH counts as a use by the intervention's owner.",
    security: bearer,
    request: { params: z.object({ id: InterventionIdParam }), body: contentJson(InterventionPatch) },
    responses: { "200": { description: "The intervention as changed", ...contentJson(Intervention) }, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    if (Object.values(body).every((v) => v === undefined)) {
      throw invalid("Send at least one of stepsDone, status, result, resultNote or notes.", [{ field: "body", detail: "no field to change" }]);
    }
    const edits = (body.stepsDone ?? []).map((s) => ({ ...s, doneAt: s.doneAt === undefined ? undefined : normaliseDateOrTime(s.doneAt) }));
    const d = db(c.env.DB);
    // Read, merge, and write only if nobody wrote in between (updatedAt unchanged); else read again.
    for (let attempt = 0; attempt < PATCH_ATTEMPTS; attempt++) {
      const { iv, pb, accountName } = await loadIntervention(c.env, params.id);
      const now = new Date().toISOString();
      const { stepsDone, errors } = mergeStepsDone(iv.stepsDone, edits, pb.steps.length, now);
      if (errors.length) throw invalid("Steps outside the intervention's playbook version; nothing was written.", errors);
      const status = body.status ?? iv.status;
      // Strictly later than the version read, so the guard below tells every write apart.
      const updatedAt = now > iv.updatedAt ? now : new Date(Date.parse(iv.updatedAt) + 1).toISOString();
      const next = {
        stepsDone,
        status,
        closedAt: body.status === undefined ? iv.closedAt : closedAtAfter(iv.status, status, iv.closedAt, now),
        result: body.result ?? iv.result,
        resultNote: body.resultNote === undefined ? iv.resultNote : body.resultNote,
        notes: body.notes === undefined ? iv.notes : body.notes,
        updatedAt,
      };
      const guarded = d.update(interventions).set(next).where(and(eq(interventions.id, iv.id), eq(interventions.updatedAt, iv.updatedAt))).returning({ id: interventions.id });
      const [written] = await c.env.DB.batch([...toD1(c.env.DB, [guarded]), countUseIfChangedStatement(c.env.DB, iv.owner, "intervention")]);
      if (written.results.length) return toIntervention({ ...iv, ...next }, pb, accountName);
    }
    throw new Problem(409, "edit-conflict", `Intervention '${params.id}' kept changing while this PATCH was applied; send it again.`, [{ field: "id", detail: "concurrent edits" }]);
  }
}

export class GetIntervention extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Interventions"],
    summary: "One intervention with its steps",
    security: bearer,
    request: { params: z.object({ id: InterventionIdParam }) },
    responses: { "200": { description: "The intervention", ...contentJson(Intervention) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const { iv, pb, accountName } = await loadIntervention(c.env, params.id);
    return toIntervention(iv, pb, accountName);
  }
}

export class AccountInterventions extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Interventions"],
    summary: "An account's interventions, newest first",
    security: bearer,
    request: { params: z.object({ id: AccountId }) },
    responses: { "200": { description: "Every intervention on the account, newest startedAt first", ...contentJson(InterventionList) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const [account, rows] = await Promise.all([loadAccount(c.env, params.id), loadInterventions(c.env, eq(interventions.accountId, params.id))]);
    if (!account) throw notFound(params.id, "id");
    return { interventions: rows.map((r) => toIntervention(r.iv, r.pb, r.accountName)) };
  }
}
