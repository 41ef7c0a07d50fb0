// The HTTP/2 and gRPC benchmark (issue 16): side by side in one run, the
// sidecar (built JavaScript, shipped node flags, JWT on, mTLS) against
// nginx (http2 + mTLS, proxy_pass to the same HTTP/1.1 upstream; grpc_pass
// to the same h2c gRPC app), the proxy pinned to core 0, oha (--http2,
// client certificates) and the upstreams on core 1, alternating rounds,
// medians and ratios, requests per proxy CPU-second from /proc, and a CPU
// profile of the sidecar's h2 phase (summarised by profile.ts).
//   node test/bench/sidecar/h2.ts            # BENCH_SECONDS=8 BENCH_ROUNDS=3
// BENCH_BASELINE_TREE=DIR (another checkout, e.g. a worktree of an older
// commit): its sidecar, built from that tree, runs as sidecar-baseline in
// the same alternating rounds (before and after share nginx and the
// machine of each round) and is profiled after the sidecar.
// gRPC unary load is oha posting one framed gRPC message (content-type
// application/grpc, te: trailers) to /bench.Echo/Unary: the same HTTP/2
// exchange a gRPC client makes; the app answers with a message and the
// grpc-status 0 trailer (checked once per target before measuring).
import { execFile, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { runOha } from '../oha.ts';
import { CLIENT_ID, PORTS, SHIPPED_NODE_FLAGS, sidecarConfig, upstreamNginx } from './configs.ts';
import { benchPki, benchToken } from './material.ts';
import { benchWorkspace, median, stopProcess, treeCpuSeconds, waitPort } from './procs.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..', '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
// Its own ports (not run.ts's: another benchmark may run on this machine at the same time).
const P = { upstream: 28080, grpc: 28090, nginx: 28443, sidecar: 28445, admin: 28446, outbound: 28447 };
const GRPC_PORT = P.grpc;
const { dir, main: MAIN, baselineMain: BASELINE_MAIN, start } = benchWorkspace('acp-bench-h2-');
const say = (s: string): boolean => process.stdout.write(`${s}\n`);
const { ca, server, client, identityDir } = benchPki(dir, 'localhost');
writeFileSync(join(dir, 'ca.crt'), ca.cert);
writeFileSync(join(dir, 'server.crt'), server.cert);
writeFileSync(join(dir, 'server.key'), server.key);
const { jwk, token } = await benchToken('bench-1', 'bench-client', 7200);
const h1cfg = {
  ...sidecarConfig({ keys: [jwk] }, CLIENT_ID),
  listeners: { inboundPort: P.sidecar, adminPort: P.admin, outboundPort: P.outbound },
};
h1cfg.upstream.port = P.upstream;
writeFileSync(join(dir, 'sidecar-h1app.json'), JSON.stringify(h1cfg));
writeFileSync(
  join(dir, 'sidecar-grpc.json'),
  JSON.stringify({ ...h1cfg, upstream: { ...h1cfg.upstream, port: GRPC_PORT, protocol: 'h2c' } }),
);
writeFileSync(
  join(dir, 'upstream.conf'),
  upstreamNginx(dir).replace(String(PORTS.upstream), String(P.upstream)),
);
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log ${dir}/nginx-access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/nx-tmp; proxy_temp_path ${dir}/nx-tmp; fastcgi_temp_path ${dir}/nx-tmp; uwsgi_temp_path ${dir}/nx-tmp; scgi_temp_path ${dir}/nx-tmp;
  upstream app { server 127.0.0.1:${P.upstream}; keepalive 128; }
  upstream grpcapp { server 127.0.0.1:${GRPC_PORT}; keepalive 128; }
  server {
    listen 127.0.0.1:${P.nginx} ssl http2;
    ssl_certificate ${dir}/server.crt; ssl_certificate_key ${dir}/server.key;
    ssl_client_certificate ${dir}/ca.crt; ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
    ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256;
    ssl_session_cache shared:SSL:10m;
    http2_max_requests 10000000; keepalive_timeout 60s;
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /bench.Echo/ { grpc_pass grpc://grpcapp; }
  }
}
`,
);
// The gRPC app: h2c, answers every call with one message and grpc-status 0 (node:http2, core 1).
writeFileSync(
  join(dir, 'grpc-app.mjs'),
  `import http2 from 'node:http2';
const msg = Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]);
const s = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
s.on('session', (ss) => ss.on('error', () => {}));
s.on('stream', (st) => {
  st.on('error', () => {});
  st.on('data', () => {});
  st.on('end', () => {
    if (st.destroyed || st.closed) return; // reset by the proxy (its client went away)
    st.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    st.once('wantTrailers', () => {
      if (!st.destroyed) st.sendTrailers({ 'grpc-status': '0' });
    });
    st.end(msg);
  });
});
s.listen(${GRPC_PORT}, '127.0.0.1');
`,
);
const grpcBody = join(dir, 'grpc-request.bin');
writeFileSync(grpcBody, Buffer.from([0, 0, 0, 0, 5, 119, 111, 114, 108, 100]));

/** One gRPC call with node:http2 through `port`: the grpc-status the client reads (headers or trailers). */
function grpcCheck(port: number): Promise<string | undefined> {
  return new Promise((done) => {
    const c = h2connect(`https://localhost:${port}`, { ca: ca.cert, cert: client.cert, key: client.key });
    c.on('error', () => done(undefined));
    const r = c.request({
      ':method': 'POST',
      ':path': '/bench.Echo/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${token}`,
    });
    let status: string | undefined;
    r.on('response', (h) => (status = (h['grpc-status'] as string | undefined) ?? status));
    r.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    r.on('data', () => undefined);
    r.on('close', () => {
      c.close();
      done(status);
    });
    r.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

