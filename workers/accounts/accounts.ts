/**
 * Account ingest and lookup: `PUT`/`PATCH`/`GET /v1/accounts/{id}` and `POST /v1/accounts/batch`.
 * Writes are idempotent by account id (and snapshot day); a batch with any bad row writes nothing.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { accounts } from "../../shared/db/schema";
import { type AccountWrite, snapshotStatements, upsertAccountStatements } from "../../shared/db/accounts";
import { db, runBatch, today } from "../../shared/db/write";
import type { FieldError } from "../../shared/model/features";
import { activeScorer } from "../scoring/model-cache";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { AccountId, bearer, Features, IsoDate, problems } from "../http/schemas";
import { Account } from "./schemas";
import { loadAccount, notFound } from "./store";
import { assertFeatures, featureErrors, latestScore } from "../scoring/scoring";

/** Maximum accounts in one batch request. */
export const MAX_BATCH = 1000;

const accountFields = {
  name: z.string().max(300).nullable().optional(),
  arr: z.number().nonnegative().nullable().optional().describe("Annual recurring revenue"),
  renewalDate: IsoDate.nullable().optional(),
  owner: z.string().max(200).nullable().optional().describe("The CSM who owns the account"),
};

export const AccountPut = z.strictObject({
  ...accountFields,
  features: Features,
  asOf: IsoDate.optional().describe("Day the signals were observed; defaults to today (UTC). One snapshot per account per day."),
});

export const AccountPatch = z.strictObject({
  ...accountFields,
  features: Features.optional().describe("Signals merged into the current ones (JSON merge patch: null removes a signal)"),
  asOf: IsoDate.optional(),
});

export const AccountBatch = z.strictObject({
  accounts: z
    .array(AccountPut.extend({ id: AccountId }))
    .min(1)
    .max(MAX_BATCH, `at most ${MAX_BATCH} accounts per batch`),
});

const IdParam = z.object({ id: AccountId });

async function accountView(env: Env, id: string) {
  const row = await loadAccount(env, id);
  if (!row) throw notFound(id, "id");
  return { ...row, score: await latestScore(env, id) };
}

function toWrite(id: string, b: z.infer<typeof AccountPut>): AccountWrite {
  return { id, name: b.name, arr: b.arr, renewalDate: b.renewalDate, owner: b.owner, features: b.features };
}

export class PutAccount extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "Create or replace an account's signals",
    description:
      "Upserts the account and replaces its current signals with `features`, recording the day's snapshot. Metadata fields you omit keep their stored values. Idempotent: sending the same body twice leaves the same state. When a model is active, signals are checked against its features.",
    security: bearer,
    request: { params: IdParam, body: contentJson(AccountPut) },
    responses: { "200": { description: "The stored account", ...contentJson(Account) }, ...problems(400, 401, 403, 413, 415, 422) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    assertFeatures(await activeScorer(c.env), body.features, "features");
    const d = db(c.env.DB);
    await runBatch(d, upsertAccountStatements(d, [toWrite(params.id, body)], body.asOf ?? today()));
    return accountView(c.env, params.id);
  }
}

export class PatchAccount extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "Merge new signals into an account",
    description: "Merges `features` into the current signals (RFC 7396: a null removes a signal) and updates any metadata sent. 404 if the account does not exist.",
    security: bearer,
    request: { params: IdParam, body: contentJson(AccountPatch) },
    responses: { "200": { description: "The updated account", ...contentJson(Account) }, ...problems(400, 401, 403, 404, 413, 415, 422) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    const patch = body.features ?? {};
    const nonNull = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null));
    assertFeatures(await activeScorer(c.env), nonNull, "features");
    const d = db(c.env.DB);
    const set: Record<string, unknown> = {
      features: sql`json_patch(${accounts.features}, ${JSON.stringify(patch)})`,
      updatedAt: new Date().toISOString(),
    };
    for (const k of ["name", "arr", "renewalDate", "owner"] as const) if (body[k] !== undefined) set[k] = body[k];
    // One statement merges atomically in SQLite, so concurrent patches never lose each other's signals.
    const [updated] = await d.batch([
      d.update(accounts).set(set).where(eq(accounts.id, params.id)).returning({ id: accounts.id }),
      ...snapshotStatements(d, [params.id], body.asOf ?? today()),
    ]);
    if (updated.length === 0) throw notFound(params.id, "id");
    return accountView(c.env, params.id);
  }
}

export class GetAccount extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "An account with its latest score",
    security: bearer,
    request: { params: IdParam },
    responses: { "200": { description: "The account", ...contentJson(Account) }, ...problems(401, 403, 404) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return accountView(c.env, params.id);
  }
}

export class BatchAccounts extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "Upsert up to 1,000 accounts at once",
    description: `All or nothing: if any row is invalid, nothing is written and \`errors[]\` names each bad row and field (e.g. \`accounts[3].features.tenure\`). Duplicate ids in one batch are refused. At most ${MAX_BATCH} accounts.`,
    security: bearer,
    request: { body: contentJson(AccountBatch) },
    responses: {
      "200": { description: "All rows were written", ...contentJson(z.object({ upserted: z.number() })) },
      ...problems(400, 401, 403, 413, 415, 422),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const scorer = await activeScorer(c.env);
    const errors: FieldError[] = [];
    const seen = new Map<string, number>();
    body.accounts.forEach((row, i) => {
      errors.push(...featureErrors(scorer, row.features, `accounts[${i}].features`));
      const first = seen.get(row.id);
      if (first !== undefined) errors.push({ field: `accounts[${i}].id`, detail: `duplicates accounts[${first}].id '${row.id}'` });
      else seen.set(row.id, i);
    });
    if (errors.length) throw invalid(`${new Set(errors.map((e) => e.field.split("]")[0])).size} row(s) are invalid; nothing was written.`, errors);
    const d = db(c.env.DB);
    const byDay = new Map<string, AccountWrite[]>();
    for (const row of body.accounts) {
      const day = row.asOf ?? today();
      byDay.set(day, [...(byDay.get(day) ?? []), toWrite(row.id, row)]);
    }
    // One D1 batch is one transaction: every row is written, or none.
    await runBatch(d, [...byDay].flatMap(([day, rows]) => upsertAccountStatements(d, rows, day)));
    return { upserted: body.accounts.length };
  }
}
