/**
 * The one way a bench starts the Worker locally (`npm start`, or `wrangler dev` on a state dir):
 * a detached process group that never outlives the bench, its output written to a log file and
 * kept as a tail for error messages, and a wait until it is ready: a line it prints (npm start's
 * curl example) or `GET /healthz` answering.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { HOST, stopGroup, trackGroup } from "./processes";

/** A started local server. */
export interface BenchServer {
  child: ChildProcess;
  port: number;
  /** Its latest output lines (as `plainLines` says). */
  tail: string[];
  exited: Promise<void>;
}

/** When a server counts as ready. */
export type Readiness<T> =
  /** `GET /healthz` answers 2xx; polled every 300 ms, until `timeoutMs` or the process exits. */
  | { healthz: true; timeoutMs: number }
  /**
   * `match` returns a value for a line (e.g. the key in npm start's curl example); a line for which
   * `fails` holds means it never will be ready. `waitingFor` names the line in the timeout error.
   */
  | { match: (line: string) => T | undefined; fails: (line: string) => boolean; waitingFor: string; timeoutMs: number };

/** What to start and how to watch it. */
export interface BenchServerOptions<T> {
  /** The server as errors name it: "wrangler dev", "npm start (main)". */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  port: number;
  logFile: string;
  /** Output lines kept in `tail`. */
  tailLines: number;
  /** Lines of the tail quoted when it fails to start. */
  errorLines: number;
  /** Strip ANSI colours before a line is kept or handed to `onLine` and `ready`. */
  plainLines: boolean;
  /** Echo the output to stderr until ready (a first `npm start` seeds and trains for minutes). */
  echoUntilReady: boolean;
  /** Sees every output line; `ready` is false until the server is ready. */
  onLine?: (line: string, ready: boolean) => void;
  ready: Readiness<T>;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** A line of terminal output without its colour codes. */
export const plain = (line: string) => line.replace(ANSI, "");

/**
 * Starts the server and resolves once it is ready, with what the readiness line gave (`value`);
 * if it never gets ready, stops its process group and rejects.
 */
export async function startBenchServer<T = undefined>(o: BenchServerOptions<T>): Promise<{ server: BenchServer; value: T }> {
  const logStream = createWriteStream(o.logFile);
  const child = spawn(o.command, o.args, { cwd: o.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env: o.env });
  trackGroup(child);
  const tail: string[] = [];
  let ready = false;
  let pending = "";
  let watch: ((line: string) => void) | undefined;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve())).finally(() => logStream.end());
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    logStream.write(text);
    if (o.echoUntilReady && !ready) process.stderr.write(text);
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const raw of lines) {
      const line = o.plainLines ? plain(raw) : raw;
      tail.push(line);
      if (tail.length > o.tailLines) tail.shift();
      o.onLine?.(line, ready);
      watch?.(line);
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const server: BenchServer = { child, port: o.port, tail, exited };
  const lastOutput = () => tail.slice(-o.errorLines).join("\n");

  const r = o.ready;
  const untilReady =
    "healthz" in r
      ? untilHealthz(server, r.timeoutMs, () => new Error(`${o.name} did not answer /healthz; last output:\n${lastOutput()}`)).then(() => undefined as T)
      : new Promise<T>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${o.name} printed no ${r.waitingFor} within ${r.timeoutMs / 60_000} minutes`)), r.timeoutMs);
          watch = (line) => {
            const value = r.match(line);
            if (value !== undefined) {
              clearTimeout(timer);
              resolve(value);
            }
            if (r.fails(line)) reject(new Error(`${o.name}: ${line}`));
          };
          child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`${o.name} exited with ${code} before it was ready; last output:\n${lastOutput()}`));
          });
        });
  try {
    const value = await untilReady;
    ready = true;
    return { server, value };
  } catch (e) {
    await stopGroup(server);
    throw e;
  }
}

/**
 * Runs `fn` against a started server and always stops the server after; when `fn` fails, prints
 * the server's last `lines` of output first, where the cause usually is. `server` may be a getter,
 * for a bench that restarts the server inside `fn`.
 */
export async function whileServing<T>(server: BenchServer | (() => BenchServer), lines: number, fn: () => Promise<T>): Promise<T> {
  const current = () => (typeof server === "function" ? server() : server);
  try {
    return await fn();
  } catch (e) {
    console.error(`server output before the failure:\n${current().tail.slice(-lines).join("\n")}`);
    throw e;
  } finally {
    await stopGroup(current());
  }
}

async function untilHealthz(server: BenchServer, timeoutMs: number, failure: () => Error): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://${HOST}:${server.port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until || server.child.exitCode !== null) throw failure();
    await new Promise((r) => setTimeout(r, 300));
  }
}
