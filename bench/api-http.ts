/**
 * HTTP from Node for `npm run bench:api`: one request on a given agent (keep-alive, so a timing
 * need not include the TCP connect), timed from writing the request to the last byte of the reply.
 */
import http from "node:http";
import { HOST } from "./processes";

/** A reply, its body unparsed (parsing is not timed). */
export interface Reply {
  status: number;
  body: Buffer;
  ms: number;
  headers: http.IncomingHttpHeaders;
}

/** `method urlPath` on the local server, with a bearer `key` and a JSON `body` when given. */
export function request(agent: http.Agent, port: number, method: string, urlPath: string, key?: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const t0 = performance.now();
    const req = http.request({ host: HOST, port, method, path: urlPath, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - t0, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The reply's JSON; anything but a 200 fails the bench, naming `what`. */
export function expectOk(r: Reply, what: string): Record<string, unknown> {
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 500)}`);
  return JSON.parse(r.body.toString("utf8"));
}
