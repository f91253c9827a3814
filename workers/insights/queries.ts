/**
 * The SQL behind the digest's figures, each under the name the README prints it with (README
 * "Insights"): the digest runs exactly these texts, and `test/workers/insights/readme.node.test.ts`
 * checks that the README shows them, so a reader can reproduce every figure with
 * `wrangler d1 execute foresight --command "..."`. `?1` is the week's Monday and `?2` the Monday
 * after (YYYY-MM-DD), compared with ISO timestamps.
 */

/** Accounts listed per owner in a section; the rest are counted in `more`. */
export const LISTED_PER_OWNER = 15;

/**
 * Each account's net move in the week: its risk tier before its first `account.risk_tier_changed`
 * event of the week and after its last (the event's payload keeps the account's name, owner and ARR).
 */
const MOVES = `WITH week AS (
  SELECT account_id, payload,
    row_number() OVER (PARTITION BY account_id ORDER BY created_at, rowid) AS first_n,
    row_number() OVER (PARTITION BY account_id ORDER BY created_at DESC, rowid DESC) AS last_n
  FROM events
  WHERE type = 'account.risk_tier_changed' AND created_at >= ?1 AND created_at < ?2
),
moves AS (
  SELECT f.account_id AS id, json_extract(f.payload, '$.previousTier') AS from_tier, json_extract(l.payload, '$.tier') AS to_tier,
    json_extract(l.payload, '$.account.name') AS name, json_extract(l.payload, '$.account.owner') AS owner,
    json_extract(l.payload, '$.account.arr') AS arr, json_extract(l.payload, '$.churnProbability') AS churn_probability
  FROM week f JOIN week l ON l.account_id = f.account_id AND l.last_n = 1
  WHERE f.first_n = 1
)`;

/** insights-tier-moves: accounts and ARR per (from → to); rows with from = to are accounts that moved and came back. */
export const TIER_MOVES_SQL = `${MOVES}
SELECT from_tier, to_tier, count(*) AS accounts, total(arr) AS arr
FROM moves GROUP BY from_tier, to_tier ORDER BY arr DESC, from_tier, to_tier`;

/** insights-tier-moves (the accounts): the moved accounts, at most LISTED_PER_OWNER per owner by ARR, with the owner's count. */
export const TIER_MOVES_LIST_SQL = `${MOVES}
SELECT id, name, owner, arr, from_tier, to_tier, churn_probability, n, owner_accounts FROM (
  SELECT *, row_number() OVER (PARTITION BY owner ORDER BY arr DESC, id) AS n, count(*) OVER (PARTITION BY owner) AS owner_accounts
  FROM moves WHERE from_tier <> to_tier
) WHERE n <= ${LISTED_PER_OWNER} ORDER BY owner, n`;

/** insights-red-drivers: per top risk-raising driver of the red accounts' current scores, the accounts and ARR. */
export const RED_DRIVERS_SQL = `WITH red AS (
  SELECT a.id, a.arr,
    (SELECT json_extract(d.value, '$.feature') FROM json_each(s.drivers) d
      WHERE json_extract(d.value, '$.contribution') > 0
      ORDER BY json_extract(d.value, '$.contribution') DESC, d.key LIMIT 1) AS feature
  FROM accounts a LEFT JOIN scores s ON s.id = a.score_id
  WHERE a.risk_tier = 'red'
)
SELECT feature, count(*) AS accounts, total(arr) AS arr
FROM red GROUP BY feature ORDER BY arr DESC, feature`;

/**
 * insights-expansion-ready: the accounts with an `account.expansion_ready` event in the week (the
 * latest per account), at most LISTED_PER_OWNER per owner by ARR, with the owner's count and the totals.
 */
export const EXPANSION_READY_SQL = `WITH ready AS (
  SELECT account_id AS id, json_extract(payload, '$.account.name') AS name, json_extract(payload, '$.account.owner') AS owner,
    json_extract(payload, '$.account.arr') AS arr, json_extract(payload, '$.expansionProbability') AS expansion_probability,
    json_extract(payload, '$.reason') AS reason,
    row_number() OVER (PARTITION BY account_id ORDER BY created_at DESC, rowid DESC) AS last_n
  FROM events
  WHERE type = 'account.expansion_ready' AND created_at >= ?1 AND created_at < ?2
)
SELECT id, name, owner, arr, expansion_probability, reason, n, owner_accounts, accounts, total_arr FROM (
  SELECT *, row_number() OVER (PARTITION BY owner ORDER BY arr DESC, id) AS n, count(*) OVER (PARTITION BY owner) AS owner_accounts,
    count(*) OVER () AS accounts, total(arr) OVER () AS total_arr
  FROM ready WHERE last_n = 1
) WHERE n <= ${LISTED_PER_OWNER} ORDER BY owner, n`;

/**
 * insights-model-health: the active churn model's latest `model_performance` row computed before `?1`
 * (the Monday after the week, or the build time for a week in progress). The digest reads the row it
 * names (`id`) in full, to word it as `GET /v1/models/{version}/performance` does.
 */
export const MODEL_HEALTH_SQL = `SELECT m.version, p.id, p.computed_at, p.scores_evaluated, p.positives, p.auc, p.brier, p.precision_at_red, p.recall_at_red,
  p.max_feature_psi, p.prediction_psi, p.feature_psi, p.alerts
FROM models m LEFT JOIN model_performance p ON p.id = (
  SELECT id FROM model_performance WHERE model_version = m.version AND computed_at < ?1 ORDER BY computed_at DESC, id DESC LIMIT 1)
WHERE m.target = 'churn' AND m.status = 'active'`;

/** The named queries the README prints, with the parameters they take. */
export const NAMED_QUERIES = {
  "insights-tier-moves": [TIER_MOVES_SQL, TIER_MOVES_LIST_SQL],
  "insights-red-drivers": [RED_DRIVERS_SQL],
  "insights-expansion-ready": [EXPANSION_READY_SQL],
  "insights-model-health": [MODEL_HEALTH_SQL],
} as const;

/**
 * A query with its parameters written in as SQL literals, as the README prints it for a reader to
 * paste into `wrangler d1 execute`.
 *
 * @example
 *   withLiterals("SELECT ?1", ["2026-11-30"]); // "SELECT '2026-11-30'"
 */
export function withLiterals(sqlText: string, params: readonly string[]): string {
  return sqlText.replace(/\?(\d+)/g, (_, n: string) => `'${params[Number(n) - 1].replace(/'/g, "''")}'`);
}
