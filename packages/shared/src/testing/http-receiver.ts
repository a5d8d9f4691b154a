import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface ReplyPlan {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before answering, to simulate a slow endpoint. */
  delayMs?: number;
}

export type Responder = (req: ReceivedRequest, index: number) => ReplyPlan | Promise<ReplyPlan>;

export interface HttpReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Changes how the next requests are answered. */
  respond(fn: Responder): void;
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  start(): Promise<void>;
}

/** A real loopback HTTP server that records requests and answers by a swappable plan. */
export async function startHttpReceiver(responder: Responder = () => ({ status: 200 })): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let plan = responder;
  let port = 0;
  let server: http.Server | undefined;

  const listen = async () => {
    const srv = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const rec: ReceivedRequest = {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          at: Date.now(),
        };
        requests.push(rec);
        try {
          const r = await plan(rec, requests.length - 1);
          if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
          const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
          const type = typeof r.body === 'string' ? 'text/plain' : 'application/json';
          res.writeHead(r.status, { 'content-type': type, ...r.headers });
          res.end(body);
        } catch (err) {
          res.writeHead(500);
          res.end(String(err));
        }
      });
    });
    srv.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
    port = (srv.address() as AddressInfo).port;
    server = srv;
  };
  await listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    respond: (fn) => {
      plan = fn;
    },
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
