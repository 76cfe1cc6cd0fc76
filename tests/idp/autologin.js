#!/usr/bin/env node
// Drive a team-vault login the way a browser would, over plain HTTP, with no browser.
//
//   node tests/idp/autologin.js --user alice [--password pw] [--print-loopback] URL
//
// URL is either
//  - an authorization URL (the server's /oauth/authorize?... as printed by `vault login --no-browser`,
//    or an IdP /auth?... URL directly): redirects are followed by hand through the server and the
//    IdP, the IdP's login form is filled in (any password works at the dev IdP), a consent page is
//    accepted if one shows up, until a redirect reaches the request's own `redirect_uri` (the CLI's
//    loopback listener). That URL is printed as `LOOPBACK=<url>` and fetched (so a waiting
//    `vault login` gets its code) unless --print-loopback is given;
//  - a device page URL (the server's /device?user_code=...): the confirm form is posted (hidden
//    `csrf` and `user_code`, `confirm=yes`), then the same IdP login, until the server's
//    /oauth/callback answers 200; prints `APPROVED`.
// Anything unexpected: status and a body excerpt on stderr, exit 1. See docs/CONTRACT.md.
//
// Cookies are kept per origin (scheme://host:port), like separate sites, honouring Path and
// Max-Age/Expires. At most MAX_HOPS requests are made, so a redirect loop cannot hang a test.

import { parseArgs } from 'node:util';

const MAX_HOPS = 20;
const TIMEOUT_MS = 10_000;
const USAGE = 'usage: autologin.js --user LOGIN [--password PW] [--print-loopback] URL';

function fail(message) {
  process.stderr.write(`autologin: ${message}\n`);
  process.exit(1);
}

