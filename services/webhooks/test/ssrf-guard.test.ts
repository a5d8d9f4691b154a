import { describe, expect, it } from 'vitest';
import { checkHost, parseAllowlist, refusalReason } from '../src/ssrf-guard.js';

const deny = { allowPrivate: false, allowlist: new Set<string>() };
const fixed =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('ssrf guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.20.3.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local / metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00:ec2::254', 'unique local / metadata'],
    ['fe80::1', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local / metadata'],
    ['64:ff9b::10.1.2.3', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::a9fe:a9fe', 'link-local / metadata'],
    ['224.0.0.1', 'multicast'],
  ])('refuses %s (%s)', (address, why) => {
    expect(refusalReason(address)).toBe(why);
  });

  it.each(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows public %s', (a) => {
    expect(refusalReason(a)).toBeUndefined();
  });

  it('refuses a literal internal address without resolving', async () => {
    const never = async () => {
      throw new Error('must not resolve');
    };
    await expect(checkHost('169.254.169.254', deny, never)).rejects.toMatchObject({
      code: 'VIGIL_E_WEBHOOK_URL_REFUSED',
    });
    await expect(checkHost('[::1]', deny, never)).rejects.toThrow(/loopback/);
    // IPv4-compatible IPv6: WHATWG URL turns [::127.0.0.1] into [::7f00:1]
    const host = new URL('http://[::127.0.0.1]/').hostname;
    expect(host).toBe('[::7f00:1]');
    await expect(checkHost(host, deny, never)).rejects.toThrow(/loopback/);
  });

  it('refuses a name when any of its addresses is internal', async () => {
    await expect(checkHost('evil.example', deny, fixed('8.8.8.8', '10.0.0.5'))).rejects.toThrow(/10\.0\.0\.5/);
    await expect(checkHost('ok.example', deny, fixed('8.8.8.8'))).resolves.toEqual([{ address: '8.8.8.8', family: 4 }]);
  });

  it('WEBHOOKS_ALLOW_PRIVATE and the allowlist exempt hosts', async () => {
    await expect(checkHost('127.0.0.1', { ...deny, allowPrivate: true }, fixed())).resolves.toHaveLength(1);
    const list = { allowPrivate: false, allowlist: parseAllowlist(' Hooks.Internal , other ') };
    await expect(checkHost('hooks.internal', list, fixed('10.1.1.1'))).resolves.toHaveLength(1);
    await expect(checkHost('nothooks.internal', list, fixed('10.1.1.1'))).rejects.toThrow();
  });
});
