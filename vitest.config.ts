import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = path.dirname(new URL(import.meta.url).pathname);

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  return {
    test: {
      projects: [
        {
          // Routes, storage and the scorer inside workerd, with real local D1 and R2.
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  // A real model trained on Telco by `npm run train` (see test/fixtures/README.md).
                  TEST_MODEL: readFileSync(path.join(root, "test/fixtures/telco-model/model.json"), "utf8"),
                  // A model trained the same way on a CSV with entirely different columns.
                  TEST_SAAS_MODEL: readFileSync(path.join(root, "test/fixtures/saas-model/model.json"), "utf8"),
                  // An expansion model trained with --target expansion on the same synthetic accounts.
                  TEST_SAAS_EXPANSION_MODEL: readFileSync(path.join(root, "test/fixtures/saas-expansion-model/model.json"), "utf8"),
                  // The synthetic accounts the SaaS models were trained on (monitoring compares live signals with them).
                  TEST_SAAS_ACCOUNTS: readFileSync(path.join(root, "test/fixtures/saas-accounts.csv"), "utf8"),
                  // A trajectory model trained with --target trajectory on a seeded synthetic panel.
                  TEST_TRAJECTORY_MODEL: readFileSync(path.join(root, "test/fixtures/trajectory-model/model.json"), "utf8"),
                  MODEL_POINTER_TTL_MS: "0",
                  ALLOW_FAULT_INJECTION: "true",
                  // As under npm start: receivers on loopback are allowed locally.
                  WEBHOOK_ALLOW_LOOPBACK: "true",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/workers/**/*.test.ts"],
            // `*.node.test.ts` beside a concept's tests run in Node (they need training or Node-only tools).
            exclude: ["test/workers/**/*.node.test.ts"],
            setupFiles: ["./test/workers/apply-migrations.ts"],
          },
        },
        {
          // Training, evaluation, the CLIs and the end-to-end start, in Node.
          test: {
            name: "node",
            include: ["test/training/**/*.test.ts", "test/shared/**/*.test.ts", "test/client/**/*.test.ts", "test/workers/**/*.node.test.ts", "test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
