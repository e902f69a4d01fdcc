import { ClientTable } from '../../src/radius/client-table.js';

describe('ClientTable', () => {
  const table = new ClientTable([
    { name: 'lab', address: '10.0.0.0/8', secret: 'a' },
    { name: 'ap-7', address: '10.1.2.7', secret: 'b', requireMessageAuthenticator: false },
    { name: 'rack', address: '10.1.0.0/16', secret: 'c', limitProxyState: false },
    { name: 'v6net', address: '2001:db8::/32', secret: 'd' },
    { name: 'v6host', address: '2001:db8::42', secret: 'e' },
    { name: 'loop6', address: '::1', secret: 'f' },
  ]);

  test('longest prefix wins', () => {
    expect(table.lookup('10.1.2.7')?.name).toBe('ap-7');
    expect(table.lookup('10.1.9.9')?.name).toBe('rack');
    expect(table.lookup('10.200.0.1')?.name).toBe('lab');
    expect(table.lookup('11.0.0.1')).toBeUndefined();
    expect(table.lookup('2001:db8::42')?.name).toBe('v6host');
    expect(table.lookup('2001:db8:1::1')?.name).toBe('v6net');
    expect(table.lookup('2001:db9::1')).toBeUndefined();
    expect(table.lookup('::1')?.name).toBe('loop6');
    expect(table.lookup('not an address')).toBeUndefined();
  });

  test('IPv4-mapped IPv6 sources match IPv4 entries (dual-stack sockets)', () => {
    expect(table.lookup('::ffff:10.1.2.7')?.name).toBe('ap-7');
  });

  test('flags default to true; secrets become octets', () => {
    const lab = table.lookup('10.9.9.9')!;
    expect(lab.requireMessageAuthenticator).toBe(true);
    expect(lab.limitProxyState).toBe(true);
    expect(Buffer.from(lab.secret).toString()).toBe('a');
    expect(table.lookup('10.1.2.7')!.requireMessageAuthenticator).toBe(false);
    expect(table.lookup('10.1.3.3')!.limitProxyState).toBe(false);
  });

  test('/0 matches everything of its family', () => {
    const any = new ClientTable([{ name: 'any4', address: '0.0.0.0/0', secret: 's' }]);
    expect(any.lookup('192.0.2.1')?.name).toBe('any4');
    expect(any.lookup('::1')).toBeUndefined();
  });

  test.each([
    [{ name: '', address: '10.0.0.1', secret: 's' }],
    [{ name: 'x', address: '10.0.0.1', secret: '' }],
    [{ name: 'x', address: 'radius.example', secret: 's' }],
    [{ name: 'x', address: '10.0.0.0/33', secret: 's' }],
    [{ name: 'x', address: '10.0.0.1/8', secret: 's' }],
    [{ name: 'x', address: '10.0.0.0/abc', secret: 's' }],
  ])('invalid entry %j is refused', (entry) => {
    expect(() => new ClientTable([entry])).toThrow(Error);
  });

  test('a remembered source answers as the prefix search does, through a flood of sources that empties the memory', () => {
    const wide = new ClientTable([{ name: 'any4', address: '0.0.0.0/0', secret: 'a' }, { name: 'ap', address: '10.1.2.7', secret: 'b' }]);
    const fresh = (source: string): string | undefined => new ClientTable([{ name: 'any4', address: '0.0.0.0/0', secret: 'a' }, { name: 'ap', address: '10.1.2.7', secret: 'b' }]).lookup(source)?.name;
    for (const source of ['10.1.2.7', '::ffff:10.1.2.7', '10.1.2.8', '2001:db8::1', 'not an address']) {
      expect([wide.lookup(source)?.name, wide.lookup(source)?.name]).toEqual([fresh(source), fresh(source)]);
    }
    // Spoofed sources inside a /0 are all found, so all remembered: more than the memory holds.
    for (let i = 0; i < 10_000; i++) expect(wide.lookup(`172.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)?.name).toBe('any4');
    expect(wide.lookup('10.1.2.7')?.name).toBe('ap');
    expect(wide.lookup('::ffff:10.1.2.7')?.name).toBe('ap');
  });

  test('duplicate prefixes are refused', () => {
    expect(() => new ClientTable([
      { name: 'a', address: '10.0.0.0/8', secret: 's' },
      { name: 'b', address: '10.0.0.0/8', secret: 't' },
    ])).toThrow(/same address/);
  });
});
