// WebSocket and Socket.IO endpoints of the LoLLMS double: /ws/dm/{token}, /v1/realtime, /ws/reject and Socket.IO.
import type http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server as SocketIoServer } from 'socket.io';

export interface Handshake { url: string; headers: IncomingHttpHeaders }

export interface RealtimeDouble {
  /** Every WebSocket handshake the double saw (Socket.IO's included), in order. */
  readonly handshakes: Handshake[];
  /** WebSocket connections open on the double now (Socket.IO's included). */
  open(): number;
  /** Closes every open WebSocket from the upstream side. */
  closeAll(): void;
  close(): Promise<void>;
}

/**
 * What the endpoints do:
 * - `/ws/...` (`/ws/dm/{token}`...) and `/v1/realtime`: echo every message; "burst:N" answers N bytes in one message;
 *   "close" makes the double close with 1000; "headers" answers the handshake headers it saw as JSON.
 *   `/v1/realtime` picks the subprotocol "realtime" when offered.
 * - `/ws/reject`: answers 403 with a version header and a traceback instead of 101.
 * - Socket.IO (`/socket.io/`): event "echo" acks its argument; "generate_msg" emits three "text_chunk"
 *   events and a "done", like the legacy web UI's generation.
 */
export function attachRealtime(server: http.Server): RealtimeDouble {
  const handshakes: Handshake[] = [];
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('realtime') ? 'realtime' : false),
  });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', () => undefined);
    ws.on('message', (data, binary) => {
      const text = binary ? '' : data.toString();
      if (text === 'close') return ws.close(1000, 'bye');
      if (text === 'headers') return ws.send(JSON.stringify(req.headers));
      const burst = /^burst:(\d+)$/.exec(text);
      if (burst) return ws.send('x'.repeat(Number(burst[1])));
      ws.send(data, { binary });
    });
  });
  const io = new SocketIoServer(server, { serveClient: false, destroyUpgrade: false, pingInterval: 1000, pingTimeout: 5000 });
  io.engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    if (req.headers.upgrade) handshakes.push({ url: req.url ?? '/', headers: req.headers });
  });
  io.on('connection', (s) => {
    s.on('echo', (v: unknown, ack?: (x: unknown) => void) => ack?.(v));
    s.on('generate_msg', (v: { prompt?: string }) => {
      for (const piece of ['Hel', 'lo ', 'there']) s.emit('text_chunk', { chunk: piece, prompt_length: String(v?.prompt ?? '').length });
      s.emit('done', { ok: true });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/socket.io/')) return; // engine.io answers these
    handshakes.push({ url: req.url ?? '/', headers: req.headers });
    if (path === '/ws/reject') {
      const body = 'Traceback (most recent call last):\n  File "/home/lollms/ws.py", line 3\nPermissionError\n';
      socket.end(`HTTP/1.1 403 Forbidden\r\nServer: uvicorn\r\nX-Powered-By: lollms 9.8\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    if (path.startsWith('/ws/') || path === '/v1/realtime') {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  });
  return {
    handshakes,
    open: () => sockets.size + io.engine.clientsCount,
    closeAll: () => {
      for (const ws of sockets) ws.terminate();
      io.disconnectSockets(true);
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      io.disconnectSockets(true);
      io.engine.close(); // not io.close(): that would close the double's HTTP server under it
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
