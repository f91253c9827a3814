/**
 * `GET /v1/models/{version}/changelog`: the model's evolution log for one version against the one
 * before it: data, recipe, hold-out metrics (flagging a different hold-out), calibration, the top
 * signals by mean |SHAP| and how each moved, signals added or dropped, monitoring's figures while
 * it was active, and who activated it when. The log itself is `shared/db/model-history.ts`.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { createSelectSchema } from "drizzle-zod";
import type { Context } from "hono";
import { z } from "zod";
import { PREVIOUS_BASES, versionChangelog } from "../../shared/db/model-history";
import { MODEL_TARGETS, modelActivations } from "../../shared/db/schema";
import { TOP_SIGNALS } from "../../shared/model/changelog";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { PerformanceEntry } from "../monitoring/performance";
import { requireModelRow, VersionParam } from "./models";

const activation = createSelectSchema(modelActivations).shape;
const num = z.number().nullable();

const DateRange = z.object({ column: z.string(), from: z.string(), to: z.string() }).describe("The oldest and newest value of the --time column, as written in the CSV");

const DataSide = z.object({
  rows: z.number().int().nullable().describe("Labelled rows trained and measured on"),
  dateRange: DateRange.nullable().describe("Null when trained without --time"),
  sha256: z.string().nullable().describe("sha256 of the training CSV's bytes"),
  file: z.string().nullable(),
});

const Recipe = z.object({
  family: z.string().describe("logistic, gbdt, mlp, blend or scorecard"),
  name: z.string().nullable().describe("The candidate model selection shipped"),
  hyperparameters: z.record(z.string(), z.unknown()).nullable().describe("Its effective settings; null when the artifact predates recording them"),
});

const Metrics = z.object({ auc: num, prAuc: num, brier: num, logLoss: num, ece: num, intervalCoverage: num }).describe("Hold-out metrics recorded at training");

const Holdout = z.object({
  method: z.enum(["stratified", "newest"]),
  fraction: z.number(),
  seed: z.number().int(),
  timeColumn: z.string().nullable(),
  rows: z.number().int(),
  positives: z.number().int().nullable(),
  range: DateRange.nullable().optional().describe("method newest: the --time values the hold-out covers"),
  recorded: z.boolean().describe("False when derived (older artifacts): from their hold-out row count, seed and time column"),
});

const Calibration = z.object({
  method: z.string().nullable().describe("isotonic, platt or none"),
  ece: num.describe("Expected calibration error on the hold-out"),
  reliability: z.array(z.object({ from: z.number(), to: z.number(), n: z.number().int(), meanPredicted: z.number(), observed: z.number() })).nullable().describe("Reliability table on the hold-out"),
});

const Signal = z.object({
  name: z.string(),
  rank: z.number().int().describe("1 = moves scores most"),
  meanAbsShap: z.number().describe("Mean |SHAP| on the hold-out, log-odds"),
  previous: num.describe("The previous version's mean |SHAP| for it; null when it did not rank it"),
  previousRank: z.number().int().nullable(),
  rankChange: z.number().int().nullable().describe("previousRank − rank: positive when it moved up; null when not ranked before"),
});

export const Changelog = z.object({
  version: z.string(),
  target: z.enum(MODEL_TARGETS),
  previous: z.string().nullable().describe("The version compared with; null for the first of its target"),
  previousBasis: z
    .enum(PREVIOUS_BASES)
    .nullable()
    .describe("replaced: the version this one replaced at its first activation; created-before: never having replaced one, the version of its target registered just before it"),
  data: z.object({ current: DataSide, previous: DataSide.nullable(), sameData: z.boolean().nullable().describe("Same training CSV (sha256)") }),
  recipe: z.object({ current: Recipe, previous: Recipe.nullable(), changed: z.boolean().nullable() }),
  metrics: z.object({
    current: Metrics,
    previous: Metrics.nullable(),
    deltas: Metrics.nullable().describe("current − previous"),
    holdout: z.object({
      current: Holdout.nullable(),
      previous: Holdout.nullable(),
      sameDefinition: z.boolean().nullable().describe("Both hold-outs drawn the same way (method, share, seed or time column); false flags deltas across different hold-outs"),
      sameRows: z.boolean().nullable().describe("Same definition on the same data: the deltas compare the same rows"),
      note: z.string(),
    }),
  }),
  calibration: z.object({ current: Calibration, previous: Calibration.nullable() }),
  topSignals: z.array(Signal).describe(`The ${TOP_SIGNALS} signals that move this version's scores most, with how each moved`),
  signalsAdded: z.array(z.string()).describe("Signals this version uses that the previous did not"),
  signalsDropped: z.array(z.string()).describe("Signals the previous version used that this one does not"),
  monitoring: z.object({
    count: z.number().int().describe("Accuracy and drift computations made while this version was active"),
    latest: PerformanceEntry.nullable().describe("The newest of them"),
  }),
  activations: z
    .array(z.object({ at: activation.activatedAt, by: activation.activatedBy.describe("The API key id, or the CLI (publish-model, start)"), previousVersion: activation.previousVersion.describe("The version it replaced") }))
    .describe("Every activation of this version, newest first"),
  notes: z.array(z.string()),
  summary: z.string(),
});

export class ModelChangelog extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "A model version against the one before it",
    description:
      "The model's evolution log: this version's training data (rows, --time range, the CSV's sha256), recipe, hold-out metrics with the deltas (flagged when the two hold-outs were drawn differently or from other data), calibration, its top signals by mean |SHAP| with their previous rank, signals added and dropped, monitoring's figures while it was active and every activation (who and when). The previous version is the one it replaced at its first activation, else the one of its target registered just before it (`previousBasis`).",
    security: bearer,
    request: { params: VersionParam },
    responses: { "200": { description: "The changelog", ...contentJson(Changelog) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const row = await requireModelRow(c.env.DB, params.version);
    try {
      return (await versionChangelog(c.env, row.version))!;
    } catch (e) {
      throw new Problem(409, "artifact-integrity", `Cannot read ${row.version}'s artifact: ${(e as Error).message}.`, [{ field: "version", detail: "artifact missing or altered in R2" }]);
    }
  }
}
