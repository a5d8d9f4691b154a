#!/usr/bin/env node
// Container health check without curl or wget: GET http://127.0.0.1:$HTTP_PORT<path>, exit 0 on 2xx.
//   node deploy/healthcheck.mjs [/health/live | /health/ready | full URL]
const DEFAULT_PORTS = { scheduler: 8080, reports: 8081, notifier: 8082, secrets: 8083, webhooks: 8084 };

const target = process.argv[2] ?? '/health/live';
const port = process.env.HTTP_PORT || DEFAULT_PORTS[process.env.VIGIL_SERVICE ?? ''] || 8080;
const url = /^https?:\/\//.test(target) ? target : `http://127.0.0.1:${port}${target}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  const body = await res.text().catch(() => '');
  if (!res.ok) {
    // Docker keeps this output in `docker inspect`: the failing readiness checks are named there.
    console.error(`${url}: HTTP ${res.status} ${body.slice(0, 500)}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
