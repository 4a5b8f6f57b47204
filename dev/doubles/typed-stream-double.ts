// An OpenAI-shaped upstream double that streams scripted SSE events (Responses API, Messages API, chat with reasoning and logprobs) one write at a time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TypedStreamDouble { url: string; setEvents(path: string, events: object[]): void; close(): Promise<void> }

/** `event:` lines are sent for typed events (objects with a `type`), as OpenAI and Anthropic do. */
export async function startTypedStreamDouble(): Promise<TypedStreamDouble> {
  const scripts = new Map<string, object[]>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const path = (req.url ?? '/').split('?')[0];
      const events = scripts.get(path);
      if (!events) { res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}'); return; }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const e of events) {
        const type = (e as { type?: unknown }).type;
        res.write(`${typeof type === 'string' ? `event: ${type}\n` : ''}data: ${JSON.stringify(e)}\n\n`);
        await new Promise((r) => setTimeout(r, 5)); // separate TCP writes: the proxy sees the events apart
      }
      if (path === '/v1/chat/completions') res.write('data: [DONE]\n\n');
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setEvents: (path, events) => { scripts.set(path, events); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
