import { describe, expect, it } from 'vitest';
import { guardRefusal, promptFacts, type GuardReason } from '../../src/domain/semantic-guard.ts';
import { semanticPrompt } from '../../src/domain/semantic-prompt.ts';

type Case = [a: string, b: string, reason: GuardReason | undefined];

/** Each case both ways round: the guard is symmetric. */
function check(cases: Case[]): void {
  for (const [a, b, reason] of cases) {
    expect(guardRefusal(a, b)?.reason, `${a}  ⟷  ${b}`).toBe(reason);
    expect(guardRefusal(b, a)?.reason, `${b}  ⟷  ${a}`).toBe(reason);
  }
}

describe('semantic guard: what may share an answer', () => {
  it('lets rewordings through: case, punctuation, spacing, synonyms, clause order, contractions', () => {
    check([
      ['The app keeps logging me out.', 'the app keeps logging me out', undefined],
      ['The app keeps logging me out.', 'THE APP KEEPS LOGGING ME OUT!!', undefined],
      ['My invoice export fails.', 'Invoice export fails for me, please help', undefined],
      ['Hi, the dashboard is slow. Thanks, Lena', 'Thanks, Lena. The dashboard is slow.', undefined],
      ['Lena here: the dashboard is slow.', 'The dashboard is slow, says Lena.', undefined],
      ["I can't log in to the portal.", 'I cannot log in to the portal.', undefined],
      ["It doesn't work.", 'It does not work.', undefined],
      ['It is not working since the update', "It isn't working after the update", undefined],
      ['The export has twenty rows.', 'The export has 20 rows.', undefined],
      ['We paid 1,000 dollars.', 'We paid 1000 dollars.', undefined],
      ['It broke on 5 November.', 'It broke on November 5th.', undefined],
      ['It broke at 4 pm.', 'It broke at 16:00.', undefined],
      ['SSO login is broken.', 'Login via SSO is broken.', undefined],
      ['Mr. Smith asked for a refund.', 'A refund was asked for by Mr. Smith.', undefined],
      ['Please draft a reply.', 'Kindly draft a reply.', undefined],
      ["I'm locked out of my account", 'I am locked out of my account', undefined],
      ['Not sure who to ask, but the app is slow.', 'I am not sure whom to ask, but the app is slow.', undefined],
    ]);
  });

  it('refuses a negation added, removed or moved', () => {
    check([
      ['The app logs me out.', 'The app does not log me out.', 'negation'],
      ['The app logs me out.', "The app doesn't log me out.", 'negation'],
      ['I received the refund.', 'I never received the refund.', 'negation'],
      ['Send it with a receipt.', 'Send it without a receipt.', 'negation'],
      ['A refund was issued.', 'No refund was issued.', 'negation'],
      ['Something happened after the update.', 'Nothing happened after the update.', 'negation'],
      ['I am able to sign in.', 'I am unable to sign in.', 'negation'],
      ['I can log in but not export.', 'I can export but not log in.', 'negation'],
      ['It is not slow.', 'It is not not slow.', 'negation'],
      ["We won't renew.", 'We will renew.', 'negation'],
      ['Neither export works.', 'Either export works.', 'negation'],
      // "notification" and "nothingness"-like words are not negations.
      ['Notifications arrive late.', 'Notifications arrive late!', undefined],
      ['Another note about the invoice.', 'another note about the invoice', undefined],
    ]);
  });

  it('refuses changed numbers, in digits or in words', () => {
    check([
      ['The upload fails over 20 MB.', 'The upload fails over 25 MB.', 'number'],
      ['Error 422 on save.', 'Error 423 on save.', 'number'],
      ['We were charged twice.', 'We were charged three times.', 'number'],
      ['It affects 3 users.', 'It affects 30 users.', 'number'],
      ['Refund 19.99 please.', 'Refund 19.90 please.', 'number'],
      ['Set the limit to 5%.', 'Set the limit to 50%.', 'number'],
      ['The first reply was rude.', 'The second reply was rude.', 'number'],
      ['It costs 1,000,000 a year.', 'It costs 100,000 a year.', 'number'],
      ['The balance is -5.', 'The balance is 5.', 'number'],
      ['Ship 2 boxes.', 'Ship boxes.', 'number'],
    ]);
  });

  it('refuses changed dates and times', () => {
    check([
      ['It broke on 5 November.', 'It broke on 6 November.', 'date'],
      ['It broke on 5 November.', 'It broke on 5 December.', 'date'],
      ['It broke on 2024-11-05.', 'It broke on 2024-11-06.', 'date'],
      ['Due 11/05/2024.', 'Due 11/06/2024.', 'date'],
      ['It is slow since Tuesday.', 'It is slow since Wednesday.', 'date'],
      ['It broke at 16:00.', 'It broke at 17:00.', 'date'],
      ['It broke at 4 pm.', 'It broke at 4 am.', 'date'],
      ['Cancel it today.', 'Cancel it tomorrow.', 'date'],
      ['We renew next month.', 'We renew this month.', 'date'],
      ['It happened in March 2024.', 'It happened in March 2025.', 'date'],
      // "may" and "march" are verbs unless a day or a year is beside them.
      ['You may cancel it.', 'You can cancel it.', undefined],
      ['It happened on May 3.', 'It happened on May 4.', 'date'],
    ]);
  });

  it('refuses changed names, handles, ids, account numbers, e-mail addresses and URLs', () => {
    check([
      ['Thanks, Lena', 'Thanks, Marco', 'entity'],
      ['Please call Lena back.', 'Please call Marco back.', 'entity'],
      ['Please call Lena back.', 'Please call back.', 'entity'],
      ['Account #634424 is locked.', 'Account #634425 is locked.', 'entity'],
      ['Ping @alice about it.', 'Ping @bob about it.', 'entity'],
      ['Invoice INV-2024-001 is wrong.', 'Invoice INV-2024-002 is wrong.', 'entity'],
      ['Write to ann@example.com.', 'Write to bob@example.com.', 'entity'],
      ['See https://example.com/a for details.', 'See https://example.com/b for details.', 'entity'],
      ['The iPhone app crashes.', 'The Android app crashes.', 'entity'],
      ['The API is slow.', 'The CLI is slow.', 'entity'],
      ['Dr. Patel asked for it.', 'Dr. Jones asked for it.', 'entity'],
      ['We moved from Acme to Globex.', 'We moved from Globex to Initech.', 'entity'],
      ['Plan A is too expensive.', 'Plan B is too expensive.', 'entity'],
      // The same id in another case or another place is the same id.
      ['Account #AB12 is locked.', 'account #ab12 is locked', undefined],
      // A name at the start of a sentence in one text is still found there.
      ['Thanks, Lena', 'Lena says thanks', undefined],
      ['Thanks, Lena', 'thanks, lena', undefined],
    ]);
  });

  it('refuses changed quoted strings, and a quote present in one text only', () => {
    check([
      ['The error says "Session expired".', 'The error says "Invalid token".', 'quote'],
      ['The error says “Session expired”.', 'The error says “session expired”.', 'quote'],
      ["Rename it to 'beta'.", "Rename it to 'gamma'.", 'quote'],
      ['Run `npm ci` first.', 'Run `npm install` first.', 'quote'],
      ['The error says "Session expired".', 'The error says Session expired.', 'quote'],
      // Apostrophes are not quotes.
      ["The customers' data isn't there.", "The customers' data is not there.", undefined],
      ['The error says "Session expired".', 'the error says "Session expired"', undefined],
    ]);
  });

  it('says what differs, naming the side it was found on', () => {
    expect(guardRefusal('Thanks, Lena', 'Thanks, Marco')).toEqual({ reason: 'entity', detail: 'name "Lena" in the new prompt only' });
    expect(guardRefusal('It broke on 5 November.', 'It broke on 6 November.')?.detail).toMatch(/^date or time "11-(5|6)" in the (new|cached) prompt only$/);
    expect(guardRefusal('The app logs me out.', 'The app does not log me out.')?.detail).toBe('negation "not log" in the cached prompt only (0 vs 1)');
  });

  it('extracts the facts it compares', () => {
    const f = promptFacts('Hi, SSO login fails since Tuesday 5 Nov at 4pm. Account #12, ticket INV-7. It is not "urgent", says Lena.');
    expect(f.dates).toEqual(['11-5', '16:00', 'tuesday']);
    expect(f.identifiers).toEqual(['#12', 'inv-7']);
    expect(f.numbers).toEqual([]);
    expect(f.quotes).toEqual(['urgent']);
    expect(f.negations).toEqual(['urgent']);
    expect(f.names).toEqual(['SSO', 'Tuesday', 'Nov', 'Lena']);
  });
});

