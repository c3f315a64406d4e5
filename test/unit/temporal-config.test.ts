// Where the CLI and workers look for Temporal: TEMPORAL_ADDRESS, else the dev server's
// localhost:7233 (never "undefined", which envconfig gives when nothing is set).
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connectionConfig, DEFAULT_ADDRESS } from '../../src/temporal-config.ts';
import { tempDir } from '../support/harness.ts';

const saved = { ...process.env };

afterEach(() => {
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_CONFIG_FILE', 'TEMPORAL_PROFILE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

function withoutTemporalEnv(): void {
  delete process.env.TEMPORAL_ADDRESS;
  delete process.env.TEMPORAL_NAMESPACE;
  delete process.env.TEMPORAL_PROFILE;
  // No config-file profile either: a file that does not exist.
  process.env.TEMPORAL_CONFIG_FILE = join(tempDir(), 'none.toml');
}

describe('connectionConfig', () => {
  it('falls back to localhost:7233 when TEMPORAL_ADDRESS is unset', () => {
    withoutTemporalEnv();
    const cfg = connectionConfig();
    expect(cfg.connectionOptions.address).toBe(DEFAULT_ADDRESS);
    expect(DEFAULT_ADDRESS).toBe('localhost:7233');
    expect(cfg.namespace).toBe('default');
  });

  it('uses TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE when set', () => {
    withoutTemporalEnv();
    process.env.TEMPORAL_ADDRESS = '10.1.2.3:7233';
    process.env.TEMPORAL_NAMESPACE = 'jobs';
    const cfg = connectionConfig();
    expect(cfg.connectionOptions.address).toBe('10.1.2.3:7233');
    expect(cfg.namespace).toBe('jobs');
  });
});
