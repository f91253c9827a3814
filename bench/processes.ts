/**
 * Process plumbing shared by the benchmarks that run the product: commands that do not block the
 * event loop, a free loopback port, and process groups that never outlive the bench.
 */
import { type ChildProcess, execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";

/** Servers listen on loopback only. */
export const HOST = "127.0.0.1";
/** The checkout the benches run from. */
export const ROOT = path.resolve(import.meta.dirname, "..");
/** The checkout's own wrangler, so every bench runs the version package.json pins. */
export const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");

/** Runs a command without blocking the event loop (a server's pipes must keep draining). */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** Applies the D1 migrations to the local database of a state dir (CI=true: no prompt). */
export function applyLocalMigrations(stateDir: string): Promise<string> {
  return run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { ...process.env, CI: "true" });
}

/** The first port from `from` that nothing listens on. */
export async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 100; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(port, HOST, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error(`no free port in ${from}..${from + 99}`);
}

/** Process groups the bench started (spawned detached); all are killed on any exit path. */
const groups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

process.on("exit", () => {
  for (const pid of groups) killGroup(pid, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const pid of groups) killGroup(pid, "SIGKILL");
    process.exit(130);
  });
}

/** Remembers a detached child's group so it is killed if the bench dies. */
export function trackGroup(child: ChildProcess): void {
  groups.add(child.pid!);
}

/** Stops a tracked group: SIGTERM, up to 10 s for it to exit, then SIGKILL to whatever is left. */
export async function stopGroup(p: { child: ChildProcess; exited: Promise<void> }): Promise<void> {
  const pid = p.child.pid!;
  killGroup(pid, "SIGTERM");
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
  // npm, tsx, wrangler and workerd share the group: make sure none outlives the run.
  await new Promise((r) => setTimeout(r, 500));
  killGroup(pid, "SIGKILL");
  groups.delete(pid);
}
