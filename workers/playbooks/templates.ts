/**
 * Outreach templates: `{{placeholder}}` text rendered with an account's own values, with
 * `{{#name}}…{{/name}}` shown only when `name` has a value and `{{^name}}…{{/name}}` only when it
 * has none. A missing value renders as nothing, never "undefined" or "null". Also the drivers in
 * plain words ("logins fell from 22 to 8 a month"). Pure: no I/O.
 */
import { recogniseSignal, type CsSignal } from "../../shared/cs/signals";
import { humanize } from "../../shared/cs/wording";
import type { FieldError } from "../../shared/model/features";

/** Every placeholder a template may use, with what it holds (README "Playbooks" lists the same). */
export const PLACEHOLDERS = {
  name: "the account's name",
  id: "the account's id",
  owner: "the account's owner (its CSM)",
  arr: "ARR, e.g. $120,000",
  renewalDate: "the renewal date, YYYY-MM-DD",
  daysToRenewal: "days from today to the renewal",
  health: "health today, 0–100",
  churnRisk: "the churn probability as a percentage, e.g. 71%",
  tier: "the portfolio tier: red, yellow or blue",
  topDriver: "the driver that raises risk the most, in words",
  drivers: "up to three drivers that raise risk, one per line as '- …'",
  actBy: "the act-by date, YYYY-MM-DD",
  playbook: "the playbook's name",
  steps: "the playbook's steps, one per line as '- title (by YYYY-MM-DD)'",
  today: "today, YYYY-MM-DD",
  "signals.COLUMN": "the account's current value of a signal, e.g. {{signals.logins_30d}}",
} as const;

/** The values a template is rendered with; null or undefined renders as nothing. */
export type TemplateValues = Partial<Record<Exclude<keyof typeof PLACEHOLDERS, "signals.COLUMN">, string | number | null>> & {
  signals?: Record<string, unknown>;
};

type Node = { text: string } | { name: string } | { section: string; inverted: boolean; children: Node[] };

