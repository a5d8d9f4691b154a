import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** The sealed form stored in Redis: nothing in it reveals the value without the key. */
export interface SealedRecord {
  v: 1;
  alg: 'AES-256-GCM';
  /** First 8 hex characters of sha256(key): tells which key sealed it, reveals nothing about the key. */
  kid: string;
  iv: string;
  tag: string;
  ct: string;
}

export interface CacheKey {
  key: Buffer;
  kid: string;
}

/** SECRETS_CACHE_KEY (base64 of 32 bytes) -> the key and its id. Throws on a wrong length. */
export function parseCacheKey(base64: string): CacheKey {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error(`SECRETS_CACHE_KEY must be 32 bytes base64-encoded, got ${key.length} bytes`);
  return { key, kid: keyId(key) };
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * AES-256-GCM with a random 12-byte nonce per write. The secret's name is bound as additional data, so a
 * record copied under another name fails to open.
 */
export function seal(key: CacheKey, name: string, plaintext: string): SealedRecord {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    v: 1,
    alg: 'AES-256-GCM',
    kid: key.kid,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

/** Opens a record; throws when the key id differs or the record was tampered with. */
export function open(key: CacheKey, name: string, record: SealedRecord): string {
  if (record.v !== 1 || record.alg !== 'AES-256-GCM') throw new Error('unknown last-known-good record format');
  if (record.kid !== key.kid) throw new Error(`sealed with key ${record.kid}, current key is ${key.kid}`);
  const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(record.iv, 'base64'));
  decipher.setAAD(Buffer.from(name, 'utf8'));
  decipher.setAuthTag(Buffer.from(record.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(record.ct, 'base64')), decipher.final()]).toString('utf8');
}
