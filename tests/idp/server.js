#!/usr/bin/env node
// Development OpenID provider for team-vault tests and the local demo.
//
// A real, certified OpenID provider (panva's oidc-provider, pinned in package.json) with a
// deliberately permissive setup: any password logs in, a handful of fixed users carry groups,
// and consent is skipped. A test-only POST /admin/users/:login (loopback only) changes a user's
// groups or disables them at run time. See docs/CONTRACT.md ("Development OpenID provider").
//
//   node tests/idp/server.js [--port N] [--client-id ID] [--client-secret SECRET]
//                            [--ttl-id-token SECONDS] [--ttl-access-token SECONDS] ...
//                            [--bind ADDRESS]
//
// --bind (default 127.0.0.1) only changes the listening address, for containers
// (docker-compose.yml binds 0.0.0.0); the issuer stays http://127.0.0.1:PORT.
//
// Prints exactly one line on stdout, `ISSUER=http://127.0.0.1:PORT`, once it accepts connections
// (everything else goes to stderr), so scripts can start it with --port 0 and read the issuer.

import http from 'node:http';
import crypto from 'node:crypto';
import { parseArgs, promisify } from 'node:util';

const USAGE = 'usage: server.js [--port N] [--client-id ID] [--client-secret SECRET] [--ttl-<name> SECONDS ...] [--bind ADDRESS]';

// --ttl-id-token 60 → ttl.IdToken = 60, --ttl-access-token → AccessToken, --ttl-session → Session, ...
// (any key of oidc-provider's `ttl` configuration, written in kebab case).
const ttl = {};
const argv = [];
{
  const raw = process.argv.slice(2);
  for (let i = 0; i < raw.length; i += 1) {
    const m = /^--ttl-([a-z-]+)(?:=(.*))?$/.exec(raw[i]);
    if (!m) {
      argv.push(raw[i]);
      continue;
    }
    const value = m[2] ?? raw[i + 1];
    if (m[2] === undefined) i += 1;
    const seconds = Number(value);
    if (!Number.isInteger(seconds) || seconds <= 0) {
      console.error(`--ttl-${m[1]}: expected a positive number of seconds, got ${value}\n${USAGE}`);
      process.exit(2);
    }
    const name = m[1].split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
    ttl[name] = seconds;
  }
}

