/**
 * The evaluation report: one self-contained HTML file (inline SVG, no scripts, no network) with
 * ROC, precision-recall, calibration and cumulative-gains charts, feature importance, precision
 * and recall per tier, the confusion matrix at the tier thresholds and, when asked for, the model
 * history (each version against the one before it).
 */
import type { Changelog } from "../shared/db/model-history";
import { COMPARED_METRICS, describeHoldout } from "../shared/model/changelog";

/** One version's entry in a model history: its changelog, or why it could not be read. */
export type HistoryEntry = Changelog | { version: string; error: string };

export interface CurvePoint {
  x: number;
  y: number;
}

/** ROC curve points (false-positive rate, true-positive rate), thinned to at most `max`. */
export function rocCurve(y: ArrayLike<number>, p: ArrayLike<number>, max = 200): CurvePoint[] {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  const pos = Array.from(y).reduce((a, v) => a + v, 0);
  const neg = y.length - pos;
  const pts: CurvePoint[] = [{ x: 0, y: 0 }];
  let tp = 0;
  let fp = 0;
  order.forEach((i, k) => {
    if (y[i] === 1) tp++;
    else fp++;
    if (k === order.length - 1 || p[order[k + 1]] !== p[i]) pts.push({ x: fp / neg, y: tp / pos });
  });
  return thin(pts, max);
}

/** Precision-recall points (recall, precision). */
export function prCurve(y: ArrayLike<number>, p: ArrayLike<number>, max = 200): CurvePoint[] {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  const pos = Array.from(y).reduce((a, v) => a + v, 0);
  const pts: CurvePoint[] = [];
  let tp = 0;
  order.forEach((i, k) => {
    if (y[i] === 1) tp++;
    if (k === order.length - 1 || p[order[k + 1]] !== p[i]) pts.push({ x: tp / pos, y: tp / (k + 1) });
  });
  return thin(pts, max);
}

/** Cumulative gains: share of accounts contacted (riskiest first) vs share of churners reached. */
export function gainsCurve(y: ArrayLike<number>, p: ArrayLike<number>, max = 200): CurvePoint[] {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  const pos = Array.from(y).reduce((a, v) => a + v, 0);
  const pts: CurvePoint[] = [{ x: 0, y: 0 }];
  let tp = 0;
  order.forEach((i, k) => {
    if (y[i] === 1) tp++;
    pts.push({ x: (k + 1) / order.length, y: tp / pos });
  });
  return thin(pts, max);
}

function thin(pts: CurvePoint[], max: number): CurvePoint[] {
  if (pts.length <= max) return pts;
  const step = (pts.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, k) => pts[Math.round(k * step)]);
}

/** Confusion matrix when everything at or above `threshold` is flagged as churn. */
export function confusion(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number) {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (let i = 0; i < y.length; i++) {
    const flagged = p[i] >= threshold;
    if (flagged && y[i] === 1) tp++;
    else if (flagged) fp++;
    else if (y[i] === 1) fn++;
    else tn++;
  }
  return { threshold, tp, fp, fn, tn };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "—");
const num = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "—");

