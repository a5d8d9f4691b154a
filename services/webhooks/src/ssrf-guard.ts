import { BlockList, isIP } from 'node:net';
import { ErrorCode, ValidationError } from '@vigil/shared';

/** Ranges a webhook must never reach by default: internal networks, the host itself, cloud metadata. */
const V4_RANGES: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local / metadata'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const V6_RANGES: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique local / metadata'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
  ['2001:db8::', 32, 'documentation'],
  ['100::', 64, 'discard'],
];

interface Range {
  list: BlockList;
  family: 'ipv4' | 'ipv6';
  why: string;
}

function toRanges(family: 'ipv4' | 'ipv6', defs: Array<[string, number, string]>): Range[] {
  return defs.map(([net, prefix, why]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    return { list, family, why };
  });
}

const ranges: Range[] = [...toRanges('ipv4', V4_RANGES), ...toRanges('ipv6', V6_RANGES)];

/**
 * IPv4 hidden inside IPv6 (::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, 64:ff9b::/96 NAT64) is judged as the IPv4
 * it is. WHATWG URL writes `[::127.0.0.1]` as `[::7f00:1]`, so the hex tail of `::/96` counts too.
 */
function embeddedV4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:(?:0:)?|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:(?:0:)?|64:ff9b::|::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Why an address is refused, or undefined when it is a public unicast address. */
export function refusalReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedV4(bare);
    if (v4) return refusalReason(v4);
  }
  if (family === 4 && bare === '255.255.255.255') return 'broadcast';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const r of ranges) {
    if (r.family === type && r.list.check(bare, type)) return r.why;
  }
  return undefined;
}

export interface SsrfPolicy {
  allowPrivate: boolean;
  /** Lower-case host names that skip the address check (trusted internal receivers). */
  allowlist: ReadonlySet<string>;
}

export function parseAllowlist(text: string | undefined): Set<string> {
  return new Set(
    (text ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** True when this host is exempt from the address check. */
export function isExempt(host: string, policy: SsrfPolicy): boolean {
  return policy.allowPrivate || policy.allowlist.has(host.toLowerCase().replace(/^\[|\]$/g, ''));
}

export function refused(host: string, address: string, why: string): ValidationError {
  return new ValidationError(`refusing to send to ${host} (${address}: ${why})`, {
    code: ErrorCode.WEBHOOK_URL_REFUSED,
    details: { host, address, why },
  });
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/**
 * Resolves `host` and refuses it when ANY address is internal: a name that points both outside and inside
 * is an attack, not an accident. Returns the addresses that may be connected to.
 */
export async function checkHost(host: string, policy: SsrfPolicy, resolve: Resolver): Promise<ResolvedAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = isIP(bare);
  const addresses = literal ? [{ address: bare, family: literal }] : await resolve(bare);
  if (isExempt(bare, policy)) return addresses;
  if (addresses.length === 0) throw refused(bare, '-', 'no address');
  for (const a of addresses) {
    const why = refusalReason(a.address);
    if (why) throw refused(bare, a.address, why);
  }
  return addresses;
}
