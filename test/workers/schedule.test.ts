/** The scheduled handler runs only the jobs workers/schedule.ts lists for a cron. */
import { env } from "cloudflare:workers";
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../workers/index";
import { publishTelcoModel } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("an unknown cron", () => {
  it("logs an error and does nothing (no rescoring run, no retention)", async () => {
    await publishTelcoModel();
    await env.DB.prepare("INSERT INTO accounts (id, features) VALUES ('SCHED-1', '{}')").run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "5 4 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining("cron '5 4 * * *' has no jobs"));
    expect((await env.DB.prepare("SELECT count(*) AS n FROM rescore_runs").first<{ n: number }>())!.n).toBe(0);
  });
});
