// Test-only bindings added in vitest.config.ts; everything else comes from `wrangler types`.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    TEST_MODEL: string;
    TEST_SAAS_MODEL: string;
    TEST_SAAS_EXPANSION_MODEL: string;
    TEST_SAAS_ACCOUNTS: string;
    TEST_TRAJECTORY_MODEL: string;
  }
}
