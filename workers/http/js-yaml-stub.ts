/**
 * Stand-in for js-yaml, which chanfana imports only to serve `/openapi.yaml`. JSON is valid YAML
 * 1.2, so the document is served as JSON text there; this keeps ~100 KiB of YAML emitter out of
 * the Worker bundle (aliased in wrangler.toml).
 */
export function dump(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export default { dump };
