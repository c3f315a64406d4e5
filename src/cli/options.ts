// Parsing of CLI option values with zod, so a bad value says which option and why.
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { PRIORITY_MAX, PRIORITY_MIN } from '../domain/priority.ts';

const make = <T>(schema: z.ZodType<T>, what: string) => (value: string): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(`expected ${what}, got "${value}".`);
  return r.data;
};

export const positiveInt = make(z.coerce.number().int().positive(), 'a whole number ≥ 1');
/** `auto` or a fixed number of calls in flight. */
export const concurrency = make(z.union([z.literal('auto'), z.coerce.number().int().positive()]), '"auto" or a whole number ≥ 1');
export const port = make(z.coerce.number().int().min(0).max(65535), 'a port number (0-65535)');
export const positiveNumber = make(z.coerce.number().positive(), 'a number > 0');
/** A number as typed: blank is not zero. */
const numeric = z.string().trim().min(1);
/** Amounts of money in USD: `25`, `12.50`, or `$25`. */
export const usdAmount = make(numeric.transform((s) => s.replace(/^\$/, '')).pipe(z.coerce.number<string>().finite().positive()), 'an amount in USD > 0, such as 25 or 12.50');
/** A share strictly between 0 and 1, such as 0.8. */
export const fraction = make(numeric.pipe(z.coerce.number<string>().gt(0).lt(1)), 'a fraction between 0 and 1 (exclusive), such as 0.8');
export const atLeastOne = make(numeric.pipe(z.coerce.number<string>().finite().min(1)), 'a number ≥ 1');
export const nonNegativeNumber = make(numeric.pipe(z.coerce.number<string>().finite().min(0)), 'a number ≥ 0');
export const nonNegativeInt = make(numeric.pipe(z.coerce.number<string>().int().min(0)), 'a whole number ≥ 0');
/** A run's Temporal priority: 1 most urgent … 5 least. */
export const priorityKey = make(numeric.pipe(z.coerce.number<string>().int().min(PRIORITY_MIN).max(PRIORITY_MAX)), `a whole number from ${PRIORITY_MIN} (most urgent) to ${PRIORITY_MAX} (least)`);

/** An http(s) URL, or `env:NAME` for a URL the worker reads from its own environment. */
export const webhook = make(
  z.union([
    z.string().regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/),
    z.url({ protocol: /^https?$/ }),
  ]),
  'an http(s) URL or env:NAME (an environment variable of the worker)',
);

/** Durations as 500ms, 30s, 2m, 12h, 30d, or plain milliseconds. */
export const durationMs = make(
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)?$/).transform((s) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms']!;
    return Math.round(Number(m[1]) * unit);
  }),
  'a duration such as 500ms, 30s, 2m, 12h or 30d',
);

/** Exit codes that mean something. */
export const EXIT = { ok: 0, runNotCompleted: 1, usage: 2, unavailable: 3 } as const;

/** A failure the CLI reports as one clear line, with an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}
