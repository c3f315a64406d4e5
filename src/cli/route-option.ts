// `run --route FILE`: the rules file read and checked on the user's machine before anything
// starts (a bad file is a usage error, exit 2); the parsed rules go into the RunConfig.
import type { RunMode } from '../domain/run-types.ts';
import { routeRulesProblem, type RouteRules } from '../domain/route-rules.ts';
import { loadPricing } from '../llm/pricing-file.ts';
import { loadRouteFile, RouteFileError } from '../input/route-file.ts';
import { CliError } from './options.ts';

export interface RouteOption {
  rules: RouteRules;
  /** Things worth saying that do not stop the run. */
  notes: string[];
}

export const ROUTE_HELP = 'model routing rules (YAML or JSON): the first rule that matches an item (metadata.feature, prompt tokens, a regex on the last user message, a custom_id prefix, a canary percentage) sends it to its model, to a path (hybrid), or to a classifier; see README "Model routing"';

/** Reads, validates and checks the rules against the mode and the pricing table; CliError (exit 2) when unusable. */
export function routeOption(file: string, mode: RunMode, pricingPath?: string): RouteOption {
  let rules: RouteRules;
  try {
    rules = loadRouteFile(file);
  } catch (e) {
    if (e instanceof RouteFileError) throw new CliError(`--route: invalid rules file\n${e.message}`);
    throw e;
  }
  let problem: string | undefined;
  try {
    problem = routeRulesProblem(rules, mode, loadPricing(pricingPath));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (problem) throw new CliError(`--route ${file}: ${problem}`);
  const notes: string[] = [];
  if (mode !== 'hybrid' && rules.rules.some((r) => r.route !== undefined)) {
    notes.push(`--route ${file}: the rules' route targets (realtime/batch) apply in --mode hybrid only; in --mode ${mode} every item goes ${mode}`);
  }
  return { rules, notes };
}
