/**
 * A typed client for the Foresight API, for product apps (browsers, Node, Workers).
 *
 * Every request and response type below is read out of `paths`, which openapi-typescript generates
 * from the document the Worker serves (`client/schema.d.ts`, from `client/openapi.json`; run
 * `npm run client:generate` after changing a route). Nothing here restates a shape by hand.
 *
 * @example
 *   import { ForesightClient, ForesightError } from "foresight/client";
 *
 *   const foresight = new ForesightClient({ baseUrl: "https://foresight.example.workers.dev", apiKey: process.env.FORESIGHT_KEY! });
 *   const score = await foresight.score({ accountId: "ACME-1" }, { drivers: 3 });
 *   for await (const account of foresight.worklistAll({ tier: ["red"], owner: "dana@cs.example" })) console.log(account.id);
 */
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./schema";

export type { paths, operations } from "./schema";

type Method = "get" | "put" | "post" | "patch" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : never;
type ProblemOf<T> = T extends { content: { "application/problem+json": infer B } } ? B : never;
/** The JSON request body of an operation. */
type RequestBody<P extends keyof paths, M extends Method> = JsonOf<NonNullable<Operation<P, M>["requestBody"]>>;
/**
 * The JSON body of an operation's response with status `S` (200 unless given); never for a
 * status the operation does not answer with JSON.
 *
 * @example
 *   type Created = ResponseBody<"/v1/webhooks", "post", 201>;
 *   const score = await res.json<ResponseBody<"/v1/score", "post">>();
 */
export type ResponseBody<P extends keyof paths, M extends Method, S extends number = 200> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? JsonOf<R[S]> : never) : never;
/** The JSON body of an operation's 200 response. */
type Ok<P extends keyof paths, M extends Method> = ResponseBody<P, M, 200>;
/** An operation's query parameters. */
type Query<P extends keyof paths, M extends Method> = Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

// ---- Scoring ----
/** `POST /v1/score` body as the schema states it (both members optional; the API requires exactly one). */
export type ScoreRequestBody = RequestBody<"/v1/score", "post">;
/** Signals keyed by your own column names. */
export type Features = NonNullable<ScoreRequestBody["features"]>;
/** What to score: raw signals (nothing is stored) or a stored account (the score joins its history). */
export type ScoreInput =
  | { features: Features; accountId?: never }
  | { accountId: NonNullable<ScoreRequestBody["accountId"]>; features?: never };
export type ScoreResult = Ok<"/v1/score", "post">;
export type Driver = ScoreResult["drivers"][number];
export type RiskTier = ScoreResult["riskTier"];
/** red, yellow, green, or blue for an expansion-ready account. */
export type PortfolioTier = ScoreResult["tier"];
export type DriversOption = NonNullable<Query<"/v1/score", "post">["drivers"]>;
export type BatchScoreResponse = Ok<"/v1/score/batch", "post">;
/** One entry of a batch answer: a score, or with `partial: true` a row that could not be scored. */
export type BatchResult = BatchScoreResponse["results"][number];
export type BatchRowError = Extract<BatchResult, { index: number }>;
/** One entry of a batch answer that was scored. */
export type BatchScore = Exclude<BatchResult, BatchRowError>;

// ---- Portfolio and worklist ----
export type Portfolio = Ok<"/v1/portfolio", "get">;
type WorklistQuery = Query<"/v1/accounts", "get">;
/** Worklist filters; `tier` may also be given as a list. */
export type WorklistFilters = Omit<WorklistQuery, "tier"> & { tier?: WorklistQuery["tier"] | PortfolioTier[] };
export type WorklistSort = NonNullable<WorklistQuery["sort"]>;
export type Worklist = Ok<"/v1/accounts", "get">;
export type WorklistAccount = Worklist["accounts"][number];

