// Assembles an OCI image-layout archive (the format `ctr images import`,
// `podman load`, `skopeo copy oci-archive:` read) from layer tars and an image
// config: gzip each layer deterministically, write the config, the manifest
// and index.json (with the image name as `io.containerd.image.name` and
// `org.opencontainers.image.ref.name`), then tar the whole layout. Pure: takes
// buffers, returns buffers and digests.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tar, type TarEntry } from './tar.ts';

export interface ImageConfig {
  user: string;
  workdir: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
  created: string;
}

export interface OciImage {
  archive: Buffer;
  /** sha256:... of the manifest: what `ctr images ls` and the kubelet report as the image digest. */
  digest: string;
  configDigest: string;
  layers: { digest: string; size: number; diffId: string }[];
}

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function ociArchive(name: string, layerTars: readonly Buffer[], cfg: ImageConfig): OciImage {
  // gzip with a fixed header (mtime 0, OS byte from zlib) and level: the same tar gives the same blob.
  const layers = layerTars.map((raw) => {
    const gz = gzipSync(raw, { level: 9 });
    return { raw, gz, digest: sha256(gz), diffId: sha256(raw), size: gz.length };
  });
  const config = canonicalJson({
    architecture: 'amd64',
    os: 'linux',
    created: cfg.created,
    config: {
      User: cfg.user,
      WorkingDir: cfg.workdir,
      Env: cfg.env,
      Entrypoint: cfg.entrypoint,
      Cmd: cfg.cmd,
      Labels: cfg.labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: cfg.created, created_by: `scripts/image.ts layer ${i}` })),
  });
  const manifest = canonicalJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: l.digest,
      size: l.size,
    })),
    annotations: cfg.labels,
  });
  const digest = sha256(manifest);
  const index = canonicalJson({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest,
        size: manifest.length,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: {
          'io.containerd.image.name': name,
          'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1),
        },
      },
    ],
  });
  const blob = (b: Buffer): TarEntry => ({
    type: 'file',
    path: `blobs/sha256/${sha256(b).slice('sha256:'.length)}`,
    mode: 0o644,
    data: b,
  });
  const entries: TarEntry[] = [
    { type: 'file', path: 'oci-layout', mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { type: 'file', path: 'index.json', mode: 0o644, data: index },
    { type: 'dir', path: 'blobs', mode: 0o755 },
    { type: 'dir', path: 'blobs/sha256', mode: 0o755 },
    ...[...layers.map((l) => l.gz), config, manifest].map(blob),
  ];
  return {
    archive: tar(entries),
    digest,
    configDigest: sha256(config),
    layers: layers.map((l) => ({ digest: l.digest, size: l.size, diffId: l.diffId })),
  };
}
