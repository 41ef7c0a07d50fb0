import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasInjectedSidecar, sidecarNameClash, SIDECAR_MARKER, type PodContainers } from './injected.ts';

const marked = { name: 'acp-sidecar', env: [{ ...SIDECAR_MARKER }] };
const app = { name: 'app' };

describe('the injected sidecar and a name clash', () => {
  const cases: [string, PodContainers, boolean, { init: boolean } | undefined][] = [
    ['a pod without an acp-sidecar is neither', { containers: [app] }, false, undefined],
    [
      'the marked init container is the injected sidecar',
      { initContainers: [marked], containers: [app] },
      true,
      undefined,
    ],
    [
      'an unmarked init container named acp-sidecar is a clash',
      { initContainers: [{ name: 'acp-sidecar' }], containers: [app] },
      false,
      { init: true },
    ],
    [
      'a regular container named acp-sidecar is a clash',
      { containers: [app, { name: 'acp-sidecar' }] },
      false,
      { init: false },
    ],
    ['a marked regular container is still a clash', { containers: [app, marked] }, false, { init: false }],
    [
      'a mark with another value is no mark',
      { initContainers: [{ name: 'acp-sidecar', env: [{ name: SIDECAR_MARKER.name, value: 'me' }] }] },
      false,
      { init: true },
    ],
    ['null lists are empty', { initContainers: null, containers: null }, false, undefined],
  ];
  for (const [name, spec, injected, clash] of cases) {
    it(name, () => {
      assert.equal(hasInjectedSidecar(spec), injected);
      assert.deepEqual(sidecarNameClash(spec), clash);
    });
  }
});
