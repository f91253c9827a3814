/**
 * The statistics of the holdout, pure: what one arm's assignments add up to, the uplift
 * (control churn rate − treated churn rate) with its 95% interval, the relative improvement, and
 * the accounts needed to detect an effect. No D1 here: the route sums the rows in SQL and the
 * coverage simulation (test/workers/impact/coverage.node.test.ts) sums its own, and both call
 * `estimateUplift` on the sums.
 *
 * Methods (README "Impact"):
 * - `cupac`: each account's churn y is adjusted by its predicted churn probability at assignment
 *   x, y − θ(x − x̄), with θ the slope of y on x pooled within the two arms (the ANCOVA slope, so
 *   the treatment effect does not leak into it). Randomisation makes x̄ equal in expectation in
 *   both arms, so the adjustment moves the estimate by noise only, never by bias, and removes the
 *   share ρ² of the variance that the prediction explains. Wald interval on the adjusted variance.
 * - `newcombe`: the unadjusted difference with Newcombe's hybrid score interval (Wilson intervals
 *   per arm), for arms too small for a Wald interval or without a usable covariate.
 * The relative improvement (uplift ÷ control rate) gets a delta-method interval in both cases.
 */
import { wilson } from "../../shared/model/calibration";

/** z for a two-sided 95% interval and α = 0.05, and for 80% power. */
export const Z_95 = 1.959963984540054;
export const Z_POWER_80 = 0.8416212335729143;

/** Fewer accounts or churns than this in an arm: no estimate, no interval, reasons given. */
export const MIN_ACCOUNTS_PER_ARM = 10;
export const MIN_CHURNS_PER_ARM = 1;
/**
 * The Wald interval of `cupac` needs roughly normal arm means: this many churns and non-churns per
 * arm, else `newcombe` (whose score interval holds up in small arms). 10 rather than the textbook 5:
 * per-playbook and per-owner blocks with a dozen control accounts made false claims at 5 on the demo.
 */
export const MIN_EVENTS_FOR_WALD = 10;

/** Days after an assignment into red within which a yellow or green score counts as a transition. */
export const TRANSITION_DAYS = [30, 60, 90] as const;
/** What power is sized for when the observed effect cannot be used: the brief's 25% relative cut in churn. */
export const TARGET_RELATIVE_IMPROVEMENT = 0.25;

export const METHODS = ["cupac", "newcombe"] as const;
export type Method = (typeof METHODS)[number];

/**
 * What one arm's assignments add up to. `x` is the churn probability at assignment, known for
 * `nx` of the `n` accounts; `yMissingX` counts the churns among the others.
 */
export interface ArmSums {
  n: number;
  churned: number;
  arr: number;
  nx: number;
  sx: number;
  sxx: number;
  sxy: number;
  yMissingX: number;
}

export const emptyArm = (): ArmSums => ({ n: 0, churned: 0, arr: 0, nx: 0, sx: 0, sxx: 0, sxy: 0, yMissingX: 0 });

/** `a + b`, field by field. */
export function addArms(a: ArmSums, b: ArmSums): ArmSums {
  return {
    n: a.n + b.n,
    churned: a.churned + b.churned,
    arr: a.arr + b.arr,
    nx: a.nx + b.nx,
    sx: a.sx + b.sx,
    sxx: a.sxx + b.sxx,
    sxy: a.sxy + b.sxy,
    yMissingX: a.yMissingX + b.yMissingX,
  };
}

/**
 * The sums of a list of accounts (what the route's SQL computes with `sum(...)`).
 *
 * @example
 *   armSums([{ churned: true, x: 0.8, arr: 1000 }, { churned: false, x: null, arr: 500 }]); // n 2, churned 1, nx 1, ...
 */
export function armSums(rows: readonly { churned: boolean; x: number | null; arr?: number | null }[]): ArmSums {
  const s = emptyArm();
  for (const r of rows) {
    const y = r.churned ? 1 : 0;
    s.n++;
    s.churned += y;
    s.arr += r.arr ?? 0;
    if (r.x === null) s.yMissingX += y;
    else {
      s.nx++;
      s.sx += r.x;
      s.sxx += r.x * r.x;
      s.sxy += r.x * y;
    }
  }
  return s;
}

