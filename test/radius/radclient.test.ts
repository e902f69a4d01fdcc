import { spawn } from 'node:child_process';
import { RadiusServer, type AccessRequestContext } from '../../src/radius/server.js';
import { getStringAttribute } from '../../src/radius/attributes.js';
import { vlanAttributes } from '../../src/radius/tunnel.js';
import { requireTool } from '../helpers/require-tool.js';
import { MemoryLog } from '../helpers/silent-log.js';

/*
 * Interop with FreeRADIUS 3.2.1 radclient: it validates Response Authenticator and
 * Message-Authenticator of what we send, and decrypts MS-MPPE keys.
 */

const radclient = requireTool('radclient');
const SECRET = 'radclient-interop';

function run(tool: string, args: string[], input: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the server under test lives in this process's event loop.
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

(radclient ? describe : describe.skip)('radclient interop', () => {
  let server: RadiusServer;
  let port: number;
  const calls: AccessRequestContext[] = [];
  const msk = Uint8Array.from({ length: 64 }, (_, i) => i);

  beforeAll(async () => {
    server = new RadiusServer({
      clients: [{ name: 'radclient', address: '127.0.0.1', secret: SECRET }],
      log: new MemoryLog(),
      handler: async (ctx) => {
        calls.push(ctx);
        const password = Buffer.from(ctx.userPassword() ?? []).toString();
        if (password !== 'arctangent') return { code: 3 };
        return {
          code: 2,
          mppe: { recv: msk.subarray(0, 32), send: msk.subarray(32) },
          attributes: [{ type: 1, value: Buffer.from(getStringAttribute(ctx.packet, 1) ?? '') }, ...vlanAttributes(100)],
        };
      },
    });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  afterAll(async () => {
    await server.close();
  });

  test('status: answered (echo "Message-Authenticator = 0x00" | radclient -x HOST:PORT status SECRET)', async () => {
    const { code, out } = await run(radclient!, ['-x', `127.0.0.1:${port}`, 'status', SECRET], 'Message-Authenticator = 0x00\n');
    expect(out).toMatch(/Received Access-Accept/);
    expect(code).toBe(0);
  });

  test('auth: radclient accepts our MA-first Access-Accept and decrypts the MPPE keys', async () => {
    const input = 'User-Name = "nemo"\nUser-Password = "arctangent"\nProxy-State = 0x6162\nMessage-Authenticator = 0x00\n';
    const { code, out } = await run(radclient!, ['-x', '-r', '1', '-t', '2', `127.0.0.1:${port}`, 'auth', SECRET], input);
    expect(out).toMatch(/Received Access-Accept/);
    expect(out).toContain(`MS-MPPE-Recv-Key = 0x${Buffer.from(msk.subarray(0, 32)).toString('hex')}`);
    expect(out).toContain(`MS-MPPE-Send-Key = 0x${Buffer.from(msk.subarray(32)).toString('hex')}`);
    expect(out).toMatch(/Proxy-State = 0x6162/);
    expect(out).toMatch(/Tunnel-Private-Group-Id(:0)? = "100"/i);
    expect(code).toBe(0);
  });

  test('auth with the wrong secret gets no reply', async () => {
    const before = server.stats.dropped['bad-message-authenticator'];
    const input = 'User-Name = "nemo"\nUser-Password = "arctangent"\nMessage-Authenticator = 0x00\n';
    const { out } = await run(radclient!, ['-x', '-r', '1', '-t', '1', `127.0.0.1:${port}`, 'auth', 'wrong-secret'], input);
    expect(out).toMatch(/No reply from server/);
    expect(server.stats.dropped['bad-message-authenticator']).toBe(before + 1);
  });
});
