import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveWebhook, sendAlert } from '../../src/activities/alerts.ts';
import { alertPayload } from '../../src/domain/alerts.ts';

const SECRET_PATH = '/services/T000/B000/s3cr3t-t0ken';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let server: Server;
let base: string;
let received: Received[] = [];
let answerStatus = 200;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answerStatus;
      // Like many frameworks' error pages, quote the request path: it must not reach an error message.
      res.end(answerStatus === 200 ? 'ok' : `Cannot POST ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  answerStatus = 200;
});

const payload = alertPayload(
  'budget_yellow',
  { runId: 'run-abc', state: 'running', done: 1200, remaining: 3800, total: 5000, spentUsd: 32.1, budgetUsd: 40, estimateToFinishUsd: 101.5 },
  '2026-11-02T09:30:00.000Z',
);

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('resolveWebhook', () => {
  it('passes http(s) URLs through', () => {
    expect(resolveWebhook('https://hooks.slack.com/services/T/B/x', {})).toBe('https://hooks.slack.com/services/T/B/x');
    expect(resolveWebhook('http://127.0.0.1:9999/hook', {})).toBe('http://127.0.0.1:9999/hook');
  });

  it('reads env:NAME from the given environment', () => {
    expect(resolveWebhook('env:SLACK_HOOK', { SLACK_HOOK: 'https://hooks.example.com/abc' })).toBe('https://hooks.example.com/abc');
  });

  it('names the variable when it is unset or empty, without any value', () => {
    expect(() => resolveWebhook('env:SLACK_HOOK', {})).toThrow(/SLACK_HOOK.*not set/);
    expect(() => resolveWebhook('env:SLACK_HOOK', { SLACK_HOOK: '  ' })).toThrow(/SLACK_HOOK/);
    expect(() => resolveWebhook('env:', {})).toThrow(/env:NAME/);
  });

  it('refuses what is not an http(s) URL, without quoting it', () => {
    const notUrl = (() => {
      try {
        resolveWebhook('hooks.slack.com/services/s3cr3t-t0ken', {});
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(notUrl).toMatch(/not a URL/);
    expect(notUrl).not.toContain('s3cr3t');
    expect(() => resolveWebhook('ftp://example.com/s3cr3t', {})).toThrow(/http\(s\) URL, not ftp:/);
    expect(() => resolveWebhook('env:HOOK', { HOOK: 'file:///etc/passwd' })).toThrow(/from HOOK.*http\(s\)/);
  });
});

describe('sendAlert', () => {
  it('POSTs the payload as JSON, with the text Slack reads', async () => {
    await sendAlert({ webhook: base + SECRET_PATH, payload });
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r!.method).toBe('POST');
    expect(r!.url).toBe(SECRET_PATH);
    expect(r!.contentType).toBe('application/json');
    const body = JSON.parse(r!.body);
    expect(body).toEqual(payload);
    expect(body.text).toContain('*llm-batch run-abc*: budget at 80% (yellow)');
  });

  it('resolves env:NAME from the worker environment', async () => {
    const name = 'LLM_BATCH_TEST_ALERT_WEBHOOK';
    process.env[name] = base + '/from-env';
    try {
      await sendAlert({ webhook: `env:${name}`, payload });
    } finally {
      delete process.env[name];
    }
    expect(received.map((r) => r.url)).toEqual(['/from-env']);
  });

  it('rejects, retryably, on a non-2xx answer, naming the status and the host only', async () => {
    answerStatus = 500;
    const err = await rejection(sendAlert({ webhook: base + SECRET_PATH, payload }));
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toMatch(/the alert webhook at 127\.0\.0\.1:\d+ answered HTTP 500/);
    expect(err.message).not.toContain('s3cr3t');
    expect(err.message).not.toContain('/services');
    expect(JSON.stringify(err)).not.toContain('s3cr3t');
  });

  it('fails for good when the env variable is missing', async () => {
    const err = await rejection(sendAlert({ webhook: 'env:LLM_BATCH_TEST_SURELY_UNSET', payload }));
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('AlertWebhookInvalid');
    expect(failure.message).toContain('LLM_BATCH_TEST_SURELY_UNSET');
    expect(received).toHaveLength(0);
  });

  it('fails for good on a URL that is not http(s)', async () => {
    const err = await rejection(sendAlert({ webhook: 'mailto:ops@example.com?token=s3cr3t', payload }));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('AlertWebhookInvalid');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('rejects, retryably, when nothing listens, without the path', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await rejection(sendAlert({ webhook: `http://127.0.0.1:${port}${SECRET_PATH}`, payload }));
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect(err.message).toBe(`the alert webhook at 127.0.0.1:${port} could not be reached: ECONNREFUSED`);
  });
});
