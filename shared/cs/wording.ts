/**
 * Scores in a CSM's words: each driver as a phrase ("month-to-month contract raises risk") and
 * the next action for the account's top risk driver. The models in `shared/model` give numbers
 * only; the words live here so that the API, the stored drivers and reports share one wording.
 */
import type { RawValue } from "../model/features";
import { type Driver, type Score, type Scorer, topRiskDriver } from "../model/scorer";
import { recogniseSignal, SIGNAL_PRIORS } from "./signals";

/** A driver as the API returns and D1 stores it: the numbers plus a phrase. */
export interface WordedDriver extends Pick<Driver, "feature" | "value" | "contribution" | "effect"> {
  /** The driver in words, e.g. "month-to-month contract raises risk". */
  phrase: string;
}

/** A score as the API returns it: worded drivers and the next action. */
export type WordedScore = Omit<Score, "drivers" | "topRisk" | "explained"> & {
  drivers: WordedDriver[];
  /** What a CSM should do next, from the driver that raises risk the most; null when drivers were skipped. */
  nextAction: string | null;
};

/**
 * A column name in lowercase words.
 *
 * @example
 *   humanize("PaymentMethod"); // "payment method"
 *   humanize("logins_30d");    // "logins 30d"
 */
export function humanize(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\s]+/g, " ")
    .trim()
    .toLowerCase();
}

/**
 * A driver in words.
 *
 * @example
 *   phrase({ feature: "Contract", kind: "categorical", value: "Month-to-month", contribution: 0.6, effect: "raises risk", imputed: false });
 *   // "month-to-month contract raises risk"
 */
export function phrase(d: Driver): string {
  const name = humanize(d.feature);
  if (d.imputed) return `${name} is missing, which ${d.effect} in this model`;
  if (d.kind === "categorical") return `${String(d.value).toLowerCase()} ${name} ${d.effect}`;
  if (d.kind === "boolean") return `${name}: ${String(d.value).toLowerCase()} ${d.effect}`;
  return `${name} of ${d.value} ${d.effect}`;
}

// Key order is the JSON's: drivers are stored and returned as built here.
function worded(d: Driver): WordedDriver {
  return { feature: d.feature, value: d.value, contribution: d.contribution, effect: d.effect, phrase: phrase(d) };
}

function actionFor(top: Pick<WordedDriver, "feature" | "phrase"> | null): string {
  if (!top) return "No risk driver stands out: keep the regular cadence and look for expansion";
  const signal = recogniseSignal(top.feature);
  return signal ? SIGNAL_PRIORS[signal].action : `Review ${top.feature} with the account owner: ${top.phrase}`;
}

/**
 * The recommended next action, in CS terms, for an account's top risk driver: the driver that
 * raises risk the most. Works for any model's drivers, stored ones too; columns the scorecard
 * does not know get a generic review, and an account with nothing raising its risk gets none.
 *
 * @example
 *   nextAction(scoreInWords(scorer, account).drivers);
 *   // "Escalate open tickets with support and schedule a health call"
 */
export function nextAction(drivers: readonly Pick<WordedDriver, "feature" | "contribution" | "phrase">[]): string {
  return actionFor(topRiskDriver(drivers));
}

/**
 * `scorer.score(features, maxDrivers)` in words. The next action comes from the top risk driver
 * among all drivers, not only the `maxDrivers` returned; with `maxDrivers` 0 it is null.
 *
 * @example
 *   const s = scoreInWords(scorer, { tenure: 1, Contract: "Month-to-month" }, 3);
 *   s.drivers[0].phrase; // "month-to-month contract raises risk"
 *   s.nextAction;        // "Review Contract with the account owner: month-to-month contract raises risk"
 */
export function scoreInWords(scorer: Scorer, features: Record<string, RawValue>, maxDrivers = 10): WordedScore {
  const s = scorer.score(features, maxDrivers);
  // Field by field, in the order the API has always sent them (it spreads this object).
  return {
    churnProbability: s.churnProbability,
    interval: s.interval,
    confidence: s.confidence,
    riskTier: s.riskTier,
    drivers: s.drivers.map(worded),
    imputed: s.imputed,
    unseenLevels: s.unseenLevels,
    baseValue: s.baseValue,
    margin: s.margin,
    driversMethod: s.driversMethod,
    nextAction: s.explained ? actionFor(s.topRisk && worded(s.topRisk)) : null,
    modelVersion: s.modelVersion,
  };
}
