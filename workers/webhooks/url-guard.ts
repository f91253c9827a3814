/**
 * The SSRF guard for webhook URLs, applied when an endpoint is created or changed and again before
 * every delivery attempt. A receiver must be a public `https` URL named as written: no
 * credentials, no private, shared, loopback, link-local, multicast, reserved or documentation
 * addresses (IPv4 or IPv6, IPv4-mapped and other IPv6 forms that embed an IPv4 address included),
 * no cloud metadata or internal host names, and no IPv4 address written in a non-standard form
 * (decimal `2130706433`, hex `0x7f000001`, octal `0177.0.0.1`, shortened `127.1`), which URL
 * parsers silently turn into a dotted address.
 *
 * The one exception is local development: when `WEBHOOK_ALLOW_LOOPBACK` is "true" (wrangler.toml's
 * local setting, which `npm start` uses), `http(s)://127.0.0.1:PORT` and `http(s)://localhost:PORT`
 * are allowed, so a receiver on the same machine can be tried.
 *
 * The guard judges the URL as written; it does not resolve DNS. On Cloudflare, a Worker's
 * outbound fetch cannot reach a private network anyway, and redirects are never followed.
 */

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export const MAX_URL_LENGTH = 2048;

/** Whether this deployment lets webhooks go to loopback receivers (local development only). */
export function loopbackAllowed(env: Pick<Env, "WEBHOOK_ALLOW_LOOPBACK">): boolean {
  return String(env.WEBHOOK_ALLOW_LOOPBACK) === "true";
}

/** Host names that reach cloud metadata services or private infrastructure. */
const BLOCKED_HOSTS = new Set(["metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal", "kubernetes", "kubernetes.default"]);
const BLOCKED_SUFFIXES = [".localhost", ".internal", ".local", ".localdomain", ".lan", ".home.arpa", ".svc", ".intranet", ".corp"];