const TAG = /\{\{\s*([#^/]?)\s*([^{}]*?)\s*\}\}/g;

function known(name: string): boolean {
  return (name in PLACEHOLDERS && name !== "signals.COLUMN") || (name.startsWith("signals.") && name.length > "signals.".length);
}

/** Parses a template into nodes, or returns what is wrong with it. */
function parse(text: string): { nodes: Node[] } | { error: string } {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: "", children: root }];
  let last = 0;
  for (const m of text.matchAll(TAG)) {
    const [whole, sigil, name] = m;
    const here = stack[stack.length - 1].children;
    if (m.index > last) here.push({ text: text.slice(last, m.index) });
    last = m.index + whole.length;
    if (!known(name)) return { error: `unknown placeholder {{${sigil}${name}}}; known: ${Object.keys(PLACEHOLDERS).join(", ")}` };
    if (sigil === "#" || sigil === "^") {
      const children: Node[] = [];
      here.push({ section: name, inverted: sigil === "^", children });
      stack.push({ name, children });
    } else if (sigil === "/") {
      if (stack.length === 1 || stack[stack.length - 1].name !== name) return { error: `{{/${name}}} closes no open {{#${name}}} section` };
      stack.pop();
    } else here.push({ name });
  }
  if (stack.length > 1) return { error: `{{#${stack[stack.length - 1].name}}} is never closed with {{/${stack[stack.length - 1].name}}}` };
  if (last < text.length) root.push({ text: text.slice(last) });
  return { nodes: root };
}

/**
 * What is wrong with a template's subject and body, as field errors (`template.subject`,
 * `template.body`): unknown placeholders and unbalanced sections.
 *
 * @example
 *   templateErrors({ subject: "Hi {{nam}}", body: "" }); // [{ field: "template.subject", detail: "unknown placeholder {{nam}}; known: ..." }]
 */
export function templateErrors(template: { subject?: string; body?: string }, prefix = "template"): FieldError[] {
  const out: FieldError[] = [];
  for (const part of ["subject", "body"] as const) {
    const text = template[part];
    if (text === undefined) continue;
    const parsed = parse(text);
    if ("error" in parsed) out.push({ field: `${prefix}.${part}`, detail: parsed.error });
  }
  return out;
}

function valueOf(values: TemplateValues, name: string): string {
  const v = name.startsWith("signals.") ? values.signals?.[name.slice("signals.".length)] : values[name as keyof TemplateValues];
  if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "";
  return typeof v === "object" ? "" : String(v);
}

function renderNodes(nodes: Node[], values: TemplateValues): string {
  let out = "";
  for (const n of nodes) {
    if ("text" in n) out += n.text;
    else if ("name" in n) out += valueOf(values, n.name);
    else if ((valueOf(values, n.section) !== "") !== n.inverted) out += renderNodes(n.children, values);
  }
  return out;
}

/**
 * Renders a template: placeholders replaced, sections kept or dropped, and the gaps a missing
 * value leaves tidied (double spaces, trailing spaces, runs of blank lines). An invalid template
 * (refused when stored) renders as written.
 *
 * @example
 *   renderTemplate("Hi {{name}},{{#renewalDate}} before {{renewalDate}}{{/renewalDate}}.", { name: "Acme" }); // "Hi Acme,."
 */
export function renderTemplate(text: string, values: TemplateValues): string {
  const parsed = parse(text);
  if ("error" in parsed) return text;
  return renderNodes(parsed.nodes, values)
    .replace(/[ \t]{2,}/g, " ")
    .replace(/[ \t]+$/gm, "")
    .replace(/ +([,.;:!?])/g, "$1")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Nouns for recognised CS signals, as a CSM would say them. */
const SIGNAL_NOUNS: Record<CsSignal, string> = {
  logins: "logins",
  sinceLogin: "days since the last login",
  adoption: "feature adoption",
  tickets: "support tickets",
  sinceQbr: "days since the last QBR",
  renewal: "days to renewal",
  contractValue: "contract value",
};

const PERIODS: Record<number, string> = { 7: "a week", 30: "a month", 90: "a quarter", 365: "a year" };

/** The counting window a column's name states (`logins_30d`, `Tickets Last 90 Days`), in words, or "". */
function periodOf(column: string): string {
  const w = humanize(column).split(/[^a-z0-9]+/).flatMap((x) => x.match(/\d+|[a-z]+/g) ?? []);
  for (let i = 0; i < w.length; i++) {
    if (!/^\d+$/.test(w[i])) continue;
    if (["d", "day", "days"].includes(w[i + 1] ?? "") || ["last", "past"].includes(w[i - 1] ?? "")) {
      const n = Number(w[i]);
      return PERIODS[n] ? ` ${PERIODS[n]}` : ` in ${n} days`;
    }
  }
  return "";
}

function figure(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : String(Math.round(v * 100) / 100);
}

/**
 * A driver in plain words, comparing its value now with the one about a month earlier when known.
 *
 * @example
 *   driverInWords({ feature: "logins_30d", value: 8 }, 22);    // "logins fell from 22 to 8 a month"
 *   driverInWords({ feature: "Contract", value: "Month-to-month" }); // "contract: month-to-month"
 */
export function driverInWords(d: { feature: string; value?: unknown }, earlier?: unknown): string {
  const signal = recogniseSignal(d.feature);
  const noun = signal ? SIGNAL_NOUNS[signal] : humanize(d.feature);
  const value = d.value;
  if (value === null || value === undefined || value === "") return `${noun} not reported`;
  if (typeof value !== "number") return `${humanize(d.feature)}: ${String(value).toLowerCase()}`;
  const counted = signal === null || signal === "logins" || signal === "tickets" || signal === "adoption";
  const per = counted ? periodOf(d.feature) : "";
  if (typeof earlier === "number" && Number.isFinite(earlier)) {
    if (earlier === value) return `${noun} steady at ${figure(value)}${per}`;
    return `${noun} ${earlier < value ? "rose" : "fell"} from ${figure(earlier)} to ${figure(value)}${per}`;
  }
  return `${noun} at ${figure(value)}${per}`;
}

/** ARR as money: $120,000; nothing when unknown. */
export function money(v: number | null | undefined): string | null {
  return typeof v === "number" && Number.isFinite(v) ? `$${Math.round(v).toLocaleString("en-US")}` : null;
}
