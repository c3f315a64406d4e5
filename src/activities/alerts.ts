// Sends a run's alerts to its webhook (Slack incoming webhook or any JSON receiver). The
// webhook may carry a secret token in its path, so it is given as `env:NAME` to keep it out
// of Temporal history, and it never appears in a log line or an error message: only its host.
import { ApplicationFailure } from '@temporalio/common';
import type { AlertPayload } from '../domain/alerts.ts';

const TIMEOUT_MS = 10_000;

/**
 * The URL an alert webhook spec stands for: `env:NAME` reads the worker's environment,
 * anything else must be an http(s) URL. Errors name the variable, never the URL.
 */
export function resolveWebhook(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  let url = spec.trim();
  let where = 'the alert webhook';
  if (url.startsWith('env:')) {
    const name = url.slice('env:'.length).trim();
    if (!name) throw new Error('the alert webhook "env:" names no environment variable; use env:NAME, e.g. env:SLACK_WEBHOOK_URL');
    const value = env[name]?.trim();
    if (!value) throw new Error(`the alert webhook reads the environment variable ${name}, which is not set (or empty) on this worker; set it to the webhook's https URL`);
    url = value;
    where = `the alert webhook (from ${name})`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${where} is not a URL; give an http(s) URL or env:NAME`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new Error(`${where} must be an http(s) URL, not ${parsed.protocol}; give an http(s) URL or env:NAME`);
  }
  return url;
}

/** POSTs the payload as JSON. A bad webhook fails for good; a failed delivery is retried. */
export async function sendAlert(input: { webhook: string; payload: AlertPayload }): Promise<void> {
  let url: string;
  try {
    url = resolveWebhook(input.webhook);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'AlertWebhookInvalid');
  }
  const host = new URL(url).host;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input.payload),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    // Only the error's name and code: undici's causes can quote the address.
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000}s` : (e.cause?.code ?? e.name);
    throw new Error(`the alert webhook at ${host} could not be reached: ${why}`);
  }
  // The body is not quoted: some servers echo the request path, which holds the token.
  await res.body?.cancel().catch(() => {});
  if (!res.ok) throw new Error(`the alert webhook at ${host} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
}
