/**
 * The tiers, declared once. A risk tier comes from the churn probability under a model's
 * thresholds; the portfolio tier is the risk tier, except that an expansion-ready account is
 * blue. The D1 columns, the API's enums, the portfolio figures and Slack messages all use these.
 */
export const RISK_TIERS = ["red", "yellow", "green"] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export const PORTFOLIO_TIERS = [...RISK_TIERS, "blue"] as const;
export type PortfolioTier = (typeof PORTFOLIO_TIERS)[number];
