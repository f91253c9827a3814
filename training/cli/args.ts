/**
 * Tiny flag parser for the CLIs: `--name value`, `--flag`, and a usage error that names the flag.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors";

export { UsageError };

export type FlagSpec = Record<string, { type: "string" | "boolean"; required?: boolean; description: string }>;

/** Parses argv against `spec`; throws UsageError naming the unknown or missing flag. */
export function parseFlags<S extends FlagSpec>(argv: string[], spec: S): { [K in keyof S]: S[K]["type"] extends "boolean" ? boolean : string | undefined } {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: v.type }])), strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(null, (e as Error).message.replace(/\. To specify.*$/s, ""));
  }
  for (const [k, v] of Object.entries(spec)) {
    if (v.required && (values[k] === undefined || values[k] === "")) throw new UsageError(`--${k}`, `missing (${v.description})`);
  }
  return Object.fromEntries(Object.keys(spec).map((k) => [k, spec[k].type === "boolean" ? Boolean(values[k]) : (values[k] as string | undefined)])) as never;
}

export function usage(command: string, spec: FlagSpec): string {
  const lines = Object.entries(spec).map(([k, v]) => `  --${k}${v.type === "string" ? " VALUE" : ""}${v.required ? "" : " (optional)"}  ${v.description}`);
  return `usage: npm run ${command} -- [flags]\n${lines.join("\n")}`;
}

/** Runs a CLI main, printing usage errors (exit 2) and failures (exit 1) without a stack trace. */
export async function runCli(command: string, spec: FlagSpec, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${command}: ${e.message}\n${usage(command, spec)}`);
      process.exit(2);
    }
    console.error(`${command}: ${(e as Error).message}`);
    if (process.env.FORESIGHT_DEBUG) console.error(e);
    process.exit(1);
  }
}