describe('semantic prompt: what is compared and what must match exactly', () => {
  const body = (user: string, extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: 'Classify the ticket.' }, { role: 'user', content: user }],
    temperature: 0.2,
    ...extra,
  });
  const prompt = (b: unknown) => {
    const r = semanticPrompt('/v1/chat/completions', b);
    if (!r.ok) throw new Error(r.reason);
    return r.prompt;
  };

  it('embeds the conversation without the system prompt, whitespace folded; case is folded for the embedding only', () => {
    const p = prompt(body('  Hello   Lena,\n\n the app   is SLOW. '));
    expect(p.text).toBe('Hello Lena, the app is SLOW.');
    expect(p.embeddingInput).toBe('hello lena, the app is slow.');
    expect(p.model).toBe('gpt-4o-mini');
    const turns = prompt({ model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: [{ type: 'text', text: 'Refund  me' }] }] });
    expect(turns.text).toBe('user: Hi\nassistant: Hello!\nuser: Refund me');
  });

  it('scopes by model, every answer-changing parameter and the system prompt; not by metadata or user', () => {
    const base = prompt(body('The app is slow.')).scope;
    expect(prompt(body('Something else entirely.')).scope).toBe(base);
    expect(prompt(body('The app is slow.', { metadata: { feature: 'x' }, user: 'u1', prompt_cache_key: 'k' })).scope).toBe(base);
    for (const changed of [
      body('The app is slow.', { model: 'gpt-4o' }),
      body('The app is slow.', { temperature: 0.3 }),
      body('The app is slow.', { max_tokens: 10 }),
      body('The app is slow.', { response_format: { type: 'json_object' } }),
      { ...body('The app is slow.'), messages: [{ role: 'system', content: 'Summarise the ticket.' }, { role: 'user', content: 'The app is slow.' }] },
      { ...body('The app is slow.'), messages: [{ role: 'developer', content: 'Classify the ticket.' }, { role: 'user', content: 'The app is slow.' }] },
    ]) expect(prompt(changed).scope).not.toBe(base);
  });

  it('declines what it cannot judge from text', () => {
    const reason = (url: string, b: unknown) => {
      const r = semanticPrompt(url, b);
      return r.ok ? undefined : r.reason;
    };
    expect(reason('/v1/embeddings', { model: 'm', input: 'x' })).toMatch(/not a chat request/);
    expect(reason('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] })).toMatch(/other than text/);
    expect(reason('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: null, tool_calls: [] }] })).toMatch(/tool/);
    expect(reason('/v1/chat/completions', { model: 'm', messages: [{ role: 'tool', content: '42', tool_call_id: 't' }] })).toMatch(/tool/);
    expect(reason('/v1/chat/completions', { model: 'm', messages: [{ role: 'system', content: 'Be brief.' }] })).toMatch(/no user message/);
    expect(reason('/v1/chat/completions', [])).toMatch(/not an object/);
  });
});
