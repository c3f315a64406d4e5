// `run --pack N` and `--pack-max-tokens`: parsed from the command line into the run's
// configuration, refused (usage errors) where they cannot apply.
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { addRunOptions, runConfigFrom, type RunOptions } from '../../src/cli/run.ts';
import { CliError } from '../../src/cli/options.ts';

const parse = (args: string[]): RunOptions => {
  const cmd = addRunOptions(new Command('run').argument('<file>').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(['in.jsonl', ...args], { from: 'user' });
  return cmd.opts<RunOptions>();
};

describe('--pack options', () => {
  it('puts --pack and --pack-max-tokens in the run configuration', () => {
    expect(runConfigFrom('/in.jsonl', parse(['--pack', '10', '--pack-max-tokens', '8000']))).toMatchObject({ pack: 10, packMaxTokens: 8000 });
    expect(runConfigFrom('/in.jsonl', parse(['--pack', '10', '--mode', 'hybrid']))).toMatchObject({ pack: 10, mode: 'hybrid' });
    const off = runConfigFrom('/in.jsonl', parse([]));
    expect(off.pack).toBeUndefined();
    // --pack 1 is one item a call: no packing.
    expect(runConfigFrom('/in.jsonl', parse(['--pack', '1'])).pack).toBeUndefined();
  });

  it('refuses what cannot apply, saying why', () => {
    expect(() => runConfigFrom('/in.jsonl', parse(['--pack', '10', '--mode', 'batch']))).toThrow(/--pack .* not supported with --mode batch/);
    expect(() => runConfigFrom('/in.jsonl', parse(['--pack-max-tokens', '8000']))).toThrow(CliError);
    expect(() => parse(['--pack', '0'])).toThrow();
    expect(() => parse(['--pack', 'ten'])).toThrow();
  });
});