const LOAD = ['--http2', '-c', '16', '-p', '8'];
const tls = ['--cacert', ca.certPath, '--cert', client.certPath, '--key', client.keyPath];
const auth = ['-H', `Authorization: Bearer ${token}`];
const grpcArgs = ['-m', 'POST', '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-D', grpcBody];

interface Phase {
  name: string;
  path: string;
  extra: string[];
}
const PHASES: Phase[] = [
  { name: 'h2', path: '/', extra: [] },
  { name: 'grpc-unary', path: '/bench.Echo/Unary', extra: grpcArgs },
];
interface Target {
  name: string;
  port: number;
  /** Starts the proxy for a phase (the sidecar runs with the app of that phase). */
  start(phase: Phase, extra?: string[]): ChildProcess;
}
const sidecar = (phase: Phase, extra: string[] = [], main = MAIN): ChildProcess =>
  start(
    [
      'taskset',
      '-c',
      '0',
      process.execPath,
      ...SHIPPED_NODE_FLAGS,
      ...extra,
      main,
      '--config',
      join(dir, phase.name === 'h2' ? 'sidecar-h1app.json' : 'sidecar-grpc.json'),
      '--identity-dir',
      identityDir,
      '--host',
      '127.0.0.1',
    ],
    'sidecar.log',
  );
const TARGETS: Target[] = [
  {
    name: 'nginx',
    port: P.nginx,
    start: () => start(['taskset', '-c', '0', 'nginx', '-c', join(dir, 'nginx.conf')], 'nginx.out'),
  },
  { name: 'sidecar', port: P.sidecar, start: sidecar },
  ...(BASELINE_MAIN
    ? [
        {
          name: 'sidecar-baseline',
          port: P.sidecar,
          start: (phase: Phase, extra?: string[]) => sidecar(phase, extra, BASELINE_MAIN),
        },
      ]
    : []),
];

