/** Monitoring and shadow test helpers: the SaaS fixture's accounts as API signals, and by-hand statistics. */
import { env } from "cloudflare:workers";
import { parseCsv } from "../../shared/csv";
import { parseArtifact } from "../../shared/model/artifact";

export const saasArtifact = () => parseArtifact(JSON.parse(env.TEST_SAAS_MODEL));

/** CSV rows [from, to) of the SaaS training data as API signals typed by the model's features (blank numbers are null). */
export function saasSignals(from: number, to: number): Record<string, string | number | null>[] {
  const csv = parseCsv(env.TEST_SAAS_ACCOUNTS);
  const kinds = new Map(saasArtifact().features.map((f) => [f.name, f.kind]));
  return csv.rows.slice(from, to).map((cells) => {
    const out: Record<string, string | number | null> = {};
    csv.header.forEach((name, j) => {
      const kind = kinds.get(name);
      if (!kind) return; // account_id and the label
      out[name] = kind === "numeric" ? (cells[j].trim() === "" ? null : Number(cells[j])) : cells[j];
    });
    return out;
  });
}

/** ROC-AUC by brute force: the share of (churner, stayer) pairs ranked correctly, ties counting half. */
export function pairCountAuc(y: number[], p: number[]): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      good += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return good / pairs;
}

/** An ISO timestamp `days` days before now, and its day. */
export function daysAgo(days: number): { at: string; day: string } {
  const at = new Date(Date.now() - days * 86_400_000).toISOString();
  return { at, day: at.slice(0, 10) };
}

export function plusDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}
