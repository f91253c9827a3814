/**
 * Customer-success signals recognised by column name and the domain priors behind them: the
 * signal's words, its prior weight and why, and the action when it drives an account's risk.
 * Pure TypeScript with no I/O, so the cold-start scorecard (training) and anything that shows a
 * score (the Worker, reports) share one list.
 */

/** The customer-success signals the scorecard knows, each with a stated prior. */
export type CsSignal = "logins" | "sinceLogin" | "adoption" | "tickets" | "sinceQbr" | "renewal" | "contractValue";

export interface SignalPrior {
  /** The signal in a CS lead's words, e.g. "login days". */
  words: string;
  /** Change in churn log-odds per standard deviation above the portfolio average. */
  weight: number;
  /** Why the weight has its sign and size, finishing "...because ...". */
  because: string;
  /** What to do when this signal is an account's main risk driver. */
  action: string;
}

/**
 * The domain priors, per standard deviation of the portfolio's own spread. Engagement
 * (logins, adoption) weighs most because it moves earliest; relationship and friction signals
 * next; renewal timing and contract size least, since they change urgency more than intent.
 */
export const SIGNAL_PRIORS: Record<CsSignal, SignalPrior> = {
  logins: {
    words: "login days / active usage",
    weight: -0.6,
    because: "users who stop logging in are the earliest and most common sign that an account is drifting away",
    action: "Re-engage users: share a usage report and tips",
  },
  sinceLogin: {
    words: "days since the last login",
    weight: 0.6,
    because: "users who stop logging in are the earliest and most common sign that an account is drifting away",
    action: "Re-engage users: share a usage report and tips",
  },
  adoption: {
    words: "feature adoption",
    weight: -0.6,
    because: "an account that uses little of the product sees little value when the renewal decision comes",
    action: "Run an enablement session on unused features",
  },
  tickets: {
    words: "support tickets",
    weight: 0.5,
    because: "a pile-up of support tickets signals friction and frustration with the product",
    action: "Escalate open tickets with support and schedule a health call",
  },
  sinceQbr: {
    words: "days since the last QBR / meeting",
    weight: 0.4,
    because: "without regular business reviews the relationship and the champion drift out of reach",
    action: "Book a QBR with the champion",
  },
  renewal: {
    words: "days to renewal",
    weight: -0.3,
    because: "a renewal coming soon leaves less time to fix problems before the customer decides, so it is more urgent",
    action: "Start the renewal conversation now",
  },
  contractValue: {
    words: "contract value / ARR",
    weight: -0.2,
    because: "larger customers have invested more in the product and usually get more attention, so they churn slightly less",
    action: "Confirm the business case and ROI with the economic buyer",
  },
};

/**
 * Splits `Login_Days_Last_30`, `loginDaysLast30` or `login days (last 30)` into lowercase words.
 *
 * @example
 *   words("loginDaysLast30"); // ["login", "days", "last", "30"]
 */
export function words(column: string): string[] {
  return column
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])/g, " ")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

// "Meetings_Last_Quarter" counts meetings; only a duration word makes it "time since".
const SINCE_WORDS = new Set(["days", "day", "since", "ago", "weeks", "months"]);
const UNTIL_WORDS = new Set(["days", "day", "until", "till", "to", "away", "left", "in", "remaining", "weeks", "months"]);

/**
 * Which CS signal a column holds, judged from its name alone (case, spacing and punctuation
 * ignored), or null. Checked in an order that keeps look-alikes apart: "Renewal_Date_Days_Away"
 * is a renewal, not a login count, though both talk about days.
 *
 * @example
 *   recogniseSignal("Support_Tickets_Last_Quarter"); // "tickets"
 *   recogniseSignal("daysSinceLastQBR");             // "sinceQbr"
 *   recogniseSignal("Region");                       // null
 */
export function recogniseSignal(column: string): CsSignal | null {
  const w = words(column);
  const has = (...any: string[]) => any.some((x) => w.includes(x));
  const joined = w.join("");
  const sinceWord = w.some((x) => SINCE_WORDS.has(x));
  const untilWord = w.some((x) => UNTIL_WORDS.has(x));
  // "Days since ..." and "days until ..." point the other way from a count or a due date, so
  // they are told apart explicitly; "days since the last ticket" has no agreed direction.
  const ago = has("since", "ago");
  const ahead = has("next", "until", "till", "upcoming");
  if (has("ticket", "tickets", "escalation", "escalations") || (has("support") && has("cases", "case", "requests", "issues", "contacts"))) return ago ? null : "tickets";
  if ((has("qbr", "qbrs", "ebr", "meeting", "meetings", "checkin", "touchpoint") || joined.includes("businessreview") || joined.includes("checkin")) && sinceWord) return ahead ? null : "sinceQbr";
  if ((has("renewal", "renews", "renew") || (has("contract") && has("end", "expiry", "expires", "expiration"))) && untilWord) return ago ? null : "renewal";
  if (has("adoption", "adopted", "adopt") || (has("feature", "features") && has("usage", "used", "enabled", "active"))) return "adoption";
  if (has("login", "logins", "logon", "logons", "signin", "signins", "sessions", "dau", "wau", "mau") || (has("active") && has("days", "users", "seats"))) return ago ? "sinceLogin" : "logins";
  if (has("arr", "mrr", "acv", "tcv") || joined.includes("recurringrevenue") || (has("contract", "account", "deal", "license", "licence") && has("value", "size", "amount"))) return "contractValue";
  return null;
}
