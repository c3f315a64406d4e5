// Loads pricing tables for workers and the CLI: the bundled pricing/pricing.json, or the
// user's --pricing FILE. Both are validated, so a bad file fails with its path and field.
import { readFileSync } from 'node:fs';
import bundled from '../../pricing/pricing.json' with { type: 'json' };
import { parsePricingTable, type PricingTable } from '../domain/pricing.ts';


let defaultTable: PricingTable | undefined;

/** The bundled table (pricing/pricing.json), validated once. */
export function loadDefaultPricing(): PricingTable {
  defaultTable ??= parsePricingTable(bundled, 'pricing/pricing.json');
  return defaultTable;
}

/** A user's table (--pricing FILE): same shape as pricing/pricing.json. */
export function loadPricingFile(path: string): PricingTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read pricing file: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: pricing file is not valid JSON: ${(e as Error).message}`);
  }
  return parsePricingTable(json, path);
}

/** The table a run uses: its --pricing file when given, else the bundled one. */
export function loadPricing(path?: string): PricingTable {
  return path ? loadPricingFile(path) : loadDefaultPricing();
}
