export interface ApiResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly
  body: any;
}

/** `api(method, path, body?, token?)`: `token` null sends no Authorization header at all. */
export type ApiCall = (method: string, path: string, body?: unknown, token?: string | null) => Promise<ApiResponse>;

/**
 * A JSON client for a service's HTTP API as tests use it: bearer token by default, body parsed when it is
 * JSON and kept as text otherwise.
 */
export function apiClient(baseUrl: string, defaultToken?: string): ApiCall {
  return async (method, path, body, token = defaultToken) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
}
