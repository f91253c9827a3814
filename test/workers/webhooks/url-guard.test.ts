/**
 * The SSRF guard for webhook URLs, inside workerd (whose URL parser is the one deliveries use):
 * public https only; private, shared, loopback, link-local, metadata, reserved and IPv6 forms that
 * embed IPv4 are refused, as are non-standard IPv4 spellings and credentials; loopback http is
 * allowed only when WEBHOOK_ALLOW_LOOPBACK is on, and only as 127.0.0.1 or localhost.
 */
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, ipv4Refusal, ipv6Groups, ipv6Refusal } from "../../../workers/webhooks/url-guard";

const strict = { allowLoopback: false };
const local = { allowLoopback: true };
const reason = (url: string, opts = strict) => {
  const v = checkWebhookUrl(url, opts);
  return v.ok ? null : v.reason;
};

describe("checkWebhookUrl", () => {
  it("allows public https URLs, with ports, paths and queries", () => {
    for (const url of [
      "https://hooks.example.com/foresight",
      "https://hooks.slack.com/services/T000/B000/XXXX",
      "https://example.com:8443/in?x=1#frag",
      "https://8.8.8.8/hook",
      "https://[2606:4700:4700::1111]/hook",
      "https://sub.domain.example.co.uk/",
      "https://xn--bcher-kva.example/",
    ]) {
      expect(reason(url), url).toBeNull();
    }
  });

  it.each([
    ["http://hooks.example.com/", /must use https/],
    ["ftp://hooks.example.com/", /must use https/],
    ["javascript:alert(1)", /must use https/],
    ["file:///etc/passwd", /must use https/],
    ["gopher://127.0.0.1:25/", /must use https/],
    ["not a url", /spaces/],
    ["hooks.example.com/path", /not a valid absolute URL/],
    ["", /https URL/],
    ["https:hooks.example.com", /absolute URL starting with https:\/\//],
    [`https://example.com/${"a".repeat(2100)}`, /at most 2048/],
  ])("refuses %s (scheme and form)", (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it.each([
    ["https://user:pass@hooks.example.com/", /credentials/],
    ["https://user@hooks.example.com/", /credentials/],
    ["https://:pass@hooks.example.com/", /credentials/],
    ["https://@hooks.example.com/", /credentials/],
    ["https://hooks.example.com@127.0.0.1/", /credentials/],
    ["https://hooks.example.com\\@127.0.0.1/", /backslashes/],
    ["https://hooks.example.com/\tpath", /control characters/],
    [" https://hooks.example.com/", /spaces/],
  ])("refuses %s (credentials and smuggling)", (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it.each([
    ["https://10.0.0.1/", /private address \(10\.0\.0\.0\/8\)/],
    ["https://10.255.255.255/", /private/],
    ["https://172.16.0.1/", /private address \(172\.16\.0\.0\/12\)/],
    ["https://172.31.255.254/", /private/],
    ["https://192.168.1.10/", /private address \(192\.168\.0\.0\/16\)/],
    ["https://100.64.0.1/", /carrier-grade NAT/],
    ["https://100.127.255.255/", /carrier-grade NAT/],
    ["https://100.100.100.200/", /carrier-grade NAT/], // Alibaba's metadata service
    ["https://127.0.0.1/", /loopback/],
    ["https://127.255.0.9/", /loopback/],
    ["https://169.254.169.254/latest/meta-data/", /link-local/],
    ["https://169.254.0.1/", /link-local/],
    ["https://0.0.0.0/", /unspecified/],
    ["https://0.1.2.3/", /unspecified/],
    ["https://224.0.0.1/", /multicast/],
    ["https://255.255.255.255/", /reserved or broadcast/],
    ["https://192.0.2.1/", /documentation/],
    ["https://198.18.0.1/", /benchmarking/],
  ])("refuses %s (IPv4 ranges)", (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it("keeps the edges of the private ranges public", () => {
    for (const url of ["https://172.15.255.255/", "https://172.32.0.0/", "https://100.63.255.255/", "https://100.128.0.0/", "https://11.0.0.1/", "https://192.169.0.1/", "https://169.253.255.255/"]) {
      expect(reason(url), url).toBeNull();
    }
  });

  it.each([
    ["https://2130706433/", "127.0.0.1"], // decimal
    ["https://0x7f000001/", "127.0.0.1"], // hex
    ["https://0x7f.0x0.0x0.0x1/", "127.0.0.1"], // hex parts
    ["https://0177.0.0.1/", "127.0.0.1"], // octal
    ["https://017700000001/", "127.0.0.1"], // octal whole
    ["https://127.1/", "127.0.0.1"], // shortened
    ["https://127.0.1/", "127.0.0.1"],
    ["https://10.1/", "10.0.0.1"],
    ["https://0/", "0.0.0.0"],
    ["https://127.0.0.1./", "127.0.0.1"], // trailing dot
    ["https://%31%32%37.0.0.1/", "127.0.0.1"], // percent-encoded
    ["https://0x08080808/", "8.8.8.8"], // even a public address, written oddly
    ["https://134744072/", "8.8.8.8"],
  ])("refuses the non-standard IPv4 form %s (= %s)", (url, canonical) => {
    expect(reason(url)).toMatch(new RegExp(`non-standard form .* means ${canonical.replace(/\./g, "\\.")}`));
  });

  it.each([
    ["https://[::1]/", /loopback/],
    ["https://[0:0:0:0:0:0:0:1]/", /loopback/],
    ["https://[::]/", /unspecified/],
    ["https://[::ffff:127.0.0.1]/", /IPv4-mapped/],
    ["https://[::ffff:7f00:1]/", /IPv4-mapped/],
    ["https://[::ffff:169.254.169.254]/", /IPv4-mapped/],
    ["https://[::ffff:8.8.8.8]/", /IPv4-mapped/],
    ["https://[::127.0.0.1]/", /IPv4-compatible/],
    ["https://[64:ff9b::a9fe:a9fe]/", /NAT64/],
    ["https://[fc00::1]/", /unique local/],
    ["https://[fd00:ec2::254]/", /unique local/], // AWS's IPv6 metadata service
    ["https://[fe80::1]/", /link-local/],
    ["https://[febf::1]/", /link-local/],
    ["https://[fec0::1]/", /site-local/],
    ["https://[ff02::1]/", /multicast/],
    ["https://[2001:db8::1]/", /documentation/],
    ["https://[2002:7f00:1::]/", /6to4/],
    ["https://[2001:0:4136:e378::1]/", /Teredo/],
  ])("refuses %s (IPv6)", (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it.each([
    ["https://localhost/", /localhost/],
    ["https://LOCALHOST:8443/", /localhost/],
    ["https://localhost./", /localhost/],
    ["https://api.localhost/", /localhost/],
    ["https://metadata.google.internal/computeMetadata/v1/", /metadata/],
    ["https://metadata/", /metadata/],
    ["https://metadata.goog/", /metadata/],
    ["https://instance-data/", /metadata/],
    ["https://db.internal/", /\.internal names are internal/],
    ["https://printer.local/", /\.local names are internal/],
    ["https://router.home.arpa/", /internal/],
    ["https://intranet/", /not a fully qualified public host name/],
  ])("refuses %s (host names)", (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it("allows http://127.0.0.1:PORT and http://localhost:PORT only with WEBHOOK_ALLOW_LOOPBACK on", () => {
    for (const url of ["http://127.0.0.1:8787/hook", "http://localhost:3000/hook", "http://127.0.0.1/", "https://localhost:8443/"]) {
      expect(reason(url, local), url).toBeNull();
      expect(reason(url, strict), url).not.toBeNull();
    }
    // The exception is narrow: other loopback spellings and private addresses stay refused.
    expect(reason("http://127.0.0.2:8787/", local)).toMatch(/must use https/);
    expect(reason("https://127.0.0.2:8787/", local)).toMatch(/loopback/);
    expect(reason("http://[::1]:8787/", local)).toMatch(/must use https/);
    expect(reason("http://2130706433:8787/", local)).toMatch(/non-standard form/);
    expect(reason("http://127.1:8787/", local)).toMatch(/non-standard form/);
    expect(reason("http://api.localhost:8787/", local)).toMatch(/must use https/);
    expect(reason("http://10.0.0.1:8787/", local)).toMatch(/must use https/);
    expect(reason("http://user:pw@127.0.0.1:8787/", local)).toMatch(/credentials/);
    expect(reason("http://hooks.example.com/", local)).toMatch(/must use https/);
  });
});

describe("address helpers", () => {
  it("parses IPv6 in every spelling", () => {
    expect(ipv6Groups("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups("2001:db8::8a2e:370:7334")).toEqual([0x2001, 0xdb8, 0, 0, 0, 0x8a2e, 0x370, 0x7334]);
    expect(ipv6Groups("::ffff:10.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
    expect(ipv6Groups("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups("1::2::3")).toBeNull();
    expect(ipv6Groups("1:2:3")).toBeNull();
    expect(ipv6Groups("fe80::1%eth0")).toBeNull();
    expect(ipv6Groups("12345::")).toBeNull();
  });

  it("classifies addresses", () => {
    expect(ipv4Refusal("8.8.8.8")).toBeNull();
    expect(ipv4Refusal("1.1.1.1")).toBeNull();
    expect(ipv4Refusal("172.16.5.4")).toMatch(/private/);
    expect(ipv4Refusal("300.1.1.1")).toMatch(/not a valid/);
    expect(ipv6Refusal("2606:4700:4700::1111")).toBeNull();
    expect(ipv6Refusal("fdff::1")).toMatch(/unique local/);
    expect(ipv6Refusal("nonsense")).toMatch(/not a valid/);
  });
});
