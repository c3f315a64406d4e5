// The --route rules file: YAML and JSON, validated, every problem named by file, line and field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRouteFile, MAX_ROUTE_FILE_BYTES, parseRouteRules, RouteFileError } from '../../src/input/route-file.ts';

const problems = (text: string, source = 'rules.yaml'): string[] => {
  try {
    parseRouteRules(text, source);
  } catch (e) {
    if (e instanceof RouteFileError) return e.problems;
    throw e;
  }
  throw new Error('expected the file to be refused');
};

describe('--route rules file', () => {
  it('reads YAML and JSON into the same rules', () => {
    const yaml = `
# summaries: 5% canary on the mini model, the rest stays
rules:
  - name: summary-canary
    match: { feature: summary, percent: 5 }
    model: gpt-4.1-mini
  - name: triage
    match:
      feature: triage
    classifier:
      model: gpt-4.1-nano
      answers: { simple: gpt-4.1-mini, complex: gpt-4.1 }
`;
    const json = JSON.stringify({
      rules: [
        { name: 'summary-canary', match: { feature: 'summary', percent: 5 }, model: 'gpt-4.1-mini' },
        { name: 'triage', match: { feature: 'triage' }, classifier: { model: 'gpt-4.1-nano', answers: { simple: 'gpt-4.1-mini', complex: 'gpt-4.1' } } },
      ],
    }, null, 2);
    expect(parseRouteRules(yaml, 'r.yaml')).toEqual(parseRouteRules(json, 'r.json'));
    expect(parseRouteRules(yaml, 'r.yaml').rules[1]!.classifier!.answers).toEqual({ simple: 'gpt-4.1-mini', complex: 'gpt-4.1' });
  });

  it('names the line and field of each problem, in file order', () => {
    const text = [
      'rules:', //                       1
      '  - name: ok', //                 2
      '    model: gpt-4.1', //           3
      '  - match:', //                   4
      '      featrue: summary', //       5
      '    model: gpt-4.1', //           6
      '  - name: bad-regex', //          7
      '    match:', //                   8
      '      regex: "refund("', //       9
      '    model: gpt-4.1', //          10
      '  - name: c', //                 11
      '    route: batch', //            12
      '    classifier:', //             13
      '      model: gpt-4.1-nano', //   14
      '      answers: { simple: a }', // 15
      '  - name: ok', //                16
      '    match: { percent: 0 }', //   17
      '    route: later', //            18
      '  - name: nothing', //           19
    ].join('\n');
    expect(problems(text)).toEqual([
      'rules.yaml:5: rules[1].match.featrue: Unrecognized key: "featrue"',
      'rules.yaml:9: rules[2].match.regex: invalid regular expression: /refund(/: Unterminated group',
      'rules.yaml:12: rules[3].route: a classifier rule\'s items are rated when they are dispatched on the realtime path: route must be realtime (or left out)',
      'rules.yaml:15: rules[3].classifier.answers: needs at least two answers, e.g. {simple: gpt-4.1-mini, complex: gpt-4.1}',
      'rules.yaml:16: rules[4].name: "ok" is already the name of rules[0]',
      expect.stringMatching(/^rules\.yaml:17: rules\[4\]\.match\.percent: Too small: expected number to be >0/),
      expect.stringMatching(/^rules\.yaml:18: rules\[4\]\.route: Invalid option: expected one of "realtime"\|"batch"/),
      'rules.yaml:19: rules[5]: a rule needs a target: model, route or classifier',
    ]);
  });

  it('reports YAML syntax errors and JSON files with their line', () => {
    expect(problems('rules:\n  - model: gpt-4.1\n    model: gpt-4o\n')).toEqual([expect.stringMatching(/^rules\.yaml:3: Map keys must be unique/)]);
    expect(problems('{\n  "rules": [\n    { "model": "gpt-4.1",\n      "matc": {} }\n  ]\n}', 'rules.json')).toEqual(['rules.json:4: rules[0].matc: Unrecognized key: "matc"']);
    expect(problems('{ "rules": [ }', 'rules.json')[0]).toMatch(/^rules\.json:1: /);
    expect(problems('')).toEqual(['rules.yaml:1: the file is empty; it needs "rules:", a list of at least one rule']);
    expect(problems('rules: []')).toEqual([expect.stringMatching(/^rules\.yaml:1: rules: Too small: expected array to have >=1 items/)]);
    expect(problems('rules:\n  - model: a\n    classifier: { model: b, answers: { x: c, y: d }, otherwise: z }\n')).toEqual([
      'rules.yaml:3: rules[0].classifier.otherwise: "z" is not one of the answers (x, y)',
      'rules.yaml:3: rules[0].classifier: a rule has either a model or a classifier that picks one, not both',
    ]);
  });

  it('refuses a missing or oversized file, naming it as the user did', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    expect(() => loadRouteFile(join(dir, 'none.yaml'), 'none.yaml')).toThrow(/^none\.yaml: cannot read the rules file \(ENOENT\)/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `rules:\n  - model: gpt-4.1\n#${'x'.repeat(MAX_ROUTE_FILE_BYTES)}\n`);
    expect(() => loadRouteFile(big, 'big.yaml')).toThrow(/^big\.yaml: \d+ bytes; a rules file may have at most 65536/);
    const ok = join(dir, 'ok.yaml');
    writeFileSync(ok, 'rules:\n  - model: gpt-4.1\n');
    expect(loadRouteFile(ok)).toEqual({ rules: [{ model: 'gpt-4.1' }] });
  });
});