/** An arm's means and centred sums of squares, the covariate filled with `fill` where unknown. */
interface Moments {
  n: number;
  y: number;
  x: number;
  syy: number;
  sxx: number;
  sxy: number;
}

function moments(a: ArmSums, fill: number): Moments {
  const missing = a.n - a.nx;
  const sx = a.sx + missing * fill;
  const sxx = a.sxx + missing * fill * fill;
  const sxy = a.sxy + fill * a.yMissingX;
  const y = a.churned / a.n;
  const x = sx / a.n;
  return { n: a.n, y, x, syy: a.churned - a.n * y * y, sxx: Math.max(0, sxx - a.n * x * x), sxy: sxy - a.n * x * y };
}

export interface Estimate {
  method: Method;
  /** Control churn rate − treated churn rate (adjusted under `cupac`). */
  uplift: number;
  ci95: [number, number];
  /** uplift ÷ the control churn rate (adjusted under `cupac`), e.g. 0.25 for the brief's "25% improvement". */
  relativeImprovement: number | null;
  relativeCi95: [number, number] | null;
  /** The pooled within-arm slope of churn on the churn probability at assignment; null under `newcombe`. */
  theta: number | null;
  /** 1 − adjusted variance ÷ unadjusted variance of the uplift; null under `newcombe`. */
  varianceReduction: number | null;
  /** Per-account variance in each arm as the method sees it (for sample sizes). */
  variance: { control: number; treated: number };
}

export interface EstimateOptions {
  /** false forces `newcombe` (the unadjusted interval), e.g. to compare widths. */
  adjust?: boolean;
}

/** Why the arms are too small for any estimate (empty when they are not). */
export function tooFew(control: ArmSums, treated: ArmSums): string[] {
  const reasons: string[] = [];
  for (const [name, a] of [["control", control], ["treated", treated]] as const) {
    if (a.n < MIN_ACCOUNTS_PER_ARM) reasons.push(`${a.n} ${name} account${a.n === 1 ? "" : "s"} with a closed outcome window (at least ${MIN_ACCOUNTS_PER_ARM} are needed)`);
    else if (a.churned < MIN_CHURNS_PER_ARM) reasons.push(`no churn among the ${a.n} ${name} accounts yet (at least ${MIN_CHURNS_PER_ARM} is needed)`);
  }
  return reasons;
}

/** Whether the covariate can adjust these arms: known for some accounts, varying, and the arms large enough for Wald. */
function canAdjust(control: ArmSums, treated: ArmSums): boolean {
  const big = (a: ArmSums) => a.churned >= MIN_EVENTS_FOR_WALD && a.n - a.churned >= MIN_EVENTS_FOR_WALD && a.nx >= MIN_ACCOUNTS_PER_ARM;
  return big(control) && big(treated);
}

/**
 * The uplift of treated over control with its 95% interval, or null when `tooFew` says so.
 *
 * @example
 *   const e = estimateUplift(armSums(controlRows), armSums(treatedRows));
 *   if (e && e.ci95[0] > 0) console.log(`churn cut by ${e.uplift} (95% CI ${e.ci95})`);
 */
