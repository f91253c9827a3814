/*
 * Foresight in-app banner: an upgrade offer for accounts that are ready to expand.
 *
 *   <script src="https://HOST/banner.js" data-account="ACCOUNT_ID" data-key="BANNER_KEY" async></script>
 *
 * data-account       required: the account id
 * data-key           required: a key with only the `banner` scope (safe to publish)
 * data-api           API base URL (default: the origin this script is loaded from)
 * data-message       banner text (default: a generic upgrade offer)
 * data-cta-href      an http(s) link to show as a call to action
 * data-cta-text      its text (default "See plans")
 * data-dismiss-days  days a dismissal is remembered in localStorage (default 30)
 *
 * Calls GET /v1/accounts/{id}/expansion and shows the banner only if `expansionReady` is true.
 * When done it dispatches `foresight:expansion` on document with detail
 * {accountId, shown, expansionReady?, dismissed?, error?}. It never throws to the page.
 */
(() => {
  const d = document;
  const s = d.currentScript || d.querySelector('script[data-account][src*="banner.js"]');
  const a = (s && s.dataset) || {};
  const id = a.account;
  const storeKey = "foresight:banner-dismissed:" + id;
  let done = false;
  const finish = (detail) => {
    if (done) return;
    done = true;
    try {
      d.dispatchEvent(new CustomEvent("foresight:expansion", { detail: { accountId: id || null, ...detail } }));
    } catch {}
  };
  const fail = (e) => finish({ shown: false, error: String((e && e.message) || e) });
  const el = (tag, text) => {
    const e = d.createElement(tag);
    if (text) e.textContent = text;
    return e;
  };

  const CSS = `:host{all:initial!important;display:block!important}
.b{position:fixed;z-index:2147483000;left:16px;right:16px;bottom:16px;max-width:40rem;margin:0 auto;box-sizing:border-box;
display:flex;flex-wrap:wrap;align-items:center;gap:12px;padding:14px 16px;border-radius:10px;background:#1e293b;color:#f8fafc;
font:15px/1.45 system-ui,sans-serif;box-shadow:0 8px 24px #0f172a4d;animation:in .25s ease-out}
p{margin:0;flex:1 1 16rem}
a{color:#1e293b;background:#fde68a;padding:6px 12px;border-radius:6px;font-weight:600;text-decoration:none}
a:hover{background:#fcd34d}
button{all:unset;box-sizing:border-box;cursor:pointer;width:32px;height:32px;margin-left:auto;border-radius:6px;text-align:center;font:22px/32px system-ui,sans-serif}
button:hover{background:#334155}
:focus-visible{outline:3px solid #fbbf24;outline-offset:2px}
@keyframes in{from{opacity:0;transform:translateY(12px)}}
@media (prefers-reduced-motion:reduce){.b{animation:none}}
@media (forced-colors:active){.b{border:1px solid CanvasText}}`;

  let host;
  const run = async () => {
    if (!id || !a.key) throw new Error("data-account and data-key are required");
    try {
      if (Number(localStorage.getItem(storeKey)) > Date.now()) return finish({ shown: false, dismissed: true });
    } catch {}
    const base = (a.api || new URL(s.src).origin).replace(/\/+$/, "");
    const r = await fetch(`${base}/v1/accounts/${encodeURIComponent(id)}/expansion`, {
      headers: { Authorization: "Bearer " + a.key },
      credentials: "omit",
      signal: AbortSignal.timeout && AbortSignal.timeout(10000),
    });
    if (!r.ok) throw new Error("HTTP " + r.status);
    if ((await r.json()).expansionReady !== true) return finish({ shown: false, expansionReady: false });
    if (!d.body) await new Promise((go) => d.addEventListener("DOMContentLoaded", go));

    host = el("foresight-banner");
    const box = el("div");
    box.className = "b";
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Offer");
    box.setAttribute("aria-live", "polite");
    host.attachShadow({ mode: "open" }).append(el("style", CSS), box);
    d.body.append(host);
    const close = () => {
      host.remove();
      try {
        const n = parseFloat(a.dismissDays);
        localStorage.setItem(storeKey, String(Date.now() + (n >= 0 ? n : 30) * 864e5));
      } catch {}
    };
    box.addEventListener("keydown", (e) => e.key === "Escape" && close());
    // Filled once the live region is in the page, so screen readers announce the text.
    await new Promise((go) => setTimeout(go, 100));
    box.append(el("p", a.message || "Your team is getting a lot out of your plan. Upgrade to unlock more seats, features and support."));
    if (a.ctaHref && /^https?:$/.test(new URL(a.ctaHref, location.href).protocol)) {
      const link = el("a", a.ctaText || "See plans");
      link.href = a.ctaHref;
      box.append(link);
    }
    const btn = el("button", "\u00d7");
    btn.type = "button";
    btn.title = "Dismiss";
    btn.setAttribute("aria-label", "Dismiss");
    btn.addEventListener("click", close);
    box.append(btn);
    finish({ shown: true, expansionReady: true });
  };
  run().catch((e) => {
    if (host) host.remove();
    fail(e);
  });
})();
