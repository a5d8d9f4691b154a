import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake answers one request. */
export interface FakeLlmStep {
  /** HTTP status; default 200. */
  status?: number;
  /** Seconds, sent as Retry-After (with a 429 or 503). */
  retryAfter?: number;
  /** Wait before answering (a slow model). */
  delayMs?: number;
  /** The completion text; default "# Report for <last user message>". */
  text?: string;
}

export interface FakeLlmRequest {
  model: string;
  /** The last user message. */
  prompt: string;
  /** 0-based index of this request among all requests for the same model. */
  index: number;
  headers: http.IncomingHttpHeaders;
  at: number;
  status?: number;
}

/** A fixed step, a sequence (the last step repeats), or a function of the request. */
export type FakeLlmPlan = FakeLlmStep | FakeLlmStep[] | ((req: FakeLlmRequest) => FakeLlmStep);

export interface FakeLlmOptions {
  /** Address to listen on; default 127.0.0.1 (tests). `0.0.0.0` lets other containers call it (deploy/demo-llm.mjs). */
  host?: string;
  /** Port to listen on; default 0 (any free port). */
  port?: number;
}

export interface FakeLlm {
  /**
   * Base URL to use as the OpenAI-compatible endpoint, e.g. http://127.0.0.1:PORT/v1 (for a wildcard host,
   * 0.0.0.0 or ::, the loopback address).
   */
  url: string;
  requests: FakeLlmRequest[];
  /** Sets the behaviour for a model (`*` = every model without its own plan). */
  plan(model: string, plan: FakeLlmPlan): void;
  close(): Promise<void>;
}

function stepFor(plan: FakeLlmPlan | undefined, req: FakeLlmRequest): FakeLlmStep {
  if (!plan) return {};
  if (typeof plan === 'function') return plan(req);
  if (Array.isArray(plan)) return plan[Math.min(req.index, plan.length - 1)] ?? {};
  return plan;
}

/**
 * A local OpenAI-compatible chat-completions server for tests: POST /v1/chat/completions answers per a
 * per-model plan (500s, 429 with Retry-After, delays, fixed text). Records every request.
 */
export async function startFakeLlm(
  plans: Record<string, FakeLlmPlan> = {},
  options: FakeLlmOptions = {},
): Promise<FakeLlm> {
  const host = options.host ?? '127.0.0.1';
  const table = new Map<string, FakeLlmPlan>(Object.entries(plans));
  const requests: FakeLlmRequest[] = [];
  const perModel = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      let body: { model?: string; messages?: { role: string; content: string }[] } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      } catch {
        res.writeHead(400);
        res.end('{"error":{"message":"bad json"}}');
        return;
      }
      const model = body.model ?? '';
      const index = perModel.get(model) ?? 0;
      perModel.set(model, index + 1);
      const users = (body.messages ?? []).filter((m) => m.role === 'user');
      const rec: FakeLlmRequest = {
        model,
        prompt: users.at(-1)?.content ?? '',
        index,
        headers: req.headers,
        at: Date.now(),
      };
      requests.push(rec);
      const step = stepFor(table.get(model) ?? table.get('*'), rec);
      if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
      const status = step.status ?? 200;
      rec.status = status;
      if (status !== 200) {
        const h: Record<string, string> = { 'content-type': 'application/json' };
        if (step.retryAfter !== undefined) h['retry-after'] = String(step.retryAfter);
        res.writeHead(status, h);
        res.end(JSON.stringify({ error: { message: `fake failure ${status} for ${model}`, type: 'fake' } }));
        return;
      }
      const content = step.text ?? `# Report for ${rec.prompt}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
        }),
      );
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/v1`,
    requests,
    plan: (model, plan) => {
      table.set(model, plan);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
