// Parsing of CLI option values with zod, so a bad value says which option and why.
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';

const make = <T>(schema: z.ZodType<T>, what: string) => (value: string): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidArgumentError(`expected ${what}, got "${value}".`);
  return r.data;
};

export const positiveInt = make(z.coerce.number().int().positive(), 'a whole number ≥ 1');
export const port = make(z.coerce.number().int().min(0).max(65535), 'a port number (0-65535)');
export const positiveNumber = make(z.coerce.number().positive(), 'a number > 0');

/** Durations as 500ms, 30s, 2m, or plain milliseconds. */
export const durationMs = make(
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)?$/).transform((s) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms']!;
    return Math.round(Number(m[1]) * unit);
  }),
  'a duration such as 500ms, 30s or 2m',
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
