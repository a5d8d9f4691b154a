import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake answers: serve the stored values, or fail every call with an AWS error. */
export type FakeSecretsMode = { kind: 'serve' } | { kind: 'error'; status: number; type: string; message?: string };

export interface FakeSecretsManager {
  /** Use as AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  url: string;
  port: number;
  /** Stores a value: a string (SecretString), bytes (SecretBinary) or an object (JSON SecretString). */
  setSecret(name: string, value: string | Uint8Array | Record<string, unknown>): void;
  deleteSecret(name: string): void;
  /**
   * Deletes it the normal way (DeleteSecret with a recovery window): until restoreSecret, GetSecretValue answers
   * 400 `InvalidRequestException` "…because it was marked for deletion." (not ResourceNotFoundException, as AWS
   * does) and ListSecrets leaves it out.
   */
  scheduleDeletion(name: string): void;
  /** RestoreSecret: a secret scheduled for deletion is served again. */
  restoreSecret(name: string): void;
  /** HTTP 500 `InternalServiceError` for every call (or only the given names), like the 2025-10-20 outage. */
  failWithInternalError(names?: string[]): void;
  /** Any AWS error, e.g. (400, 'ThrottlingException'). */
  failWith(status: number, type: string, opts?: { names?: string[]; message?: string }): void;
  /** Back to serving (all names, or only the given ones). */
  recover(names?: string[]): void;
  /** Delay before every answer; a client that gives up first (times out, aborts) gets none. */
  setDelay(ms: number): void;
  /** GetSecretValue calls per secret name, counted on arrival (answered, failed, or abandoned during a delay). */
  calls(name?: string): number;
  resetCalls(): void;
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  start(): Promise<void>;
}

const JSON_TYPE = 'application/x-amz-json-1.1';

/**
 * A local HTTP server speaking the AWS Secrets Manager JSON 1.1 protocol (`X-Amz-Target:
 * secretsmanager.GetSecretValue` and `ListSecrets`), for the real AWS SDK in tests. Unknown secrets answer
 * 400 `ResourceNotFoundException` as AWS does.
 */
export async function startFakeSecretsManager(
  initial: Record<string, string | Uint8Array | Record<string, unknown>> = {},
): Promise<FakeSecretsManager> {
  const secrets = new Map<string, { value: string | Uint8Array; version: number }>();
  const callCounts = new Map<string, number>();
  let defaultMode: FakeSecretsMode = { kind: 'serve' };
  const perName = new Map<string, FakeSecretsMode>();
  const scheduledForDeletion = new Set<string>();
  let delayMs = 0;
  let port = 0;
  let server: http.Server | undefined;

  const setSecret = (name: string, value: string | Uint8Array | Record<string, unknown>) => {
    const stored = typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value);
    secrets.set(name, { value: stored, version: (secrets.get(name)?.version ?? 0) + 1 });
  };
  for (const [k, v] of Object.entries(initial)) setSecret(k, v);

  const answer = (res: http.ServerResponse, status: number, body: unknown, errorType?: string) => {
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, 'x-amzn-requestid': `fake-${Date.now()}` };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, status: number, type: string, message: string) =>
    answer(res, status, { __type: type, message }, type);

  const handle = (target: string, body: Record<string, unknown>, res: http.ServerResponse) => {
    if (target === 'secretsmanager.ListSecrets') {
      const list = [...secrets.keys()]
        .filter((n) => !scheduledForDeletion.has(n))
        .sort()
        .map((Name) => ({ Name, ARN: arn(Name) }));
      return answer(res, 200, { SecretList: list });
    }
    if (target !== 'secretsmanager.GetSecretValue') {
      return fail(res, 400, 'InvalidAction', `the fake does not implement ${target}`);
    }
    const name = String(body.SecretId ?? '');
    const mode = perName.get(name) ?? defaultMode;
    if (mode.kind === 'error') {
      return fail(res, mode.status, mode.type, mode.message ?? `${mode.type} (fake Secrets Manager)`);
    }
    if (scheduledForDeletion.has(name) && secrets.has(name)) {
      return fail(
        res,
        400,
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    const s = secrets.get(name);
    if (!s) return fail(res, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    const common = {
      ARN: arn(name),
      Name: name,
      VersionId: `v${s.version}`,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    };
    if (typeof s.value === 'string') return answer(res, 200, { ...common, SecretString: s.value });
    return answer(res, 200, { ...common, SecretBinary: Buffer.from(s.value).toString('base64') });
  };

  const listen = async () => {
    const srv = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
        } catch {
          return fail(res, 400, 'SerializationException', 'body is not JSON');
        }
        const target = String(req.headers['x-amz-target'] ?? '');
        if (target === 'secretsmanager.GetSecretValue') {
          const name = String(body.SecretId ?? '');
          callCounts.set(name, (callCounts.get(name) ?? 0) + 1);
        }
        if (delayMs <= 0) return handle(target, body, res);
        const timer = setTimeout(() => handle(target, body, res), delayMs);
        // A client that gave up (its timeout, an abort) closed the connection: nothing left to answer.
        res.on('close', () => clearTimeout(timer));
      });
    });
    srv.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
    port = (srv.address() as AddressInfo).port;
    server = srv;
  };
  await listen();

  const setMode = (mode: FakeSecretsMode, names?: string[]) => {
    if (!names) {
      defaultMode = mode;
      perName.clear();
    } else for (const n of names) perName.set(n, mode);
  };

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    setSecret,
    deleteSecret: (name) => {
      secrets.delete(name);
      scheduledForDeletion.delete(name);
    },
    scheduleDeletion: (name) => {
      scheduledForDeletion.add(name);
    },
    restoreSecret: (name) => {
      scheduledForDeletion.delete(name);
    },
    failWithInternalError: (names) =>
      setMode(
        { kind: 'error', status: 500, type: 'InternalServiceError', message: 'An error occurred on the server side.' },
        names,
      ),
    failWith: (status, type, opts) => setMode({ kind: 'error', status, type, message: opts?.message }, opts?.names),
    recover: (names) => setMode({ kind: 'serve' }, names),
    setDelay: (ms) => {
      delayMs = ms;
    },
    calls: (name) =>
      name === undefined ? [...callCounts.values()].reduce((a, b) => a + b, 0) : (callCounts.get(name) ?? 0),
    resetCalls: () => callCounts.clear(),
    close: async () => {
      const srv = server;
      server = undefined;
      if (!srv) return;
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
    start: async () => {
      if (!server) await listen();
    },
  };
}

function arn(name: string): string {
  return `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
}
