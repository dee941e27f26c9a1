// Browser login (shared/api.ts): GET /login?code=<one-time code> and POST /login with the launch's API token.
// A field engineer who opens the printed link a second time, or in another browser, gets a page that says why and
// lets them log in with the token printed at start, instead of a bare JSON error. API clients (no text/html in
// Accept) keep getting `{ error }`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { SESSION_COOKIE, type ApiAuth } from '../auth.ts';

/** Bytes a login form may post (a token is 43 characters). */
const FORM_LIMIT = 4096;

function wantsHtml(req: FastifyRequest): boolean {
  return /\btext\/html\b/.test(req.headers.accept ?? '');
}

/** Login attempts (GET with a code, POST with a token) one client address may make per minute; more get 429. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 20;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The login page: why the engineer is here, and a form for the API token (no script, no external resources). */
const LOGIN_STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:3rem auto;max-width:34rem;padding:0 1rem;color:#1d2430}
h1{font-size:1.3rem}p.why{background:#fff4e5;border:1px solid #f0c37a;padding:.6rem .8rem;border-radius:4px}
input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem;margin:.3rem 0 .8rem}button{font:inherit;padding:.4rem 1rem}
code{background:#eef1f5;padding:0 .25rem;border-radius:3px}`;

/** The page's CSP: nothing but its own inline style (by hash) and a form posting to this origin. */
const LOGIN_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(LOGIN_STYLE).digest('base64')}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export function loginPage(reason: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>RackSeed: log in</title>
<style>${LOGIN_STYLE}</style></head>
<body><h1>RackSeed</h1>
<p class="why">${escapeHtml(reason)}</p>
<p>A login link works once. In the browser that used it you are still logged in: open <a href="/">the UI</a>.
Elsewhere, log in with the API token printed when RackSeed started (<code>rackseed serve</code> prints
<code>RackSeed API token (this launch only): …</code>, <code>npm run lab</code> prints <code>API token: export RACKSEED_TOKEN=…</code>),
or the <code>RACKSEED_TOKEN</code> it was started with.</p>
<form method="post" action="/login"><label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button type="submit">Log in</button></form></body></html>
`;
}

function refuse(req: FastifyRequest, reply: FastifyReply, error: string, reason: string): FastifyReply {
  reply.code(401).header('cache-control', 'no-store');
  return wantsHtml(req) ? reply.type('text/html; charset=utf-8').header('content-security-policy', LOGIN_CSP).send(loginPage(reason)) : reply.send({ error });
}

function startSession(reply: FastifyReply, sid: string, status: 302 | 303): FastifyReply {
  reply.header('set-cookie', `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/`);
  return reply.redirect('/', status);
}

/**
 * The login routes, public, in their own encapsulated plugin: form bodies (application/x-www-form-urlencoded) are
 * parsed here only; every other route answers 415 to a form post.
 */
export async function registerLoginRoutes(app: FastifyInstance, auth: ApiAuth): Promise<void> {
  await app.register(async (login) => {
    login.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    /** One-time code → session cookie, 302 to /. A spent code in a browser that is already logged in also goes to /. */
    const limited = { access: 'public' as const, rateLimit: { max: LOGIN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000 } };
    login.get('/login', { config: limited }, async (req, reply) => {
      const code = (req.query as Record<string, unknown>).code;
      const sid = typeof code === 'string' ? auth.redeem(code) : null;
      if (sid) return startSession(reply, sid, 302);
      if (auth.isAuthorized(req)) return reply.redirect('/', 302);
      return typeof code === 'string'
        ? refuse(req, reply, 'login code unknown or already used', 'This login link was already used (or belongs to an earlier launch of the daemon).')
        : refuse(req, reply, 'login code missing', 'Log in with the API token.');
    });

    /** The launch's API token (form field `token`) → session cookie, 303 to /. */
    login.post('/login', { config: limited }, async (req, reply) => {
      const token = (req.body as Record<string, unknown> | undefined)?.token;
      if (typeof token !== 'string' || !auth.checkToken(token.trim())) {
        return refuse(req, reply, 'wrong token', 'That is not the API token of this launch of the daemon.');
      }
      return startSession(reply, auth.newSession(), 303);
    });
  });
}