/** Checks a webhook URL; `reason` says what is wrong, in words fit for an API error. */
export function checkWebhookUrl(input: string, opts: { allowLoopback: boolean }): UrlVerdict {
  if (typeof input !== "string" || input.length === 0) return no("must be an https URL");
  if (input.length > MAX_URL_LENGTH) return no(`must be at most ${MAX_URL_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\\\u0000-\u001f\u007f]/.test(input)) return no("must not contain spaces, control characters or backslashes");
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return no("is not a valid absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return no("must use https");
  // The authority exactly as written (URL parsers normalise hosts; we judge what was sent).
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(input)?.[1];
  if (authority === undefined) return no("must be an absolute URL starting with https://");
  if (authority.includes("@") || url.username || url.password) return no("must not contain credentials (user:password@)");
  const rawHost = (authority.startsWith("[") ? authority.slice(0, authority.indexOf("]") + 1) : authority.replace(/:[^:]*$/, "")).toLowerCase();
  const host = url.hostname.toLowerCase();
  if (!host) return no("has no host");

  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? host : null;
  if (ipv4 && rawHost !== host) return no(`writes an IPv4 address in a non-standard form (${rawHost} means ${host}); write it as dotted decimal`);

  if (opts.allowLoopback && (host === "127.0.0.1" || host === "localhost") && rawHost === host) return { ok: true, url };
  if (url.protocol !== "https:") return no("must use https (plain http is allowed only for 127.0.0.1 or localhost when WEBHOOK_ALLOW_LOOPBACK is on)");

  if (ipv4) {
    const reason = ipv4Refusal(ipv4);
    return reason ? no(`points at ${ipv4}, ${reason}`) : { ok: true, url };
  }
  if (host.startsWith("[")) {
    const reason = ipv6Refusal(host.slice(1, -1));
    return reason ? no(`points at ${host}, ${reason}`) : { ok: true, url };
  }
  const name = host.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return no("points at localhost (loopback)");
  if (BLOCKED_HOSTS.has(name)) return no(`points at ${name}, a cloud metadata or internal host`);
  const suffix = BLOCKED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return no(`points at ${name}: ${suffix} names are internal`);
  if (!name.includes(".")) return no(`points at '${name}', which is not a fully qualified public host name`);
  return { ok: true, url };
}

function no(reason: string): UrlVerdict {
  return { ok: false, reason };
}

/** IPv4 ranges a webhook may not reach, with why. */
const IPV4_BLOCKS: [cidr: string, why: string][] = [
  ["0.0.0.0/8", "an unspecified (\"this network\") address"],
  ["10.0.0.0/8", "a private address (10.0.0.0/8)"],
  ["100.64.0.0/10", "a shared carrier-grade NAT address (100.64.0.0/10)"],
  ["127.0.0.0/8", "a loopback address (127.0.0.0/8)"],
  ["169.254.0.0/16", "a link-local address (169.254.0.0/16, where cloud metadata services live)"],
  ["172.16.0.0/12", "a private address (172.16.0.0/12)"],
  ["192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)"],
  ["192.0.2.0/24", "a documentation address (192.0.2.0/24)"],
  ["192.88.99.0/24", "a 6to4 relay address (192.88.99.0/24)"],
  ["192.168.0.0/16", "a private address (192.168.0.0/16)"],
  ["198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"],
  ["198.51.100.0/24", "a documentation address (198.51.100.0/24)"],
  ["203.0.113.0/24", "a documentation address (203.0.113.0/24)"],
  ["224.0.0.0/4", "a multicast address (224.0.0.0/4)"],
  ["240.0.0.0/4", "a reserved or broadcast address (240.0.0.0/4)"],
];

function ipv4Number(ip: string): number | null {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Why an IPv4 address (dotted decimal) is refused, or null if it is public. */
export function ipv4Refusal(ip: string): string | null {
  const n = ipv4Number(ip);
  if (n === null) return "not a valid IPv4 address";
  for (const [cidr, why] of IPV4_BLOCKS) {
    const [base, bits] = cidr.split("/");
    const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
    if (((n & mask) >>> 0) === ((ipv4Number(base)! & mask) >>> 0)) return why;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 address (with or without an embedded dotted IPv4 tail), or null. */
export function ipv6Groups(text: string): number[] | null {
  let s = text.toLowerCase();
  if (s.includes("%")) return null; // zone ids are never valid in URLs
  const tail: number[] = [];
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const n = ipv4Number(dotted[1]);
    if (n === null) return null;
    tail.push(n >>> 16, n & 0xffff);
    s = `${s.slice(0, -dotted[1].length)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string) => (h === "" ? [] : h.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if ([...head, ...rest].some(Number.isNaN)) return null;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill(0), ...rest];
  if (tail.length) groups.splice(6, 2, ...tail);
  return groups;
}

/** Why an IPv6 address (no brackets) is refused, or null if it is public. */
export function ipv6Refusal(text: string): string | null {
  const g = ipv6Groups(text);
  if (!g) return "not a valid IPv6 address";
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return "the unspecified address (::)";
  if (zeros(7) && g[7] === 1) return "the loopback address (::1)";
  if (zeros(5) && g[5] === 0xffff) return "an IPv4-mapped address (::ffff:0:0/96)";
  if (zeros(6)) return "an IPv4-compatible address (::/96)";
  if (zeros(4) && g[4] === 0xffff && g[5] === 0) return "an IPv4-translated address (::ffff:0:0:0/96)";
  if (g[0] === 0x64 && g[1] === 0xff9b) return "a NAT64 address that embeds an IPv4 address (64:ff9b::/96)";
  if (g[0] === 0x100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return "a discard-only address (100::/64)";
  if (g[0] === 0x2001 && g[1] === 0) return "a Teredo address that embeds an IPv4 address (2001::/32)";
  if (g[0] === 0x2001 && g[1] === 0xdb8) return "a documentation address (2001:db8::/32)";
  if (g[0] === 0x2002) return "a 6to4 address that embeds an IPv4 address (2002::/16)";
  if ((g[0] & 0xfe00) === 0xfc00) return "a unique local (private) address (fc00::/7)";
  if ((g[0] & 0xffc0) === 0xfe80) return "a link-local address (fe80::/10)";
  if ((g[0] & 0xffc0) === 0xfec0) return "a site-local address (fec0::/10)";
  if ((g[0] & 0xff00) === 0xff00) return "a multicast address (ff00::/8)";
  return null;
}