// ---- Accounts ----
export type Account = Ok<"/v1/accounts/{id}", "get">;
export type AccountPut = RequestBody<"/v1/accounts/{id}", "put">;
export type AccountPatch = RequestBody<"/v1/accounts/{id}", "patch">;
export type AccountBatchRow = RequestBody<"/v1/accounts/batch", "post">["accounts"][number];
export type AccountScoresQuery = Query<"/v1/accounts/{id}/scores", "get">;
export type ScoreHistory = Ok<"/v1/accounts/{id}/scores", "get">;
export type ExpansionAnswer = Ok<"/v1/accounts/{id}/expansion", "get">;
export type UpsertResult = Ok<"/v1/accounts/batch", "post">;
export type Outcome = RequestBody<"/v1/outcomes", "post">["outcomes"][number];
export type OutcomesResult = Ok<"/v1/outcomes", "post">;

// ---- Models ----
export type ModelFilters = Query<"/v1/models", "get">;
export type ModelList = Ok<"/v1/models", "get">;
export type ModelEntry = ModelList["models"][number];
export type Activation = Ok<"/v1/models/{version}/activate", "post">;
/** `POST /v1/models/{version}/shadow`: the version is now the shadow. */
export type ShadowStart = Ok<"/v1/models/{version}/shadow", "post">;
/** `DELETE /v1/models/{version}/shadow`: the version is a candidate again. */
export type ShadowStop = Ok<"/v1/models/{version}/shadow", "delete">;
/** `GET /v1/models/{version}/comparison`: a shadow model against the active one. */
export type ModelComparison = Ok<"/v1/models/{version}/comparison", "get">;
/** `GET /v1/models/{version}/performance`: the accuracy and drift time series. */
export type ModelPerformance = Ok<"/v1/models/{version}/performance", "get">;
/** One computation of a model's accuracy and drift. */
export type PerformanceEntry = ModelPerformance["series"][number];
/** `POST /v1/models/{version}/performance/compute` (201): the new entry and the alert events it emitted. */
export type PerformanceComputed = ResponseBody<"/v1/models/{version}/performance/compute", "post", 201>;

// ---- Rescoring ----
/** `POST /v1/rescore` (202): the run just started. */
export type RescoreStarted = ResponseBody<"/v1/rescore", "post", 202>;
/** `GET /v1/rescore/{runId}`: a run's status, counts and timings. */
export type RescoreRun = Ok<"/v1/rescore/{runId}", "get">;

// ---- Webhooks ----
export type WebhookList = Ok<"/v1/webhooks", "get">;
/** An endpoint as read back or changed: the secret masked. */
export type WebhookEndpoint = Ok<"/v1/webhooks/{id}", "get">;
/** `POST /v1/webhooks` (201): the new endpoint with its secret in full, shown again only on rotation. */
export type CreatedWebhook = ResponseBody<"/v1/webhooks", "post", 201>;
/** `POST /v1/webhooks/{id}/rotate-secret`: the new secret in full. */
export type WebhookSecret = Ok<"/v1/webhooks/{id}/rotate-secret", "post">;
/** `GET /v1/webhooks/{id}/deliveries`: one page of the delivery log. */
export type DeliveryLog = Ok<"/v1/webhooks/{id}/deliveries", "get">;
export type WebhookDelivery = DeliveryLog["deliveries"][number];
/** `POST .../deliveries/{deliveryId}/redeliver` (202): the delivery as queued again. */
export type Redelivery = ResponseBody<"/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", "post", 202>;

// ---- Errors ----
/** An RFC 9457 problem as the API sends it. */
export type Problem = ProblemOf<Operation<"/v1/score", "post">["responses"][422]>;
export type FieldError = NonNullable<Problem["errors"]>[number];

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); undefined without one. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function isProblem(v: unknown): v is Problem {
  const p = v as Problem | null;
  return typeof p === "object" && p !== null && typeof p.type === "string" && typeof p.title === "string" && typeof p.status === "number";
}

/**
 * Any answer outside 2xx. Carries the problem the API sent (or one made from the status when the
 * body was not a problem, e.g. from a proxy), and for 429 (and 503) the Retry-After in seconds.
 */
