/**
 * wrk for `npm run bench:api`'s throughput part: installed on demand, run against one route with
 * the bench's threads, connections and duration, and its report read back into figures.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { LUA, WRK } from "./api-settings";
import { ROOT, run } from "./processes";

/** wrk from Debian, installed on demand (CI starts from a clean machine). */
export function ensureWrk(): void {
  if (spawnSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" }).status === 0) return;
  console.error("installing wrk with apt-get ...");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const asRoot = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    const r = spawnSync(cmd, rest, { stdio: ["ignore", 2, 2], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed (status ${r.status})`);
  };
  asRoot(["apt-get", "update"]);
  asRoot(["apt-get", "install", "-y", "--no-install-recommends", "wrk"]);
}

/** One wrk run against one route, as figures. */
export interface WrkResult {
  label: string;
  command: string;
  rps: number;
  requests: number;
  seconds: number;
  avgMs: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  non2xx: number;
  socketErrors: string;
}

const toMs = (v: string, unit: string) => Number(v) * ({ us: 1e-3, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit];

function parseWrk(label: string, command: string, out: string): WrkResult {
  const need = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`could not read ${re} from wrk's output:\n${out}`);
    return m;
  };
  const pct = (p: number) => {
    const m = need(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
    return toMs(m[1], m[2]);
  };
  const total = need(/(\d+) requests in ([\d.]+)(us|ms|s|m),/);
  const avg = need(/Latency\s+([\d.]+)(us|ms|s|m)/);
  const sock = /Socket errors: (.*)/.exec(out);
  return {
    label,
    command,
    rps: Number(need(/Requests\/sec:\s+([\d.]+)/)[1]),
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    avgMs: toMs(avg[1], avg[2]),
    p50: pct(50),
    p75: pct(75),
    p90: pct(90),
    p99: pct(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock[1].trim() : "none",
  };
}

/** wrk's command line for `url`: POSTs take the Lua script; the report quotes it with `<route>` as the url. */
export function wrkArgs(seconds: number, url: string, post: boolean): string[] {
  return [`-t${WRK.threads}`, `-c${WRK.connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", ...(post ? ["-s", path.relative(ROOT, LUA)] : []), url];
}

/** Runs wrk for `seconds` against `url` (POSTing `body` with `key` when there is a body). */
export async function wrk(label: string, url: string, body: string | null, key: string, seconds: number): Promise<WrkResult> {
  const args = wrkArgs(seconds, url, body !== null);
  const env = { ...process.env, FORESIGHT_BENCH_BODY: body ?? "", FORESIGHT_BENCH_KEY: key };
  const out = await run("wrk", args, env);
  return parseWrk(label, `wrk ${args.join(" ")}`, out);
}

