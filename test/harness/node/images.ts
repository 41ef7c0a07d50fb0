// The images a real node runs, all local (nothing is ever pulled): the pod
// sandbox image (a static pause binary built from pause.c, packed as an OCI
// archive by the product image's own writer) and the product image
// (`npm run image`, dist/image/latest.json). Imports them into containerd's
// k8s.io namespace with ctr.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ociArchive } from '../../../scripts/image/oci.ts';
import { tar } from '../../../scripts/image/tar.ts';
import { NodeError, sh, which } from './host.ts';

export const PAUSE_IMAGE = 'localhost/acp/pause:1';
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const IMAGE_INFO = join(ROOT, 'dist', 'image', 'latest.json');

export interface ProductImage {
  archive: string;
  name: string;
  digest: string;
}

/** Builds the pause image archive into dir (gcc -static, ~1 s) and returns its path. */
export function buildPauseImage(dir: string): string {
  if (!which('gcc'))
    throw new NodeError(
      'ACP_ERR_NODE_PREREQ',
      'gcc is required to build the pod sandbox (pause) image: apt-get install gcc libc6-dev',
    );
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'pause');
  sh(
    'gcc',
    ['-static', '-O2', '-s', '-o', bin, join(import.meta.dirname, 'pause.c')],
    'building the pause binary (gcc -static; needs libc6-dev)',
  );
  const layer = tar([{ type: 'file', path: 'pause', mode: 0o755, data: readFileSync(bin) }]);
  const image = ociArchive(PAUSE_IMAGE, [layer], {
    user: '65535:65535',
    workdir: '/',
    env: [],
    entrypoint: ['/pause'],
    cmd: [],
    labels: {},
    created: '1970-01-01T00:00:00Z',
  });
  const archive = join(dir, 'pause.oci.tar');
  writeFileSync(archive, image.archive);
  return archive;
}

/** The product image `npm run image` built last; a clear error naming the command when there is none. */
export function productImage(): ProductImage {
  if (!existsSync(IMAGE_INFO)) {
    throw new NodeError(
      'ACP_ERR_NODE_IMAGE',
      `the product image is not built (${IMAGE_INFO} is missing): run 'npm run image'`,
    );
  }
  const info = JSON.parse(readFileSync(IMAGE_INFO, 'utf8')) as ProductImage;
  if (!existsSync(info.archive)) {
    throw new NodeError(
      'ACP_ERR_NODE_IMAGE',
      `the product image archive ${info.archive} is missing: run 'npm run image'`,
    );
  }
  return info;
}

export function importImage(ctr: string, socket: string, archive: string): void {
  sh(
    ctr,
    ['--address', socket, '-n', 'k8s.io', 'images', 'import', archive],
    `importing ${archive} into containerd`,
  );
}
