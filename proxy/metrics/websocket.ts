// WebSocket metrics: connections opened and closed (by route bucket and close reason), open now, bytes each way, lifetimes.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestContext } from '../../kernel/context.js';
import { routeLabel } from './labels.js';

export interface WebSocketMetrics {
  /** After the upstream's 101. */
  opened(ctx: RequestContext): void;
  /** When an opened connection is over (called from Metrics.request for upgraded contexts). */
  closed(ctx: RequestContext): void;
}

const LIFETIME_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 86400];
const REASONS: ReadonlySet<string> = new Set(['client', 'upstream', 'idle_timeout', 'max_lifetime', 'shutdown', 'error']);

export function createWebSocketMetrics(registry: Registry, prefix: string): WebSocketMetrics {
  const registers = [registry];
  const opened = new Counter({ name: `${prefix}websocket_connections_total`, help: 'WebSocket connections opened (upstream answered 101), by route bucket.', labelNames: ['route'] as const, registers });
  const closed = new Counter({ name: `${prefix}websocket_closed_total`, help: 'WebSocket connections closed, by route bucket and reason (client, upstream, idle_timeout, max_lifetime, shutdown, error).', labelNames: ['route', 'reason'] as const, registers });
  const active = new Gauge({ name: `${prefix}websocket_open_connections`, help: 'WebSocket connections open now.', registers });
  const bytes = new Counter({ name: `${prefix}websocket_bytes_total`, help: 'WebSocket bytes relayed after the 101, by direction (to_upstream, to_client).', labelNames: ['direction'] as const, registers });
  const lifetime = new Histogram({ name: `${prefix}websocket_duration_seconds`, help: 'Lifetime of closed WebSocket connections.', buckets: LIFETIME_BUCKETS, registers });
  active.set(0);
  for (const d of ['to_upstream', 'to_client']) bytes.inc({ direction: d }, 0);
  return {
    opened(ctx) {
      opened.inc({ route: routeLabel(ctx.path) });
      active.inc();
    },
    closed(ctx) {
      const w = ctx.websocket;
      if (!w?.opened) return;
      const reason = w.closeReason && REASONS.has(w.closeReason) ? w.closeReason : 'error';
      closed.inc({ route: routeLabel(ctx.path), reason });
      active.dec();
      if (ctx.requestBytes > 0) bytes.inc({ direction: 'to_upstream' }, ctx.requestBytes);
      if (ctx.responseBytes > 0) bytes.inc({ direction: 'to_client' }, ctx.responseBytes);
      if (w.openedAt !== undefined) lifetime.observe(Math.max(0, (Date.now() - w.openedAt) / 1000));
    },
  };
}
