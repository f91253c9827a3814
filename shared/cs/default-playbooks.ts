/**
 * The playbooks every installation starts with, from the product brief: red (an executive
 * business review within 5–7 days, stakeholder interviews, a success plan), yellow (more
 * touchpoints, relevant case studies, adoption of the features that correlate with retention) and
 * blue (advanced use cases, beta programmes, pricing for more seats or modules), plus two for a
 * dominant driver, so that "most specific wins" shows: red accounts driven by support tickets and
 * yellow accounts driven by falling logins. Version 1 of each is written the first time playbooks
 * are read (store.ts); edits append versions and a deleted default stays retired.
 */
import type { PlaybookStep, PlaybookTemplate, PlaybookTier } from "../db/schema";

export interface PlaybookDraft {
  id: string;
  name: string;
  tier: PlaybookTier;
  driver: string | null;
  leadDays: number;
  steps: PlaybookStep[];
  template: PlaybookTemplate;
}

const SIGN_OFF = "Best regards,\n{{owner}}";

export const DEFAULT_PLAYBOOKS: readonly PlaybookDraft[] = [
  {
    id: "red-rescue",
    name: "Executive rescue",
    tier: "red",
    driver: null,
    leadDays: 7,
    steps: [
      { title: "Book an executive business review with the economic buyer and the champion", dueDays: 1 },
      { title: "Interview three to five stakeholders (champion, daily users, economic buyer) on value and blockers", dueDays: 4 },
      { title: "Hold the executive business review", dueDays: 6 },
      { title: "Agree a written success plan with owners, dates and the outcomes that matter to them", dueDays: 10 },
      { title: "Review the success plan's first milestones with the champion", dueDays: 30 },
    ],
    template: {
      subject: "{{name}}: an executive review of how things are going",
      body: [
        "Hi {{name}} team,",
        "",
        "I'd like to set up a short executive business review with you in the next week, to take stock of where you are getting value from us and where you are not.{{#renewalDate}} With your renewal on {{renewalDate}}, now is the right time to make sure we are on track.{{/renewalDate}}",
        "{{#drivers}}",
        "A few things we noticed on our side:",
        "{{drivers}}",
        "{{/drivers}}",
        "",
        "Before we meet I would like to speak briefly with a few of the people who use the product every day, so we come with a clear picture. From there we will agree a written success plan together, with owners and dates.",
        "",
        "Would any time in the next five working days suit you?",
        "",
        SIGN_OFF,
      ].join("\n"),
    },
  },
  {
    id: "red-tickets",
    name: "Support escalation",
    tier: "red",
    driver: "tickets",
    leadDays: 7,
    steps: [
      { title: "Escalate the open tickets with the support lead and get an owner and a date for each", dueDays: 1 },
      { title: "Call the champion to go through the open issues and what is being done", dueDays: 2 },
      { title: "Send a written status of every open issue", dueDays: 4 },
      { title: "Hold an executive business review once the worst issues are fixed", dueDays: 7 },
      { title: "Agree a success plan that includes how support issues will be handled", dueDays: 14 },
    ],
    template: {
      subject: "{{name}}: your open support issues, and what we are doing about them",
      body: [
        "Hi {{name}} team,",
        "",
        "I have been looking at your recent support history{{#topDriver}} ({{topDriver}}){{/topDriver}}, and I am sorry it has not been smooth. I have escalated your open issues with our support lead so each one has an owner and a date.",
        "",
        "Could we have a short call in the next two days to go through them together? I will follow up in writing with the status of each one.{{#renewalDate}} I want to make sure everything is resolved well before your renewal on {{renewalDate}}.{{/renewalDate}}",
        "",
        SIGN_OFF,
      ].join("\n"),
    },
  },
  {
    id: "yellow-engage",
    name: "Re-engage and show value",
    tier: "yellow",
    driver: null,
    leadDays: 14,
    steps: [
      { title: "Add a check-in call with the champion", dueDays: 3 },
      { title: "Share two case studies from customers with the same use case", dueDays: 7 },
      { title: "Run an enablement session on the features that correlate with retention", dueDays: 14 },
      { title: "Move to a fortnightly touchpoint until health improves", dueDays: 21 },
    ],
    template: {
      subject: "Getting more out of the product at {{name}}",
      body: [
        "Hi {{name}} team,",
        "",
        "It has been a little while since we last spoke, and I would like to check in on how things are going.{{#topDriver}} On our side we noticed {{topDriver}}.{{/topDriver}}",
        "",
        "I would be glad to share how teams like yours use the product, with a couple of short case studies, and to run a session on the features our most successful customers rely on.",
        "",
        "Would a 30-minute call next week work for you?",
        "",
        SIGN_OFF,
      ].join("\n"),
    },
  },
  {
    id: "yellow-logins",
    name: "Re-onboarding",
    tier: "yellow",
    driver: "logins",
    leadDays: 14,
    steps: [
      { title: "Send the champion a usage report showing who has stopped logging in", dueDays: 2 },
      { title: "Run a re-onboarding session for inactive users", dueDays: 7 },
      { title: "Set up in-app guides or training for the workflows they dropped", dueDays: 10 },
      { title: "Check logins again and follow up with the champion", dueDays: 21 },
    ],
    template: {
      subject: "{{name}}: a quick refresher for your team",
      body: [
        "Hi {{name}} team,",
        "",
        "I noticed that activity on your account has dropped recently{{#topDriver}} ({{topDriver}}){{/topDriver}}. That often happens when people change roles or a workflow changes, and it is easy to fix.",
        "",
        "I would like to offer a short re-onboarding session for anyone who would benefit, and I can send you a usage report so you can see who might need it.",
        "",
        "Shall I book a session for next week?",
        "",
        SIGN_OFF,
      ].join("\n"),
    },
  },
  {
    id: "blue-expand",
    name: "Expansion conversation",
    tier: "blue",
    driver: null,
    leadDays: 14,
    steps: [
      { title: "Present advanced use cases that fit their goals", dueDays: 5 },
      { title: "Invite them to the beta programme", dueDays: 10 },
      { title: "Propose pricing for more seats or modules", dueDays: 14 },
    ],
    template: {
      subject: "{{name}}: ideas for what to do next",
      body: [
        "Hi {{name}} team,",
        "",
        "Your team is getting a lot out of the product, and I would love to show you a few advanced use cases that similar teams use to go further.",
        "",
        "We are also opening our beta programme to a small group of customers, and I think you would be a great fit. If more of your colleagues could benefit, I can put together options for additional seats or modules.",
        "",
        "Would you have 30 minutes in the next two weeks?",
        "",
        SIGN_OFF,
      ].join("\n"),
    },
  },
];
