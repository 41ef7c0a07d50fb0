import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SIDECAR_VERSION } from './version.ts';

describe('SIDECAR_VERSION', () => {
  it('is the version in sidecar/package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(SIDECAR_VERSION, pkg.version);
  });
});