export class ForesightError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly instance: string | undefined;
  /** Each field at fault, e.g. `{ field: "features.tenure", detail: "must be a number, ..." }`; empty when none were named. */
  readonly errors: FieldError[];
  /** Seconds to wait before retrying, from Retry-After. */
  readonly retryAfter: number | undefined;
  /** Quoted by the API on 500s; send it along when reporting one. */
  readonly requestId: string | undefined;
  readonly problem: Problem;

  constructor(problem: Problem, opts: { retryAfter?: number; requestId?: string } = {}) {
    const fields = problem.errors?.length ? ` (${problem.errors.map((e) => e.field).join(", ")})` : "";
    super(`${problem.status} ${problem.title}: ${problem.detail}${fields}`);
    this.name = "ForesightError";
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.instance = problem.instance;
    this.errors = problem.errors ?? [];
    this.retryAfter = opts.retryAfter;
    this.requestId = opts.requestId;
  }

  /** Builds the error from a failed response and its body (parsed JSON, or text). */
  static fromResponse(response: Response, body: unknown): ForesightError {
    const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
    if (isProblem(body)) {
      const { requestId } = body as Problem & { requestId?: unknown };
      return new ForesightError(body, { retryAfter, requestId: typeof requestId === "string" ? requestId : undefined });
    }
    const text = typeof body === "string" ? body.trim() : body === undefined ? "" : JSON.stringify(body);
    const title = response.statusText || `HTTP ${response.status}`;
    return new ForesightError(
      { type: "about:blank", title, status: response.status, detail: text ? text.slice(0, 500) : `The API answered ${response.status} without a problem body.` },
      { retryAfter },
    );
  }
}

export interface ForesightClientOptions {
  /** Where the Worker answers, e.g. `https://foresight.example.workers.dev` (a path prefix is kept). */
  baseUrl: string;
  /** A key from `npm run create-key`, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Replaces the global fetch (tests, service bindings, instrumentation). */
  fetch?: (request: Request) => Promise<Response>;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/**
 * How openapi-fetch types a response body: like the schema's, but with tuples widened to arrays
 * (its `Readable` helper maps `[number, number]` to `number[]`). Checking against this keeps each
 * method's declared result tied to the route it calls, while callers get the exact schema type.
 */
type Widened<T> = T extends readonly (infer E)[] ? Widened<E>[] : T extends object ? { [K in keyof T]: Widened<T[K]> } : T;
type Answer<D> = { data?: Widened<D>; error?: unknown; response: Response };

async function unwrap<D>(pending: Promise<Answer<NoInfer<D>>>): Promise<D> {
  const { data, error, response } = await pending;
  if (!response.ok) throw ForesightError.fromResponse(response, error);
  return data as D;
}

function worklistQuery(filters: WorklistFilters): WorklistQuery {
  const { tier, ...rest } = filters;
  return { ...rest, ...(tier === undefined ? {} : { tier: Array.isArray(tier) ? tier.join(",") : tier }) };
}

/** The Foresight API. Every method resolves to the response body, or rejects with a ForesightError. */
export class ForesightClient {
  /** The underlying openapi-fetch client, typed by `paths`, for anything the methods do not cover. */
  readonly api: Client<paths>;

  constructor(opts: ForesightClientOptions) {
    if (!opts.baseUrl) throw new TypeError("ForesightClient needs a baseUrl");
    if (!opts.apiKey) throw new TypeError("ForesightClient needs an apiKey");
    const fetcher = opts.fetch ?? ((request: Request) => globalThis.fetch(request));
    this.api = createClient<paths>({
      baseUrl: opts.baseUrl,
      fetch: (request) => fetcher(request),
      headers: { ...opts.headers, authorization: `Bearer ${opts.apiKey}` },
    });
  }

  /** `POST /v1/score`: scores raw signals (stores nothing) or a stored account (appends to its history). */
  score(input: ScoreInput, opts: { drivers?: DriversOption } = {}): Promise<ScoreResult> {
    return unwrap(this.api.POST("/v1/score", { params: { query: { drivers: opts.drivers } }, body: input }));
  }

