/** Runs a training CLI the way `npm run` does (tsx), capturing output and exit code. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `training/cli/<name>.ts` with `args` from the project root, with `env` added to the environment. */
export function runCli(name: "train" | "evaluate" | "publish-model", args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, `training/cli/${name}.ts`, ...args], { cwd: ROOT, maxBuffer: 16 << 20, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
