// Records Kubernetes Events (events.k8s.io/v1) about objects, so
// `kubectl describe` and `kubectl get events` show what the operator did
// and why. Reasons are stable CamelCase codes; a failure to record is
// logged, never fatal. The caller decides when something is worth an Event
// (state changes only).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '@acp/crds';
import type { KubeClient } from './client.ts';
import { RESOURCES, resourcePath } from './resources.ts';
import type { Clock } from './clock.ts';
import { microTime } from './leader.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(target: EventTarget, type: EventType, reason: string, action: string, note: string): void;
}

export function createEventRecorder(opts: {
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  instance: string;
  /** events.k8s.io reportingController (default acp.dev/operator). */
  reportingController?: string;
  onRecord?: (type: EventType, reason: string) => void;
}): EventRecorder {
  return {
    record(target, type, reason, action, note) {
      const body = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${target.name}.${randomBytes(8).toString('hex')}`, namespace: target.namespace },
        eventTime: microTime(opts.clock.now()),
        reportingController: opts.reportingController ?? 'acp.dev/operator',
        reportingInstance: opts.instance.slice(0, 128),
        action,
        reason,
        type,
        note: note.slice(0, 1024),
        regarding: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          namespace: target.namespace,
          name: target.name,
          ...(target.uid ? { uid: target.uid } : {}),
        },
      };
      opts.onRecord?.(type, reason);
      opts.client.create(resourcePath(RESOURCES.event, target.namespace), body).catch((e: unknown) => {
        opts.logger.warn(
          { err: errorMessage(e), reason, target: `${target.namespace}/${target.name}` },
          'could not record event',
        );
      });
    },
  };
}
