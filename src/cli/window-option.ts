// --window DURATION with --per-window-items N and/or --per-window-budget USD: the options of
// daily windows (domain/run-window.ts) and their checks.
import { Option } from 'commander';
import { windowPolicyProblem, type WindowPolicy } from '../domain/run-window.ts';
import { CliError, durationMs, positiveInt, usdAmount } from './options.ts';

/** The three options, new for each command that takes them. */
export const windowOptions = (): Option[] => [
  new Option(
    '--window <duration>',
    'pace the run by windows of this length (e.g. 24h): each window does at most --per-window-items items and/or spends at most --per-window-budget, then the run waits in waiting_window on a durable timer until the next window starts (at least this long after the last one started). Items are counted and money reserved as each chunk or batch file is dispatched, so a window never passes its item quota; in batch mode each window\'s items go in that window\'s own batch files. The --sample runs before the first window',
  ).argParser(durationMs),
  new Option('--per-window-items <n>', 'with --window: most items one window may do').argParser(positiveInt),
  new Option('--per-window-budget <usd>', 'with --window: most one window may spend, in USD, reserved per dispatch like --budget (spend can pass it only by what was in flight)').argParser(usdAmount),
];

/** The run's window policy from the options, or undefined without --window; a usage error when they do not fit together. */
export function windowPolicyFrom(opts: { window?: number; perWindowItems?: number; perWindowBudget?: number }): WindowPolicy | undefined {
  if (opts.window === undefined) {
    if (opts.perWindowItems !== undefined || opts.perWindowBudget !== undefined) throw new CliError('--per-window-items and --per-window-budget need --window DURATION (e.g. --window 24h --per-window-items 100000)');
    return undefined;
  }
  if (opts.perWindowItems === undefined && opts.perWindowBudget === undefined) throw new CliError('--window needs a quota: --per-window-items N and/or --per-window-budget USD');
  const policy: WindowPolicy = { everyMs: opts.window };
  if (opts.perWindowItems !== undefined) policy.items = opts.perWindowItems;
  if (opts.perWindowBudget !== undefined) policy.budgetUsd = opts.perWindowBudget;
  const problem = windowPolicyProblem(policy);
  if (problem) throw new CliError(`--window: ${problem}`);
  return policy;
}