let opts;
let positionals;
try {
  ({ values: opts, positionals } = parseArgs({
    options: {
      user: { type: 'string' },
      password: { type: 'string', default: 'password' },
      'print-loopback': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
    allowPositionals: true,
    strict: true,
  }));
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}\n`);
  process.exit(2);
}
if (!opts.user || positionals.length !== 1) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let start;
try {
  start = new URL(positionals[0]);
} catch {
  process.stderr.write(`not a URL: ${positionals[0]}\n${USAGE}\n`);
  process.exit(2);
}

const log = opts.verbose ? (m) => process.stderr.write(`autologin: ${m}\n`) : () => {};

// The request's own redirect_uri is where the flow ends: the CLI's loopback listener.
const redirectUri = start.searchParams.get('redirect_uri');
const deviceFlow = !redirectUri && start.pathname.replace(/\/+$/, '').endsWith('/device');
if (!redirectUri && !deviceFlow) {
  fail(`URL has no redirect_uri and is not a /device page: ${start.href}`);
}

function isLoopback(url) {
  if (!redirectUri) return false;
  const target = new URL(redirectUri);
  return url.origin === target.origin && url.pathname === target.pathname;
}

// ---- cookie jar: origin → [{ name, value, path, expires }] ----
const jar = new Map();

function storeCookies(url, response) {
  const cookies = jar.get(url.origin) ?? [];
  for (const header of response.headers.getSetCookie()) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: null, expires: Infinity };
    for (const attr of attrs) {
      const [k, ...v] = attr.split('=');
      const key = k.trim().toLowerCase();
      const val = v.join('=').trim();
      if (key === 'path' && val.startsWith('/')) cookie.path = val;
      else if (key === 'max-age') cookie.expires = Date.now() + Number(val) * 1000;
      else if (key === 'expires' && cookie.expires === Infinity) cookie.expires = Date.parse(val) || Infinity;
    }
    // Default path (RFC 6265 5.1.4): the request path up to its last slash.
    cookie.path ??= url.pathname.slice(0, Math.max(1, url.pathname.lastIndexOf('/')));
    const i = cookies.findIndex((c) => c.name === cookie.name && c.path === cookie.path);
    if (i >= 0) cookies.splice(i, 1);
    if (cookie.expires > Date.now()) cookies.push(cookie);
  }
  jar.set(url.origin, cookies);
}

function pathMatches(cookiePath, requestPath) {
  return requestPath === cookiePath
    || (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'));
}

function cookieHeader(url) {
  const now = Date.now();
  return (jar.get(url.origin) ?? [])
    .filter((c) => c.expires > now && pathMatches(c.path, url.pathname))
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

// ---- minimal HTML form parsing (the pages involved are small and machine-generated) ----
function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attributes(tag) {
  const attrs = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-][\w:.-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]);
    const inputs = {};
    for (const input of m[2].matchAll(/<(?:input|button)\b([^>]*)>/gi)) {
      const a = attributes(input[1]);
      if (a.name) inputs[a.name] = a.value ?? '';
    }
    forms.push({ action: attrs.action ?? '', method: (attrs.method ?? 'get').toLowerCase(), inputs });
  }
  return forms;
}

// ---- the walk ----
function excerpt(body) {
  const text = body.replace(/\s+/g, ' ').trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

let hops = 0;
async function request(method, url, form) {
  hops += 1;
  if (hops > MAX_HOPS) fail(`gave up after ${MAX_HOPS} requests (redirect loop?) at ${method} ${url.href}`);
  const headers = { 'user-agent': 'team-vault-autologin', accept: 'text/html,application/json;q=0.9,*/*;q=0.8' };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  log(`${method} ${url.href}`);
  let response;
  try {
    response = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    fail(`${method} ${url.href}: ${err.cause?.message ?? err.message}`);
  }
  storeCookies(url, response);
  const text = await response.text();
  log(`→ ${response.status}${response.headers.get('location') ? ` ${response.headers.get('location')}` : ''}`);
  return { status: response.status, location: response.headers.get('location'), text };
}

function unexpected(url, res, why) {
  process.stderr.write(`autologin: ${why}: HTTP ${res.status} from ${url.href}\n${excerpt(res.text)}\n`);
  process.exit(1);
}

let method = 'GET';
let url = start;
let form;
let loggedIn = false;
for (;;) {
  // eslint-disable-next-line no-await-in-loop
  const res = await request(method, url, form);

  if (res.status >= 300 && res.status < 400 && res.status !== 304) {
    if (!res.location) unexpected(url, res, 'redirect without Location');
    const next = new URL(res.location, url);
    if (isLoopback(next)) {
      process.stdout.write(`LOOPBACK=${next.href}\n`);
      const error = next.searchParams.get('error');
      if (!opts['print-loopback']) {
        // Deliver the code (or the error) to the waiting CLI, as the browser would.
        const delivered = await request('GET', next);
        if (delivered.status !== 200) unexpected(next, delivered, 'loopback listener refused the redirect');
      }
      if (error) fail(`login ended with error=${error}: ${next.searchParams.get('error_description') ?? ''}`);
      if (!next.searchParams.get('code')) fail(`loopback redirect carries no code: ${next.href}`);
      process.exit(0);
    }
    // 307/308 repeat the request as is; 301/302/303 become a GET (what browsers do).
    if (res.status !== 307 && res.status !== 308) {
      method = 'GET';
      form = undefined;
    }
    url = next;
    continue;
  }

  if (res.status !== 200) unexpected(url, res, 'unexpected status');

  const forms = parseForms(res.text);
  const login = forms.find((f) => f.inputs.prompt === 'login');
  const consent = forms.find((f) => f.inputs.prompt === 'consent');
  const device = forms.find((f) => 'csrf' in f.inputs && 'user_code' in f.inputs);

  if (login) {
    if (loggedIn) unexpected(url, res, 'the IdP asked to log in again (login refused?)');
    loggedIn = true;
    form = { ...login.inputs, prompt: 'login', login: opts.user, password: opts.password };
  } else if (consent) {
    form = { ...consent.inputs, prompt: 'consent' };
  } else if (device) {
    form = { csrf: device.inputs.csrf, user_code: device.inputs.user_code, confirm: 'yes' };
  } else if (deviceFlow && url.origin === start.origin && url.pathname.endsWith('/oauth/callback')) {
    // The server's callback answered 200: the device code is approved.
    process.stdout.write('APPROVED\n');
    process.exit(0);
  } else {
    unexpected(url, res, 'page without a form this script knows');
  }
  const f = login ?? consent ?? device;
  if (f.method !== 'post') unexpected(url, res, `form method ${f.method} (expected post)`);
  method = 'POST';
  url = new URL(f.action || url.href, url);
}