  /**
   * `POST /v1/score/batch`: up to 1,000 rows, answered in order. All or nothing unless `partial`,
   * which scores the valid rows and puts `{index, error}` in place of each bad one (see `isRowError`).
   */
  scoreBatch(rows: ScoreInput[], opts: { partial?: boolean; drivers?: DriversOption } = {}): Promise<BatchScoreResponse> {
    const partial = opts.partial === undefined ? undefined : opts.partial ? "true" : "false";
    return unwrap(this.api.POST("/v1/score/batch", { params: { query: { partial, drivers: opts.drivers } }, body: { rows } }));
  }

  /** `GET /v1/portfolio`: accounts and ARR per tier, ARR at risk, and the change since the previous rescoring. */
  portfolio(): Promise<Portfolio> {
    return unwrap(this.api.GET("/v1/portfolio"));
  }

  /** `GET /v1/accounts`: one page of the worklist; pass `nextCursor` back as `cursor` for the next. */
  worklist(filters: WorklistFilters = {}): Promise<Worklist> {
    return unwrap(this.api.GET("/v1/accounts", { params: { query: worklistQuery(filters) } }));
  }

  /** Every worklist account matching `filters`, page after page (pages of `limit`, default 50). */
  async *worklistAll(filters: WorklistFilters = {}): AsyncGenerator<WorklistAccount, void, undefined> {
    let cursor = filters.cursor;
    do {
      const page = await this.worklist({ ...filters, cursor });
      yield* page.accounts;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** `GET /v1/accounts/{id}`: the account with its latest score. */
  account(id: string): Promise<Account> {
    return unwrap(this.api.GET("/v1/accounts/{id}", { params: { path: { id } } }));
  }

  /** `GET /v1/accounts/{id}/scores`: the account's score history, newest first. */
  accountScores(id: string, query: AccountScoresQuery = {}): Promise<ScoreHistory> {
    return unwrap(this.api.GET("/v1/accounts/{id}/scores", { params: { path: { id }, query } }));
  }

  /** `GET /v1/accounts/{id}/expansion`: whether the account is ready for an expansion offer (a `banner` key suffices). */
  expansion(id: string): Promise<ExpansionAnswer> {
    return unwrap(this.api.GET("/v1/accounts/{id}/expansion", { params: { path: { id } } }));
  }

  /** `PUT /v1/accounts/{id}`: creates or replaces the account's signals. Idempotent. */
  putAccount(id: string, body: AccountPut): Promise<Account> {
    return unwrap(this.api.PUT("/v1/accounts/{id}", { params: { path: { id } }, body }));
  }

  /** `PATCH /v1/accounts/{id}`: merges signals into the current ones (a null removes one). */
  patchAccount(id: string, body: AccountPatch): Promise<Account> {
    return unwrap(this.api.PATCH("/v1/accounts/{id}", { params: { path: { id } }, body }));
  }

  /** `POST /v1/accounts/batch`: upserts up to 1,000 accounts, all or nothing. */
  upsertAccounts(accounts: AccountBatchRow[]): Promise<UpsertResult> {
    return unwrap(this.api.POST("/v1/accounts/batch", { body: { accounts } }));
  }

  /** `POST /v1/outcomes`: records churned, renewed or expanded events (up to 1,000), all or nothing. */
  recordOutcomes(outcomes: Outcome | Outcome[]): Promise<OutcomesResult> {
    return unwrap(this.api.POST("/v1/outcomes", { body: { outcomes: Array.isArray(outcomes) ? outcomes : [outcomes] } }));
  }

  /** `GET /v1/models`: model versions with their metrics and status, newest first. */
  models(filters: ModelFilters = {}): Promise<ModelList> {
    return unwrap(this.api.GET("/v1/models", { params: { query: filters } }));
  }

  /** `POST /v1/models/{version}/activate`: promotes (or rolls back to) a version; needs an `admin` key. */
  activateModel(version: string): Promise<Activation> {
    return unwrap(this.api.POST("/v1/models/{version}/activate", { params: { path: { version } } }));
  }
}

/** True for a batch entry that could not be scored (only with `partial: true`). */
export function isRowError(result: BatchResult): result is BatchRowError {
  return "index" in result && "error" in result;
}
