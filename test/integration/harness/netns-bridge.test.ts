// The network namespace of test/harness/netns-bridge.ts (where the harness runs the Velero
// server): a program inside reaches the bridged host addresses and nothing else of the host, and
// may bind a wildcard port that a host process holds on one address — the bind the host's own
// namespace refuses.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeNetwork, type NetworkBridge } from '../../harness/netns-bridge.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const HOST = '127.0.0.1';
let dir: string;
let echo: Server;
let unbridged: Server;
let bridge: NetworkBridge;

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

const port = (server: Server) => {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esd-netns-'));
  echo = createServer((c) => c.on('data', (d) => c.end(`echo ${d}`)));
  unbridged = createServer((c) => c.end('should not be reached'));
  await listen(echo);
  await listen(unbridged);
  bridge = await bridgeNetwork(dir, [{ host: HOST, port: port(echo) }]);
});

afterAll(async () => {
  await bridge?.close();
  echo?.close();
  unbridged?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a Node script inside the namespace; its stdout. */
function inside(script: string): Promise<string> {
  const node = join(PROJECT_ROOT, 'node_modules/.bin/node');
  return new Promise((resolve, reject) => {
    execFile('unshare', bridge.wrap(node, ['-e', script]), { timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const connectScript = (target: number) => `
  const s = require('node:net').connect(${target}, '${HOST}');
  s.on('connect', () => s.write('ping'));
  s.on('data', (d) => { process.stdout.write(String(d)); s.end(); });
  s.on('error', (e) => process.stdout.write(e.code));
`;

describe('a program in the bridged network namespace', () => {
  it('reaches a bridged host address, its connection piped both ways', async () => {
    expect(await inside(connectScript(port(echo)))).toBe('echo ping');
  });

  it('does not reach a host address that is not bridged', async () => {
    expect(await inside(connectScript(port(unbridged)))).toBe('ECONNREFUSED');
  });

  it('binds a wildcard port a host process holds on one address, which the host refuses', async () => {
    const held = port(unbridged);
    const hostBind = await new Promise<string>((resolve) => {
      const s = createServer();
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.listen(held, () => s.close(() => resolve('bound')));
    });
    expect(hostBind).toBe('EADDRINUSE');
    const script = `const s = require('node:net').createServer();
      s.once('error', (e) => process.stdout.write(e.code));
      s.listen(${held}, () => { process.stdout.write('bound'); s.close(); });`;
    expect(await inside(script)).toBe('bound');
  });
});
