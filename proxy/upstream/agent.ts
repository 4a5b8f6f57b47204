// The keep-alive agent of one policy load: idle sockets expire after upstream.keepalive_expiry_seconds.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { CompiledPolicy } from '../../kernel/policy.js';

export function createAgent(secure: boolean, up: CompiledPolicy['raw']['upstream']): http.Agent {
  const AgentClass = secure ? https.Agent : http.Agent;
  const expiryMs = up.keepalive_expiry_seconds * 1000;
  return new (class extends AgentClass {
    // An idle socket must neither keep the process alive nor outlive the upstream's own idle timeout.
    override keepSocketAlive(socket: Socket): boolean {
      socket.setKeepAlive(true, 1000);
      socket.unref();
      socket.setTimeout(expiryMs);
      return true;
    }
    override reuseSocket(socket: Socket, req: http.ClientRequest): void {
      socket.setTimeout(0);
      socket.ref();
      super.reuseSocket(socket, req);
    }
  })({ keepAlive: true, maxSockets: up.max_connections, maxFreeSockets: up.max_keepalive_connections, scheduling: 'lifo' });
}