let args;
try {
  ({ values: args } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      bind: { type: 'string', default: '127.0.0.1' },
      'client-id': { type: 'string', default: 'team-vault' },
      'client-secret': { type: 'string', default: 'dev-secret' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (err) {
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.error(USAGE);
  process.exit(0);
}
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port: not a port number: ${args.port}\n${USAGE}`);
  process.exit(2);
}

// A fresh signing key per run: tests never need a stable one, and this avoids oidc-provider's
// built-in development key (and its warning). RS256, the algorithm relying parties accept by
// default. Generated in the background while the module loads and the port is bound.
const newSigningKey = () => promisify(crypto.generateKeyPair)('rsa', { modulusLength: 2048 })
  .then(({ privateKey }) => ({ ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' }));
const signingKey = newSigningKey();

// oidc-provider prints notices with console.info (stdout): keep stdout for the ISSUER line. Its
// warnings about what a development setup does on purpose (in-memory storage, the built-in login
// form, Node 20 instead of 22) are dropped so test logs show only what matters.
const EXPECTED_WARNINGS = [/Unsupported runtime/, /development-only in-memory adapter/, /development-only feature devInteractions/];
console.info = console.error;
console.log = console.error;
const warn = console.warn.bind(console);
console.warn = (msg, ...rest) => {
  if (typeof msg === 'string' && EXPECTED_WARNINGS.some((re) => re.test(msg))) return;
  warn(msg, ...rest);
};
// Imported only now, so the redirection above is in place before the module loads.
const { default: Provider } = await import('oidc-provider');

// Token lifetimes (seconds), oidc-provider's defaults written out (it nags when its default
// functions are used); --ttl-* options override them.
const TTL_DEFAULTS = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  Grant: 14 * 24 * 3600,
  IdToken: 3600,
  Interaction: 3600,
  RefreshToken: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
};

// The fixed test users. Any other login exists too, with no groups. `eve` claims alice's address
// without having verified it; `zoe` logs in as `zoe` and is called Zoë (an accented email).
// Tests change groups and disable people at run time through POST /admin/users/:login.
const USERS = new Map(Object.entries({
  alice: { groups: ['dev'] },
  bob: { groups: ['dev', 'ops'] },
  admin: { groups: ['admins'] },
  eve: { groups: ['dev'], email: 'alice@example.com', email_verified: false },
  zoe: { groups: ['dev'], email: 'zoë@example.com', name: 'Zoë' },
}));

function account(login) {
  const user = USERS.get(login) ?? {};
  if (user.disabled) return undefined;
  return {
    accountId: login,
    // oidc-provider filters these by the granted scopes/claims.
    async claims() {
      return {
        sub: login,
        email: user.email ?? `${login}@example.com`,
        email_verified: user.email_verified ?? true,
        name: user.name ?? login,
        preferred_username: login,
        groups: user.groups ?? [],
      };
    },
  };
}

// Test-only admin endpoints, on loopback only. `POST /admin/rotate-keys` signs with a new key from
// now on (the old one is no longer published). `POST /admin/userinfo-lies` makes userinfo answer
// for another person (`sub` mallory) from now on. `POST /admin/users/:login` with a JSON object of
// `groups` (list of strings) and/or `disabled` (boolean) changes that user from now on (a disabled
// user is unknown to token refreshes and userinfo). Answers 200 with the user as it now is.
const ADMIN_RE = /^\/admin\/users\/([A-Za-z0-9._@-]{1,64})$/;
const ADMIN_MAX_BODY = 4096;
// Set by POST /admin/userinfo-lies: what userinfo (GET /me) answers instead of the truth.
let userinfoLie;
// Set once the provider exists: POST /admin/rotate-keys replaces it with one signing with a new key.
let rotateKeys = async () => { throw new Error('starting'); };
function isLoopback(address) {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
function admin(req, res) {
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const m = ADMIN_RE.exec(new URL(req.url, 'http://x').pathname);
  if (!isLoopback(req.socket.remoteAddress)) return reply(403, { error: 'loopback only' });
  if (req.method === 'POST' && req.url === '/admin/userinfo-lies') {
    // From now on userinfo answers for someone else: a relying party must notice the other `sub`.
    userinfoLie = { sub: 'mallory', email: 'mallory@example.com', email_verified: true, groups: ['admins'] };
    return reply(200, userinfoLie);
  }
  if (req.method === 'POST' && req.url === '/admin/rotate-keys') {
    rotateKeys().then((kid) => reply(200, { kid }), (err) => reply(500, { error: err.message }));
    return undefined;
  }
  if (req.method !== 'POST' || !m) return reply(404, { error: 'POST /admin/users/:login' });
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > ADMIN_MAX_BODY) {
      reply(413, { error: 'body too large' });
      req.destroy();
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (size > ADMIN_MAX_BODY) return undefined;
    let change;
    try {
      change = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(400, { error: 'body is not JSON' });
    }
    const user = { ...(USERS.get(m[1]) ?? {}) };
    if (change.groups !== undefined) {
      if (!Array.isArray(change.groups) || !change.groups.every((g) => typeof g === 'string')) {
        return reply(400, { error: 'groups: a list of strings' });
      }
      user.groups = change.groups;
    }
    if (change.disabled !== undefined) {
      if (typeof change.disabled !== 'boolean') return reply(400, { error: 'disabled: a boolean' });
      user.disabled = change.disabled;
    }
    USERS.set(m[1], user);
    console.error(`dev IdP admin: ${m[1]} is now ${JSON.stringify(user)}`);
    return reply(200, { login: m[1], ...user });
  });
  return undefined;
}

// Redirect URIs the client may use: the server's callback on a loopback address, on any port, so
// a vault-server on a random test port needs no registration step.
const CALLBACK_RE = /^http:\/\/(?:127\.0\.0\.1|\[::1\]):([0-9]{1,5})\/oauth\/callback$/;
function loopbackCallback(uri) {
  const m = typeof uri === 'string' && CALLBACK_RE.exec(uri);
  return Boolean(m) && Number(m[1]) > 0 && Number(m[1]) <= 65535;
}

// Bind first: the issuer must carry the real port (port 0 = any free port), and the provider is
// created only once it is known. Requests arriving before then get a 503.
let callback = (_req, res) => {
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end('starting\n');
};
function route(req, res) {
  if (req.url.startsWith('/admin/')) return admin(req, res);
  if (userinfoLie && req.url.split('?')[0] === '/me') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(userinfoLie));
  }
  return callback(req, res);
}
const server = http.createServer(route);
server.on('error', (err) => {
  console.error(`dev IdP: ${err.message}`);
  process.exit(1);
});
await new Promise((resolve) => server.listen(port, args.bind, resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

// The provider, made again with a new signing key by POST /admin/rotate-keys (which also forgets
// its in-memory sessions and grants: a test of key rotation logs in afresh).
function makeProvider(key) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // oidc-provider accepts both client_secret_basic and client_secret_post for a client
      // registered with either of them (the Rust openidconnect crate uses basic by default).
      token_endpoint_auth_method: 'client_secret_basic',
      // Placeholder: the real check is the redirectUriAllowed override below.
      redirect_uris: ['http://127.0.0.1:8080/oauth/callback'],
    }],
    async findAccount(_ctx, id) {
      return account(id);
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // Refresh tokens for `offline_access` (the server asks for it, to re-read groups later), as
    // oidc-provider's default does; written out so the choice is visible.
    async issueRefreshToken(_ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    // Put the scope claims (email, groups) into the ID token too, as many real IdPs do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    // No consent screen: grant whatever OIDC scopes and claims the client asked for.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      const grant = grantId
        ? await ctx.oidc.provider.Grant.find(grantId)
        : new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.account.accountId,
        });
      if (!grant) return undefined;
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      await grant.save();
      return grant;
    },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    jwks: { keys: [key] },
    ttl: { ...TTL_DEFAULTS, ...ttl },
    // The built-in development login form (any password) is what tests and autologin.js fill in.
    features: { devInteractions: { enabled: true } },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  // Accept any loopback port for the server's callback (RFC 8252 style). oidc-provider only relaxes
  // the port for `application_type: native` clients, and native clients always get a consent
  // prompt, so the check is overridden on this provider's Client model instead.
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return this.redirectUris.includes(value) || loopbackCallback(value);
  };

  provider.on('server_error', (_ctx, err) => console.error('dev IdP server_error:', err));
  return provider;
}

callback = makeProvider(await signingKey).callback();
rotateKeys = async () => {
  const key = await newSigningKey();
  callback = makeProvider(key).callback();
  console.error(`dev IdP admin: signing with a new key ${key.kid}`);
  return key.kid;
};
process.stdout.write(`ISSUER=${issuer}\n`);
console.error(`dev IdP listening: issuer ${issuer}, client ${args['client-id']}`);

// Stop cleanly: refuse new connections, drop idle keep-alive ones, exit.
function stop(signal) {
  console.error(`dev IdP: ${signal}, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
