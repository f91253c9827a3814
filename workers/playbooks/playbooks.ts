/**
 * `/v1/playbooks`: what to do for each risk profile. Anyone with a score or ingest key can list
 * the current playbooks; admin keys create, replace (PUT), change (PATCH) and retire (DELETE)
 * them. Every change appends a version; past versions stay readable at
 * `/v1/playbooks/{id}/versions/{version}`, so an intervention keeps the text it used.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { Playbook, PlaybookCreate, PlaybookId, PlaybookList, PlaybookPatch, PlaybookReplace, PlaybookWithVersions } from "./schemas";
import { appendVersion, createPlaybook, currentPlaybook, currentPlaybooks, type PlaybookRow, playbookNotFound, playbookVersion, playbookVersions, retirePlaybook } from "./store";

const IdParam = z.object({ id: PlaybookId });

function view(r: PlaybookRow): Playbook {
  return { id: r.id, version: r.version, name: r.name, tier: r.tier, driver: r.driver, leadDays: r.leadDays, steps: r.steps, template: r.template, retiredAt: r.retiredAt, createdAt: r.createdAt };
}

function withVersions(versions: PlaybookRow[]) {
  return { ...view(versions.at(-1)!), versions: versions.map((v) => ({ version: v.version, name: v.name, createdAt: v.createdAt })) };
}

export class ListPlaybooks extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "The current playbooks",
    description:
      "The current version of every playbook that is not retired. A fresh installation has the defaults (red: executive rescue, red + tickets: support escalation, yellow: re-engage, yellow + logins: re-onboarding, blue: expansion); the most specific one for an account's tier and top driver is recommended.",
    security: bearer,
    responses: { "200": { description: "The playbooks", ...contentJson(PlaybookList) }, ...problems(401, 403, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    return { playbooks: (await currentPlaybooks(c.env)).map(view) };
  }
}

export class CreatePlaybook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Create a playbook (version 1)",
    description:
      "`tier` red, yellow or blue; `driver` (optional) a column or CS signal it targets; `leadDays` 0–365 sets actBy; `steps` in the order they are due, each with `dueDays` after the start; `template` the outreach email with {{placeholders}}. 409 when the id exists (retired ones included).",
    security: bearer,
    request: { body: contentJson(PlaybookCreate) },
    responses: { "201": { description: "Created", ...contentJson(Playbook) }, ...problems(400, 401, 403, 409, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    return c.json(view(await createPlaybook(c.env, { ...body, driver: body.driver ?? null })), 201);
  }
}

export class GetPlaybook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "A playbook's current version, with its version list",
    security: bearer,
    request: { params: IdParam },
    responses: { "200": { description: "The playbook (retiredAt set when retired)", ...contentJson(PlaybookWithVersions) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const versions = await playbookVersions(c.env, params.id);
    if (versions.length === 0) throw playbookNotFound(params.id);
    return withVersions(versions);
  }
}

export class GetPlaybookVersion extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Any version of a playbook, retired or not",
    security: bearer,
    request: { params: IdParam.extend({ version: z.coerce.number().int().min(1).describe("The version number") }) },
    responses: { "200": { description: "The version", ...contentJson(Playbook) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return view(await playbookVersion(c.env, params.id, params.version));
  }
}

export class ReplacePlaybook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Replace a playbook: appends version n + 1",
    description: "The whole playbook again (as in POST, without id). 404 for an unknown id, 409 for a retired one.",
    security: bearer,
    request: { params: IdParam, body: contentJson(PlaybookReplace) },
    responses: { "200": { description: "The new version, with the version list", ...contentJson(PlaybookWithVersions) }, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    await appendVersion(c.env, params.id, { ...body, driver: body.driver ?? null });
    return withVersions(await playbookVersions(c.env, params.id));
  }
}

export class PatchPlaybook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Change some of a playbook's fields: appends version n + 1",
    description: "Fields sent replace the current version's (`steps` as a whole list; the template's `subject` and `body` each); `driver: null` makes it apply to the whole tier. 404 for an unknown id, 409 for a retired one or one changed meanwhile.",
    security: bearer,
    request: { params: IdParam, body: contentJson(PlaybookPatch) },
    responses: { "200": { description: "The new version, with the version list", ...contentJson(PlaybookWithVersions) }, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    const current = await currentPlaybook(c.env, params.id);
    const merged = {
      name: body.name ?? current.name,
      tier: body.tier ?? current.tier,
      driver: body.driver === undefined ? current.driver : body.driver,
      leadDays: body.leadDays ?? current.leadDays,
      steps: body.steps ?? current.steps,
      template: { ...current.template, ...body.template },
    };
    await appendVersion(c.env, params.id, merged, current.version);
    return withVersions(await playbookVersions(c.env, params.id));
  }
}

export class DeletePlaybook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Retire a playbook",
    description: "It is no longer recommended and can no longer change; every version stays readable (interventions that used it keep their text). 404 for an unknown id, 409 when already retired.",
    security: bearer,
    request: { params: IdParam },
    responses: { "200": { description: "The retired playbook's current version", ...contentJson(Playbook) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return view(await retirePlaybook(c.env, params.id));
  }
}
