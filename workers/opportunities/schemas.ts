/** The expansion pipeline's shapes. */
import { z } from "zod";

const Figures = { accounts: z.number().int(), arr: z.number(), expectedExpansionArr: z.number() };

export const Totals = z.object({
  ...Figures,
  byOwner: z.array(z.object({ owner: z.string().nullable(), ...Figures })).describe("Largest expected expansion first"),
  bySegment: z.array(z.object({ segment: z.string().nullable().describe("The `segment` signal; null when accounts carry none"), ...Figures })),
});
export type Totals = z.infer<typeof Totals>;

export const Opportunity = z.object({
  id: z.string(),
  name: z.string().nullable(),
  owner: z.string().nullable(),
  segment: z.string().nullable(),
  arr: z.number().nullable(),
  renewalDate: z.string().nullable(),
  expansionProbability: z.number(),
  expansionSource: z.string().nullable().describe("`model` or `scorecard`"),
  reason: z.string().nullable().describe("Why the account is expansion-ready, in a CSM's words"),
  sizeEstimate: z.number().describe("ARR × the size basis's share: the expansion if it happens"),
  sizeBasis: z.enum(["segment", "portfolio", "default"]),
  expectedExpansionArr: z.number().describe("expansionProbability × sizeEstimate"),
});

export const Opportunities = z.object({
  asOf: z.string(),
  method: z.string(),
  sizeBases: z.array(
    z.object({
      segment: z.string().describe('A segment, or "all" for the portfolio-wide basis'),
      share: z.number().describe("Median expansion amount ÷ ARR"),
      expansions: z.number().int(),
      source: z.enum(["segment", "portfolio", "default"]),
    }),
  ),
  opportunities: z.array(Opportunity).describe("Largest expected expansion ARR first, at most `limit`"),
  totals: Totals.extend({
    previous: z
      .object({ runId: z.string(), rescoredAt: z.string(), ...Figures })
      .nullable()
      .describe("The same totals from the scores of the rescoring before the latest one (today's size bases); null until two rescorings have finished"),
    change: z.object(Figures).nullable().describe("Current minus previous"),
  }),
});
