/**
 * Events as Slack incoming-webhook messages (`kind: "slack"` endpoints): a one-line `text` (what
 * notifications and screen readers show) and Block Kit `blocks` a CSM can act on: the account,
 * old → new tier, the probability, the top drivers and the next action; a rescoring summary; model
 * alerts. The same facts as the Standard Webhooks body, formatted for people.
 */
import { PORTFOLIO_TIERS } from "../../shared/tiers";

type Json = Record<string, unknown>;

export interface SlackMessage {
  text: string;
  blocks: Json[];
}

const TIER_EMOJI: Record<string, string> = { red: ":red_circle:", yellow: ":large_yellow_circle:", green: ":large_green_circle:", blue: ":large_blue_circle:" };

/** Slack mrkdwn needs only &, < and > escaped. */
function esc(s: unknown): string {
  return String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function pct(p: unknown): string {
  return typeof p === "number" && Number.isFinite(p) ? `${Math.round(p * 100)}%` : "n/a";
}

function money(v: unknown): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "n/a";
  return `$${Math.round(v).toLocaleString("en-US")}`;
}

function section(text: string): Json {
  // Slack refuses section text over 3,000 characters.
  return { type: "section", text: { type: "mrkdwn", text: text.length > 2900 ? `${text.slice(0, 2899)}…` : text } };
}

function fields(pairs: [string, string][]): Json {
  return { type: "section", fields: pairs.slice(0, 10).map(([k, v]) => ({ type: "mrkdwn", text: `*${esc(k)}*\n${v}` })) };
}

function context(parts: (string | null | undefined)[]): Json {
  return { type: "context", elements: [{ type: "mrkdwn", text: parts.filter(Boolean).join(" · ") }] };
}

function str(v: unknown): string | null {
  return typeof v === "string" && v ? v : null;
}

/** The top lines of a digest section: its biggest accounts, or its drivers, with how many more the digest has. */
function insightLines(s: Json): string {
  const TOP = 5;
  if (Array.isArray(s.drivers)) {
    const drivers = (s.drivers as Json[]).filter((d) => typeof d.share === "number" && d.share > 0);
    const lines = drivers.slice(0, TOP).map((d) => `• ${esc(d.label ?? d.feature)}: ${pct(d.share)} of red ARR${typeof d.previousShare === "number" ? ` (was ${pct(d.previousShare)})` : ""}`);
    return lines.length ? `\n${lines.join("\n")}` : "";
  }
  if (!Array.isArray(s.owners)) return "";
  const listed = (s.owners as Json[]).flatMap((o) => (Array.isArray(o.accounts) ? (o.accounts as Json[]) : []).map((a): Json => ({ ...a, owner: o.owner })));
  listed.sort((a, b) => (typeof b.arr === "number" ? b.arr : 0) - (typeof a.arr === "number" ? a.arr : 0));
  const lines = listed.slice(0, TOP).map((a) => {
    const move = str(a.from) && str(a.to) ? `${esc(a.from)} → ${esc(a.to)}, ` : typeof a.expansionProbability === "number" ? `readiness ${pct(a.expansionProbability)}, ` : "";
    return `• ${esc(a.name ?? a.id)} (${esc(a.owner ?? "unassigned")}): ${move}${money(a.arr)}`;
  });
  const total = typeof s.accounts === "number" ? s.accounts : listed.length;
  const rest = total - lines.length;
  return lines.length ? `\n${lines.join("\n")}${rest > 0 ? `\n…and ${rest} more in the digest` : ""}` : "";
}