/** A line chart on the unit square; `diagonal` draws the chance line. */
function chart(title: string, xLabel: string, yLabel: string, series: { name: string; points: CurvePoint[]; color: string; dots?: boolean }[], diagonal: boolean): string {
  const W = 360, H = 300, L = 48, B = 40, T = 28, R = 12;
  const sx = (x: number) => L + x * (W - L - R);
  const sy = (y: number) => H - B - y * (H - B - T);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((t) => `<line x1="${sx(t)}" y1="${sy(0)}" x2="${sx(t)}" y2="${sy(1)}" class="g"/><line x1="${sx(0)}" y1="${sy(t)}" x2="${sx(1)}" y2="${sy(t)}" class="g"/><text x="${sx(t)}" y="${H - B + 16}" text-anchor="middle">${t}</text><text x="${L - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`)
    .join("");
  const lines = series
    .map((s) => {
      const d = s.points.map((p, k) => `${k ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
      const dots = s.dots ? s.points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`).join("") : "";
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join("");
  const legend = series.map((s, k) => `<text x="${L + 8}" y="${T + 14 + k * 14}" fill="${s.color}">${esc(s.name)}</text>`).join("");
  return `<figure><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}"><text x="${W / 2}" y="16" text-anchor="middle" class="t">${esc(title)}</text>${grid}${diagonal ? `<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" class="d"/>` : ""}${lines}${legend}<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text><text transform="translate(12,${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text></svg></figure>`;
}

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

export interface ReportInput {
  title: string;
  modelVersion: string;
  family: string;
  dataFile: string;
  rows: number;
  positives: number;
  metrics: { auc: number; prAuc: number; brier: number; logLoss: number; ece: number; intervalCoverage: number };
  y: ArrayLike<number>;
  p: ArrayLike<number>;
  reliability: { from: number; to: number; n: number; meanPredicted: number; observed: number }[];
  tiers: { tier: string; range: string; accounts: number; share: number; churned: number; precision: number; recall: number }[];
  thresholds: { red: number; yellow: number };
  importance: { feature: string; meanAbs: number }[];
  generatedAt: string;
  /** "Model history": where it was read from (the local registry, or model directories) and its entries, newest first. */
  history?: { source: string; entries: HistoryEntry[] };
}

/** The whole report as one HTML document. */
export function renderReport(r: ReportInput): string {
  const roc = rocCurve(r.y, r.p);
  const pr = prCurve(r.y, r.p);
  const gains = gainsCurve(r.y, r.p);
  const base = r.positives / r.rows;
  const rel = r.reliability.map((b) => ({ x: b.meanPredicted, y: b.observed }));
  const maxImp = Math.max(...r.importance.map((i) => i.meanAbs), 1e-9);
  const bars = r.importance
    .slice(0, 15)
    .map((i) => `<div class="bar"><span>${esc(i.feature)}</span><b style="width:${((i.meanAbs / maxImp) * 100).toFixed(1)}%"></b><em>${num(i.meanAbs)}</em></div>`)
    .join("");
  const cms = [confusion(r.y, r.p, r.thresholds.red), confusion(r.y, r.p, r.thresholds.yellow)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;max-width:1180px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem}
.meta{color:#57606a}.kpis{display:flex;gap:1rem;flex-wrap:wrap}.kpi{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.kpi b{display:block;font-size:1.3rem}.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:1px solid #d0d7de;border-radius:8px}
svg{width:360px;height:300px;font-size:11px}svg .g{stroke:#eaeef2}svg .d{stroke:#8c959f;stroke-dasharray:4 4}svg .t{font-weight:600;font-size:13px}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
.bar{display:grid;grid-template-columns:14rem 1fr 4rem;align-items:center;gap:.5rem;margin:.15rem 0}.bar b{display:block;height:.8rem;background:#0969da;border-radius:3px}.bar em{font-style:normal;color:#57606a}
</style></head><body>
<h1>${esc(r.title)}</h1>
<p class="meta">Model <code>${esc(r.modelVersion)}</code> (${esc(r.family)}) on <code>${esc(r.dataFile)}</code>: ${r.rows} accounts, ${r.positives} churned (${pct(base)}). Generated ${esc(r.generatedAt)}.</p>
<div class="kpis">
<div class="kpi">ROC-AUC<b>${num(r.metrics.auc)}</b></div><div class="kpi">PR-AUC<b>${num(r.metrics.prAuc)}</b></div>
<div class="kpi">Brier<b>${num(r.metrics.brier, 4)}</b></div><div class="kpi">Log loss<b>${num(r.metrics.logLoss, 4)}</b></div>
<div class="kpi">ECE<b>${num(r.metrics.ece)}</b></div><div class="kpi">Interval coverage<b>${pct(r.metrics.intervalCoverage)}</b></div>
</div>
<h2>Curves</h2>
<div class="charts">
${chart("ROC", "false-positive rate", "true-positive rate", [{ name: `model (AUC ${num(r.metrics.auc)})`, points: roc, color: "#0969da" }], true)}
${chart("Precision-recall", "recall", "precision", [{ name: `model (AP ${num(r.metrics.prAuc)})`, points: pr, color: "#8250df" }, { name: `base rate ${pct(base)}`, points: [{ x: 0, y: base }, { x: 1, y: base }], color: "#8c959f" }], false)}
${chart("Calibration", "mean predicted churn", "observed churn", [{ name: "reliability", points: rel, color: "#1a7f37", dots: true }], true)}
${chart("Cumulative gains", "share of accounts contacted (riskiest first)", "share of churners reached", [{ name: "model", points: gains, color: "#bc4c00" }], true)}
</div>
<h2>Risk tiers</h2>
${table(["tier", "probability", "accounts", "share", "churned", "precision (churn rate)", "recall"], r.tiers.map((t) => [t.tier, t.range, String(t.accounts), pct(t.share), String(t.churned), pct(t.precision), pct(t.recall)]))}
<h2>Confusion matrix at the tier thresholds</h2>
${table(["flag churn when", "churned & flagged", "stayed & flagged", "churned & not flagged", "stayed & not flagged", "precision", "recall"], cms.map((c) => [`p ≥ ${num(c.threshold)}`, String(c.tp), String(c.fp), String(c.fn), String(c.tn), pct(c.tp / (c.tp + c.fp)), pct(c.tp / (c.tp + c.fn))]))}
<h2>Calibration table</h2>
${table(["predicted", "accounts", "mean predicted", "observed"], r.reliability.map((b) => [`${num(b.from, 1)}–${num(b.to, 1)}`, String(b.n), pct(b.meanPredicted), pct(b.observed)]))}
<h2>Feature importance (mean |SHAP contribution|, log-odds)</h2>
${bars}
${r.history ? historySection(r.history) : ""}
</body></html>
`;
}

const signed = (v: number | null | undefined) => (v === null || v === undefined ? "—" : `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(3)}`);
const orDash = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? "—" : num(v, d));

/** "Model history": each version against the one before it, newest first. */
function historySection(h: NonNullable<ReportInput["history"]>): string {
  const entries = h.entries.map((e) => {
    if ("error" in e) return `<h3><code>${esc(e.version)}</code></h3><p>Could not be read: ${esc(e.error)}</p>`;
    const side = (d: Changelog["data"]["current"] | null, r: Changelog["recipe"]["current"] | null, ho: Changelog["metrics"]["holdout"]["current"], c: Changelog["calibration"]["current"] | null) =>
      d
        ? [
            d.rows === null ? "—" : String(d.rows),
            d.dateRange ? `${d.dateRange.column} ${d.dateRange.from} to ${d.dateRange.to}` : "—",
            d.sha256 ? d.sha256.slice(0, 16) : "—",
            r ? `${r.name ?? r.family}${r.hyperparameters ? ` ${JSON.stringify(r.hyperparameters)}` : ""}` : "—",
            ho ? describeHoldout(ho) : "—",
            c ? `${c.method ?? "—"}, ECE ${orDash(c.ece)}` : "—",
          ]
        : ["—", "—", "—", "—", "—", "—"];
    const now = side(e.data.current, e.recipe.current, e.metrics.holdout.current, e.calibration.current);
    const before = side(e.data.previous, e.recipe.previous, e.metrics.holdout.previous, e.calibration.previous);
    const facts = ["rows", "date range", "data sha256", "recipe", "hold-out", "calibration"].map((f, k) => [f, now[k], before[k]]);
    const basis = e.previousBasis === "replaced" ? "the version it replaced when activated" : "the version registered before it";
    const m = e.monitoring;
    return `<h3><code>${esc(e.version)}</code>${e.previous ? ` against <code>${esc(e.previous)}</code> (${basis})` : ""}</h3>
<p>${esc(e.summary)}</p>
${table(["", "this version", "previous"], facts)}
<p>${e.metrics.holdout.sameDefinition === false ? "<strong>Different hold-outs:</strong> " : ""}${esc(e.metrics.holdout.note)}</p>
${table(["metric", "this version", "previous", "change"], COMPARED_METRICS.map((k) => [k, orDash(e.metrics.current[k]), orDash(e.metrics.previous?.[k]), signed(e.metrics.deltas?.[k])]))}
${e.topSignals.length ? table(["rank", "signal", "mean |SHAP|", "previous", "rank change"], e.topSignals.map((s) => [String(s.rank), s.name, num(s.meanAbsShap), orDash(s.previous), s.rankChange === null ? "—" : s.rankChange === 0 ? "=" : signed(s.rankChange).replace(/\.000$/, "")])) : "<p>No signal ranking recorded.</p>"}
<p>Signals added: ${esc(e.signalsAdded.join(", ") || "none")}. Dropped: ${esc(e.signalsDropped.join(", ") || "none")}.</p>
<p>Monitoring while active: ${m.latest ? `${m.count} computation(s); latest ${esc(m.latest.computedAt)}: ROC-AUC ${orDash(m.latest.auc)}, precision at red ${orDash(m.latest.precisionAtRed)}, max signal PSI ${orDash(m.latest.maxFeaturePsi)}` : "none"}.
Activations: ${e.activations.length ? e.activations.map((a) => `${esc(a.at)} by ${esc(a.by)}${a.previousVersion ? ` (replaced ${esc(a.previousVersion)})` : ""}`).join("; ") : "never activated"}.${e.notes.map((n) => ` ${esc(n)}`).join("")}</p>`;
  });
  return `<h2>Model history</h2>\n<p class="meta">${esc(h.source)}; newest first, each version against the one before it.</p>\n${entries.join("\n")}`;
}
