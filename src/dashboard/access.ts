// Who may read the dashboard. On loopback anyone on the machine may; on any other address a
// token is required (the CLI refuses to start without one), given as `Authorization: Bearer`,
// or once as `?token=` in the URL a user opens, which sets an HttpOnly cookie for the rest.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'llm_batch_dashboard';

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** 'ok' (and whether the URL carried the token, so a cookie should be set), or 'denied'. */
export function checkAccess(req: IncomingMessage, url: URL, token: string | undefined): 'ok' | 'ok-set-cookie' | 'denied' {
  if (token === undefined) return 'ok';
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && same(auth.slice(7), token)) return 'ok';
  const fromCookie = cookie(req, TOKEN_COOKIE);
  if (fromCookie !== undefined && same(fromCookie, token)) return 'ok';
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null && same(fromUrl, token)) return 'ok-set-cookie';
  return 'denied';
}