/** The Slack message for one event. */
export function slackMessage(type: string, data: Json, eventId: string): SlackMessage {
  const account = (data.account ?? {}) as Json;
  const who = str(account.name) ?? str(account.id) ?? "An account";
  const idNote = str(account.name) && str(account.id) ? ` (\`${esc(account.id)}\`)` : "";
  switch (type) {
    case "account.risk_tier_changed": {
      const from = String(data.previousTier ?? "?");
      const to = String(data.tier ?? "?");
      const interval = Array.isArray(data.interval) && data.interval.length === 2 ? ` (90% range ${pct(data.interval[0])}–${pct(data.interval[1])})` : "";
      const drivers = Array.isArray(data.drivers) ? (data.drivers as Json[]).slice(0, 3).map((d) => `• ${esc(d.phrase ?? d.feature)}`) : [];
      const text = `${who} moved from ${from} to ${to} risk: churn probability ${pct(data.previousChurnProbability)} → ${pct(data.churnProbability)}`;
      return {
        text,
        blocks: [
          section(`${TIER_EMOJI[to] ?? ""} *${esc(who)}*${idNote} moved from *${esc(from)}* to *${esc(to)}* risk`),
          fields([
            ["Churn probability", `${pct(data.previousChurnProbability)} → ${pct(data.churnProbability)}${interval}`],
            ["ARR", money(account.arr)],
            ["Owner", esc(account.owner ?? "unassigned")],
          ]),
          ...(drivers.length ? [section(`*Top drivers*\n${drivers.join("\n")}`)] : []),
          ...(str(data.nextAction) ? [section(`*Next action*\n${esc(data.nextAction)}`)] : []),
          context([data.modelVersion ? `model ${esc(data.modelVersion)}` : null, data.runId ? `run ${esc(data.runId)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
    case "account.expansion_ready": {
      const text = `${who} is ready to expand: readiness ${pct(data.expansionProbability)}`;
      return {
        text,
        blocks: [
          section(`${TIER_EMOJI.blue} *${esc(who)}*${idNote} is ready to expand`),
          fields([
            ["Expansion readiness", pct(data.expansionProbability)],
            ["Churn probability", pct(data.churnProbability)],
            ["ARR", money(account.arr)],
            ["Owner", esc(account.owner ?? "unassigned")],
          ]),
          ...(str(data.reason) ? [section(`*Why*\n${esc(data.reason)}`)] : []),
          context([data.source ? `source ${esc(data.source)}` : null, data.runId ? `run ${esc(data.runId)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
    case "account.trend_changed": {
      const horizons = Array.isArray(data.horizons) ? (data.horizons as Json[]) : [];
      const far = horizons[horizons.length - 1];
      const reasons = Array.isArray(data.reasons) ? (data.reasons as unknown[]).slice(0, 3).map((r) => `• ${esc(r)}`) : [];
      const text = `${who} turned declining: health ${data.health ?? "?"} today${far ? `, forecast ${far.health} in ${far.days} days` : ""}${str(data.actBy) ? `; act by ${data.actBy}` : ""}`;
      return {
        text,
        blocks: [
          section(`:chart_with_downwards_trend: *${esc(who)}*${idNote} turned *declining*`),
          fields([
            ["Health", `${esc(data.health ?? "?")} today${far ? ` → ${esc(far.health)} in ${esc(far.days)} days (90% range ${esc(far.lower)}–${esc(far.upper)})` : ""}`],
            ["Act by", esc(data.actBy ?? "nothing due")],
            ["ARR", money(account.arr)],
            ["Owner", esc(account.owner ?? "unassigned")],
          ]),
          ...(reasons.length ? [section(`*Why*\n${reasons.join("\n")}`)] : []),
          context([data.source ? `forecast from ${esc(data.source)}` : null, data.runId ? `run ${esc(data.runId)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
    case "account.playbook_recommended": {
      const playbook = (data.playbook ?? {}) as Json;
      const tier = String(data.tier ?? "?");
      const steps = Array.isArray(data.steps) ? (data.steps as Json[]).slice(0, 8).map((s) => `• ${esc(s.title)}${s.dueDate ? ` (by ${esc(s.dueDate)})` : ""}`) : [];
      const reasons = Array.isArray(data.reasons) ? (data.reasons as unknown[]).slice(0, 3).map((r) => `• ${esc(r)}`) : [];
      const name = str(playbook.name) ?? str(playbook.id) ?? "a playbook";
      const text = `${who} entered ${tier}: start "${name}"${str(data.actBy) ? ` by ${data.actBy}` : ""}`;
      return {
        text,
        blocks: [
          section(`${TIER_EMOJI[tier] ?? ""} *${esc(who)}*${idNote} entered *${esc(tier)}*: start *${esc(name)}*`),
          fields([
            ["Act by", esc(data.actBy ?? "nothing due yet")],
            ["Churn probability", pct(data.churnProbability)],
            ["ARR", money(account.arr)],
            ["Owner", esc(account.owner ?? "unassigned")],
          ]),
          ...(steps.length ? [section(`*Steps*\n${steps.join("\n")}`)] : []),
          ...(reasons.length ? [section(`*Why*\n${reasons.join("\n")}`)] : []),
          context([playbook.id ? `playbook ${esc(playbook.id)} v${esc(playbook.version)}` : null, data.runId ? `run ${esc(data.runId)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
    case "insights.weekly": {
      const week = esc(data.week ?? "?");
      const sections = Array.isArray(data.sections) ? (data.sections as Json[]) : [];
      const headline = sections.map((s) => str(s.text)).find(Boolean);
      return {
        text: `Weekly insights ${data.week ?? ""}${headline ? `: ${headline}` : ""}`,
        blocks: [
          { type: "header", text: { type: "plain_text", text: `Weekly insights, ${String(data.week ?? "")}`.slice(0, 150) } },
          ...sections.flatMap((s) => [section(`*${esc(s.title ?? s.id)}*\n${esc(s.text)}${insightLines(s)}`), { type: "divider" }]).slice(0, -1),
          context([`week ${week}`, data.generatedAt ? `built ${esc(data.generatedAt)}` : null, `GET /v1/insights?week=${week}`, `event ${esc(eventId)}`]),
        ],
      };
    }
    case "rescore.completed": {
      const portfolio = (data.portfolio ?? {}) as { tiers?: Record<string, { accounts?: number; arr?: number }>; arrAtRisk?: number };
      const tiers = portfolio.tiers ?? {};
      const text = `Rescoring ${data.runId ?? ""} completed: ${data.scored ?? "?"} of ${data.accounts ?? "?"} accounts scored, ${data.tierChanges ?? 0} tier change(s)`;
      return {
        text,
        blocks: [
          section(`:bar_chart: *Rescoring completed*: ${esc(data.scored ?? "?")} of ${esc(data.accounts ?? "?")} accounts scored, *${esc(data.tierChanges ?? 0)}* tier change(s)`),
          fields([
            ...PORTFOLIO_TIERS
              .filter((t) => tiers[t])
              .map((t): [string, string] => [`${t[0].toUpperCase()}${t.slice(1)}`, `${tiers[t].accounts ?? 0} accounts, ${money(tiers[t].arr)} ARR`]),
            ["ARR at risk", money(portfolio.arrAtRisk)],
          ]),
          context([data.modelVersion ? `model ${esc(data.modelVersion)}` : null, data.trigger ? `trigger ${esc(data.trigger)}` : null, data.runId ? `run ${esc(data.runId)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
    default: {
      // Model alerts (model.performance_degraded, model.drift_detected, from monitoring) and anything newer.
      const title = type === "model.performance_degraded" ? "performance degraded" : type === "model.drift_detected" ? "drift detected" : type;
      const version = str(data.modelVersion) ?? str(data.version);
      const summary = str(data.summary) ?? str(data.message);
      const head = `${version ? `Model ${version}` : "Model alert"}: ${title}`;
      const facts = Object.entries(data)
        .filter(([k, v]) => !["modelVersion", "version", "summary", "message", "computedAt"].includes(k) && (typeof v === "number" || typeof v === "string" || typeof v === "boolean"))
        .map(([k, v]): [string, string] => [k, esc(typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v)]);
      const drifted = Array.isArray(data.drifted)
        ? (data.drifted as Json[]).slice(0, 5).map((d) => `• ${esc(d.feature)}: PSI ${typeof d.psi === "number" ? d.psi.toFixed(2) : esc(d.psi)}`)
        : [];
      const alerts = Array.isArray(data.alerts) ? (data.alerts as unknown[]).map((a) => `• ${esc(typeof a === "string" ? a : JSON.stringify(a))}`) : [];
      const rec = (data.recommendation ?? null) as { reason?: unknown; commands?: unknown; then?: unknown } | null;
      const commands = rec && Array.isArray(rec.commands) ? (rec.commands as unknown[]).map(String) : [];
      const recText = rec
        ? [str(rec.reason) ? esc(rec.reason) : null, commands.length ? `\`\`\`${esc(commands.join("\n"))}\`\`\`` : null, str(rec.then) ? esc(rec.then) : null].filter(Boolean).join("\n")
        : "";
      return {
        text: summary ? `${head}. ${summary}` : head,
        blocks: [
          section(`:warning: *${esc(head)}*${summary ? `\n${esc(summary)}` : ""}`),
          ...(facts.length ? [fields(facts)] : []),
          ...(drifted.length ? [section(`*Shifted signals*\n${drifted.join("\n")}`)] : []),
          ...(alerts.length ? [section(`*Alerts*\n${alerts.join("\n")}`)] : []),
          ...(recText ? [section(`*Recommended*\n${recText}`)] : []),
          context([data.computedAt ? `computed ${esc(data.computedAt)}` : null, `event ${esc(eventId)}`]),
        ],
      };
    }
  }
}
