// The Redis the store tests use: LOLLMS_GUARD_TEST_REDIS_URL (a URL, or "throwaway"), else 127.0.0.1:6379, else a throwaway redis-server of this process.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

const FIX = 'Redis is not listening on 127.0.0.1:6379 and redis-server is not installed. '
  + 'Install it (Debian: apt-get install -y redis-server) or set LOLLMS_GUARD_TEST_REDIS_URL=redis://host:port.';

/** True when something answers PING with +PONG at host:port within the timeout. */
function pings(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString('latin1').startsWith('+PONG')));
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Starts a private redis-server (ended by PID when this process exits) and waits for it to answer. */
async function startThrowaway(): Promise<string> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error(FIX);
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  child.unref();
  for (let i = 0; i < 100; i++) {
    if (await pings('127.0.0.1', port, 200)) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`a throwaway redis-server on port ${port} did not answer; ${FIX}`);
}

/** Base URL (no DB number) of a Redis the tests may write to, under their own key prefixes. */
async function resolveRedis(): Promise<string> {
  const given = process.env.LOLLMS_GUARD_TEST_REDIS_URL;
  if (given === 'throwaway') return startThrowaway(); // a private server even when 6379 answers
  if (given) {
    const u = new URL(given);
    if (!(await pings(u.hostname, Number(u.port || 6379)))) throw new Error(`LOLLMS_GUARD_TEST_REDIS_URL=${given} does not answer PING: start Redis there, or unset the variable to use 127.0.0.1:6379 or a throwaway redis-server`);
    return `${u.protocol}//${u.host}`;
  }
  if (await pings('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  return startThrowaway();
}

export const TEST_REDIS_BASE = await resolveRedis();
/** DB 0 of that Redis. */
export const TEST_REDIS_URL = `${TEST_REDIS_BASE}/0`;
