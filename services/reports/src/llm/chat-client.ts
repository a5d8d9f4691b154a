import {
  deadlineSignal,
  ErrorCode,
  httpStatusError,
  requestFailure,
  parseRetryAfter,
  TransientError,
} from '@vigil/shared';

export interface ChatRequest {
  /** Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 */
  endpoint: string;
  apiKey?: string;
  model: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  maxTokens?: number;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface ChatAnswer {
  text: string;
  model: string;
  usage?: Record<string, unknown>;
}

/**
 * One chat-completions call. Statuses become typed errors once (429/5xx transient with Retry-After,
 * other 4xx permanent); an empty or non-JSON answer is a transient failure (models and their proxies do that
 * under load): the same model is retried, and the failure counts toward that model's breaker.
 */
export async function chatCompletion(req: ChatRequest): Promise<ChatAnswer> {
  const url = `${req.endpoint.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.apiKey) headers.authorization = `Bearer ${req.apiKey}`;
  const body: Record<string, unknown> = { model: req.model, messages: req.messages };
  if (req.maxTokens) body.max_tokens = req.maxTokens;
  // Not AbortSignal.any + AbortSignal.timeout: after a garbage collection that timeout may never fire (see
  // deadlineSignal). The deadline covers the body as well as the headers.
  const deadline = deadlineSignal(req.timeoutMs, req.signal);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: deadline.signal });
    text = await res.text();
  } catch (err) {
    throw callFailed(req, deadline.signal, err);
  } finally {
    deadline.clear();
  }
  if (!res.ok) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    throw httpStatusError(res.status, `model ${req.model}: HTTP ${res.status} ${text.slice(0, 200)}`, retryAfterMs);
  }
  let parsed: { choices?: { message?: { content?: unknown } }[]; model?: unknown; usage?: Record<string, unknown> };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TransientError(`model ${req.model}: answer is not JSON`, { code: ErrorCode.MODEL_UNAVAILABLE });
  }
  const content = parsed.choices?.[0]?.message?.content;
  if (typeof content !== 'string' || content.trim() === '') {
    throw new TransientError(`model ${req.model}: empty answer`, { code: ErrorCode.MODEL_UNAVAILABLE });
  }
  return { text: content, model: req.model, usage: parsed.usage };
}

/**
 * fetch's own `TypeError: fetch failed` names no reason ("p2: fetch failed" in an alert): the network reason
 * (ECONNREFUSED, "other side closed", DNS, TLS) and a timeout are named instead. A cancelled run keeps its own
 * reason, so the chain sees the cancellation as such.
 */
function callFailed(req: ChatRequest, signal: AbortSignal, err: unknown): unknown {
  return requestFailure(err, signal, {
    timedOut: () =>
      new TransientError(`model ${req.model}: no answer within ${req.timeoutMs} ms`, {
        code: ErrorCode.TIMEOUT,
        cause: err,
      }),
    failed: (reason) =>
      new TransientError(`model ${req.model}: ${reason}`, { code: ErrorCode.MODEL_UNAVAILABLE, cause: err }),
  });
}