say(`# HTTP/2 + gRPC benchmark: ${ROUNDS} rounds x ${SECONDS}s, dir ${dir}`);
start(['taskset', '-c', '1', 'nginx', '-c', join(dir, 'upstream.conf')], 'upstream.out');
start(['taskset', '-c', '1', process.execPath, join(dir, 'grpc-app.mjs')], 'grpc-app.out');
await waitPort(P.upstream);
await waitPort(GRPC_PORT);
const results = new Map<string, { rps: number[]; perCpu: number[] }>();
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
  for (const phase of PHASES) {
    for (const t of order) {
      const p = t.start(phase);
      await waitPort(t.port);
      if (phase.name === 'grpc-unary' && round === 0)
        say(`${t.name}: one gRPC call -> grpc-status ${await grpcCheck(t.port)}`);
      const url = `https://localhost:${t.port}${phase.path}`;
      await runOha(['-z', '2s', ...LOAD, ...tls, ...auth, ...phase.extra, url], '1');
      const c0 = await treeCpuSeconds(p.pid ?? 0);
      const r = await runOha(['-z', `${SECONDS}s`, ...LOAD, ...tls, ...auth, ...phase.extra, url], '1');
      const c1 = await treeCpuSeconds(p.pid ?? 0);
      await stopProcess(p);
      const ok = r.statuses['200'] ?? 0;
      const perCpu = r.total / Math.max(0.01, c1 - c0);
      const key = `${phase.name} ${t.name}`;
      const e = results.get(key) ?? { rps: [], perCpu: [] };
      e.rps.push(r.rps);
      e.perCpu.push(perCpu);
      results.set(key, e);
      say(
        `round ${round + 1} ${key}: ${r.rps.toFixed(0)} req/s (${perCpu.toFixed(0)} per proxy CPU-s, ${(((c1 - c0) / SECONDS) * 100).toFixed(0)}% of core 0), p99 ${r.p99ms.toFixed(2)} ms, non-200 ${r.total - ok}`,
      );
    }
  }
}
say('\n## medians and ratios (sidecar / nginx)');
for (const phase of PHASES) {
  const n = results.get(`${phase.name} nginx`);
  for (const name of ['sidecar', 'sidecar-baseline']) {
    const s = results.get(`${phase.name} ${name}`);
    if (!n || !s) continue;
    const [nr, sr, nc, sc] = [median(n.rps), median(s.rps), median(n.perCpu), median(s.perCpu)];
    say(
      `${phase.name}: nginx ${nr.toFixed(0)} req/s, ${name} ${sr.toFixed(0)} req/s -> ${(sr / nr).toFixed(2)}x; per proxy CPU-s nginx ${nc.toFixed(0)}, ${name} ${sc.toFixed(0)} -> ${(sc / nc).toFixed(2)}x`,
    );
  }
}
// Where the sidecar's time goes in each phase (and the baseline's, when there is one).
const profiled = BASELINE_MAIN ? [MAIN, BASELINE_MAIN] : [MAIN];
for (const phase of PHASES)
  for (const main of profiled) {
    const profDir = join(dir, `prof-${phase.name}${main === MAIN ? '' : '-baseline'}`);
    const p = sidecar(phase, ['--cpu-prof', `--cpu-prof-dir=${profDir}`], main);
    await waitPort(P.sidecar);
    await runOha(
      [
        '-z',
        `${SECONDS}s`,
        ...LOAD,
        ...tls,
        ...auth,
        ...phase.extra,
        `https://localhost:${P.sidecar}${phase.path}`,
      ],
      '1',
    );
    await stopProcess(p);
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    const who = main === MAIN ? 'sidecar' : 'sidecar-baseline';
    say(`\n## CPU profile, ${who}, ${phase.name} (${file ? join(profDir, file) : 'none written'})`);
    if (file) {
      const { stdout } = await run(process.execPath, [
        join(root, 'test/bench/sidecar/profile.ts'),
        join(profDir, file),
      ]);
      say(stdout);
    }
  }
process.exit(0);