export function estimateUplift(control: ArmSums, treated: ArmSums, options: EstimateOptions = {}): Estimate | null {
  if (tooFew(control, treated).length) return null;
  const nxAll = control.nx + treated.nx;
  const fill = nxAll ? (control.sx + treated.sx) / nxAll : 0;
  const c = moments(control, fill);
  const t = moments(treated, fill);
  const sxxPooled = c.sxx + t.sxx;
  const adjust = options.adjust !== false && canAdjust(control, treated) && sxxPooled > 1e-12;
  const theta = adjust ? (c.sxy + t.sxy) / sxxPooled : 0;
  // Sample (co)variances per account.
  const cov = (m: Moments) => ({ yy: m.syy / (m.n - 1), xx: m.sxx / (m.n - 1), xy: m.sxy / (m.n - 1) });
  const vc = cov(c);
  const vt = cov(t);
  const residual = (v: ReturnType<typeof cov>) => Math.max(0, v.yy - 2 * theta * v.xy + theta * theta * v.xx);

  // The control rate adjusted to the pooled covariate mean; the uplift does not depend on that choice.
  const wTreated = t.n / (c.n + t.n);
  const controlRate = c.y - theta * wTreated * (c.x - t.x);
  const uplift = c.y - t.y - theta * (c.x - t.x);

  let ci95: [number, number];
  let variance: Estimate["variance"];
  let varianceReduction: number | null = null;
  if (adjust) {
    variance = { control: residual(vc), treated: residual(vt) };
    const se = Math.sqrt(variance.control / c.n + variance.treated / t.n);
    ci95 = [uplift - Z_95 * se, uplift + Z_95 * se];
    const raw = vc.yy / c.n + vt.yy / t.n;
    varianceReduction = raw > 0 ? 1 - (se * se) / raw : null;
  } else {
    variance = { control: c.y * (1 - c.y), treated: t.y * (1 - t.y) };
    ci95 = newcombe(control.churned, control.n, treated.churned, treated.n);
  }

  // R = uplift / controlRate = 1 − m_t / m_c. Delta method on log(m_t / m_c) over (ȳc, x̄c, ȳt, x̄t),
  // arms independent, θ held fixed; the log scale keeps the interval's skew (a ratio of rates is
  // far from normal when the arms are small).
  let relativeImprovement: number | null = null;
  let relativeCi95: [number, number] | null = null;
  const treatedRate = controlRate - uplift;
  if (controlRate > 0 && treatedRate > 0) {
    const mc = controlRate;
    const mt = treatedRate;
    const wControl = 1 - wTreated;
    const gx = theta * (wControl / mt + wTreated / mc);
    const quad = (gy: number, gxArm: number, v: ReturnType<typeof cov>, n: number) => (gy * gy * v.yy + 2 * gy * gxArm * v.xy + gxArm * gxArm * v.xx) / n;
    // Unadjusted, the binomial variance p(1 − p) matches Newcombe's view of the arms.
    const vcR = adjust ? vc : { yy: variance.control, xx: 0, xy: 0 };
    const vtR = adjust ? vt : { yy: variance.treated, xx: 0, xy: 0 };
    const se = Math.sqrt(quad(-1 / mc, gx, vcR, c.n) + quad(1 / mt, -gx, vtR, t.n));
    const logRatio = Math.log(mt / mc);
    relativeImprovement = uplift / mc;
    relativeCi95 = [1 - Math.exp(logRatio + Z_95 * se), 1 - Math.exp(logRatio - Z_95 * se)];
  }
  return { method: adjust ? "cupac" : "newcombe", uplift, ci95, relativeImprovement, relativeCi95, theta: adjust ? theta : null, varianceReduction, variance };
}

/**
 * Newcombe's hybrid score interval (his method 10) for p1 − p2, from Wilson intervals per arm.
 *
 * @example
 *   newcombe(30, 100, 22, 100); // ≈ [-0.04, 0.20]
 */
export function newcombe(k1: number, n1: number, k2: number, n2: number, z = Z_95): [number, number] {
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const [l1, u1] = wilson(k1, n1, z);
  const [l2, u2] = wilson(k2, n2, z);
  const d = p1 - p2;
  return [d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)];
}

/**
 * Accounts per arm needed to detect an uplift `effect` with a two-sided test at α = 0.05 and 80%
 * power, the arms split as `controlShare` : 1 − `controlShare`, each account contributing the
 * per-arm variance given (p(1 − p) unadjusted; smaller when the covariate explains some of it).
 * The unpooled normal approximation: N = (z₀.₉₇₅ + z₀.₈)² (v_c / s + v_t / (1 − s)) / effect².
 *
 * @example
 *   // 30% → 22.5% churn with a 10% holdout: about 320 control and 2,881 treated accounts.
 *   accountsNeeded(0.075, { control: 0.3 * 0.7, treated: 0.225 * 0.775 }, 0.1);
 */
export function accountsNeeded(effect: number, variance: { control: number; treated: number }, controlShare: number): { control: number; treated: number } | null {
  if (!(effect > 0) || !(controlShare > 0 && controlShare < 1)) return null;
  const total = ((Z_95 + Z_POWER_80) ** 2 * (variance.control / controlShare + variance.treated / (1 - controlShare))) / (effect * effect);
  return { control: Math.ceil(total * controlShare), treated: Math.ceil(total * (1 - controlShare)) };
}
