// The prober as its own process for the probe-load benchmark (so its TLS
// client work does not share an event loop with the load generator): probes
// one sidecar with operator/src/evidence/probe/workload.ts back to back, or
// one probe every --interval-ms, until SIGTERM; prints the probes made.
//   node probe-loop.ts --spec FILE --interval-ms N
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  probeWorkload,
  type ProbeIdentity,
  type WorkloadTarget,
} from '../../../operator/src/evidence/probe/workload.ts';

const { values } = parseArgs({ options: { spec: { type: 'string' }, 'interval-ms': { type: 'string' } } });
const spec = JSON.parse(readFileSync(values.spec ?? '', 'utf8')) as {
  target: WorkloadTarget;
  identity: ProbeIdentity;
};
const interval = Number(values['interval-ms'] ?? 0);
let stop = false;
let probes = 0;
process.on('SIGTERM', () => (stop = true));
while (!stop) {
  const t0 = Date.now();
  const o = await probeWorkload(spec.target, {
    identity: spec.identity,
    timeoutMs: 10_000,
    now: () => new Date(),
    fetch,
  });
  if (o.failure) process.stderr.write(`probe failed: ${o.failure.code} ${o.failure.message}\n`);
  probes++;
  const wait = interval - (Date.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
process.stdout.write(`${probes}\n`);
