#!/usr/bin/env node
// Verifies a deployment from the outside, the way an operator would after `docker compose up` or
// `kubectl apply` (seed 002: "health passed for 9 hours while the app was broken" and "the old image was
// deployed"). Plain Node 20, no dependencies.
//
//   node scripts/verify-deploy.mjs [options] <base-url>...
//
// For every base URL (one service instance each):
//   ready    GET /health/ready answers 200 (every dependency check passes, start-up finished)
//   version  GET /version is JSON { name, version, commit }; with --expect-version / --expect-commit it must match
//   metrics  GET /metrics is Prometheus text with vigil_* or process metrics
//   auth     scheduler and webhooks only: a mutating route answers 401 without a token (503 means
//            VIGIL_API_TOKEN is not set) and 403 with a wrong one
// Prints a table (or --json), exits 0 when every check passes, 1 when any fails, 2 on bad usage.

const USAGE = `usage: node scripts/verify-deploy.mjs [options] <base-url>...

options:
  --expect-version V   every service must report version V in /version
  --expect-commit C    every service must report a commit starting with C
  --timeout MS         per-request timeout (default 5000)
  --wait SECONDS       keep retrying /health/ready for up to SECONDS before checking (default 0)
  --json               print the results as JSON instead of a table
  -h, --help           this text

example:
  node scripts/verify-deploy.mjs --expect-version 0.1.0 http://127.0.0.1:8080 http://127.0.0.1:8081`;

/** Mutating routes probed without a token: unknown job / undeliverable URL, so nothing happens if auth is broken. */
const AUTH_PROBES = {
  scheduler: {
    path: '/api/jobs/__verify-deploy__/trigger',
    body: { reason: 'verify-deploy auth probe' },
  },
  webhooks: {
    path: '/api/webhooks',
    body: { url: 'https://verify-deploy.invalid/', eventType: 'vigil.verify-deploy', payload: {} },
  },
};
const WRONG_TOKEN = 'verify-deploy-deliberately-wrong-token';

function parseArgs(argv) {
  const opts = { urls: [], timeoutMs: 5000, waitSeconds: 0, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') opts.help = true;
    else if (a === '--expect-version') opts.expectVersion = value();
    else if (a === '--expect-commit') opts.expectCommit = value();
    else if (a === '--timeout') opts.timeoutMs = Number(value());
    else if (a === '--wait') opts.waitSeconds = Number(value());
    else if (a === '--json') opts.json = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else {
      let url;
      try {
        url = new URL(a);
      } catch {
        throw new Error(`not a URL: ${a}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an http(s) URL: ${a}`);
      opts.urls.push(a.replace(/\/+$/, ''));
    }
  }
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) throw new Error('--timeout must be a positive number');
  if (!Number.isFinite(opts.waitSeconds) || opts.waitSeconds < 0) throw new Error('--wait must be 0 or more');
  return opts;
}

/** One HTTP exchange; never throws: network errors and timeouts come back as { error }. */
async function request(url, { method = 'GET', headers = {}, body, timeoutMs }) {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, text, contentType: res.headers.get('content-type') ?? '' };
  } catch (err) {
    const e = /** @type {Error & { cause?: { code?: string } }} */ (err);
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { error: reason };
  }
}

const oneLine = (text, max = 160) => text.replace(/\s+/g, ' ').trim().slice(0, max);

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Names of the failing readiness checks in a 503 body, whatever its exact shape. */
function failingChecks(body) {
  const json = parseJson(body);
  const checks = json?.checks ?? json?.error?.details?.checks;
  if (!checks || typeof checks !== 'object') return oneLine(body);
  const entries = Array.isArray(checks) ? checks.map((c) => [c.name, c]) : Object.entries(checks);
  const bad = entries
    .filter(([, c]) => c && typeof c === 'object' && (c.ok === false || (c.status && c.status !== 'ok')))
    .map(([name, c]) => `${name}${c.error ? `: ${oneLine(String(c.error), 60)}` : ''}`);
  if (bad.length > 0) return `failing: ${bad.join(', ')}`;
  return json.phase && json.phase !== 'running' ? `phase: ${json.phase}` : oneLine(body);
}

async function checkReady(base, opts) {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  for (;;) {
    const r = await request(`${base}/health/ready`, { timeoutMs: opts.timeoutMs });
    if (r.status === 200) return { ok: true, detail: '200' };
    if (Date.now() >= deadline) {
      if (r.error) return { ok: false, detail: `unreachable: ${r.error}` };
      return { ok: false, detail: `HTTP ${r.status} ${failingChecks(r.text)}` };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function checkVersion(base, opts) {
  const r = await request(`${base}/version`, { timeoutMs: opts.timeoutMs });
  if (r.error) return { ok: false, detail: `unreachable: ${r.error}` };
  if (r.status !== 200) return { ok: false, detail: `HTTP ${r.status} ${oneLine(r.text, 80)}` };
  const v = parseJson(r.text);
  if (!v || typeof v.name !== 'string' || typeof v.version !== 'string') {
    return { ok: false, detail: `not { name, version } JSON: ${oneLine(r.text, 80)}` };
  }
  const found = `${v.name} ${v.version} (${v.commit ?? 'no commit'})`;
  if (opts.expectVersion && v.version !== opts.expectVersion) {
    return { ok: false, name: v.name, detail: `${found}, expected version ${opts.expectVersion}` };
  }
  if (opts.expectCommit && !String(v.commit ?? '').startsWith(opts.expectCommit)) {
    return { ok: false, name: v.name, detail: `${found}, expected commit ${opts.expectCommit}` };
  }
  return { ok: true, name: v.name, detail: found };
}

async function checkMetrics(base, opts) {
  const r = await request(`${base}/metrics`, { timeoutMs: opts.timeoutMs });
  if (r.error) return { ok: false, detail: `unreachable: ${r.error}` };
  if (r.status !== 200) return { ok: false, detail: `HTTP ${r.status}` };
  const names = new Set();
  for (const line of r.text.split('\n')) {
    const m = /^# TYPE (\S+)/.exec(line) ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]);
  }
  const vigil = [...names].filter((n) => n.startsWith('vigil_')).length;
  const proc = [...names].filter((n) => n.startsWith('process_') || n.startsWith('nodejs_')).length;
  if (vigil + proc === 0) return { ok: false, detail: `no vigil_ or process metrics: ${oneLine(r.text, 60)}` };
  return { ok: true, detail: `${vigil} vigil_, ${proc} process/nodejs metric families` };
}

async function checkAuth(base, service, opts) {
  const probe = AUTH_PROBES[service];
  const url = `${base}${probe.path}`;
  const anon = await request(url, { method: 'POST', body: probe.body, timeoutMs: opts.timeoutMs });
  if (anon.error) return { ok: false, detail: `unreachable: ${anon.error}` };
  if (anon.status === 503) return { ok: false, detail: `POST ${probe.path} 503: VIGIL_API_TOKEN is not set` };
  if (anon.status !== 401) {
    return { ok: false, detail: `POST ${probe.path} without token answered ${anon.status}, expected 401` };
  }
  const wrong = await request(url, {
    method: 'POST',
    body: probe.body,
    headers: { authorization: `Bearer ${WRONG_TOKEN}` },
    timeoutMs: opts.timeoutMs,
  });
  if (wrong.error) return { ok: false, detail: `unreachable: ${wrong.error}` };
  if (wrong.status !== 403 && wrong.status !== 401) {
    return { ok: false, detail: `POST ${probe.path} with a wrong token answered ${wrong.status}, expected 403` };
  }
  return { ok: true, detail: `POST ${probe.path}: 401 without token, ${wrong.status} with a wrong one` };
}

/** Short service name from /version's name: "scheduler", "@vigil/scheduler" and "vigil-scheduler" all match. */
function serviceOf(name) {
  const m = /(scheduler|reports|notifier|secrets|webhooks)$/.exec(name ?? '');
  return m ? m[1] : undefined;
}

async function verify(base, opts) {
  const ready = await checkReady(base, opts);
  const [version, metrics] = await Promise.all([checkVersion(base, opts), checkMetrics(base, opts)]);
  const service = serviceOf(version.name);
  const rows = [
    { url: base, service, check: 'ready', ...ready },
    { url: base, service, check: 'version', ...version },
    { url: base, service, check: 'metrics', ...metrics },
  ];
  if (service && AUTH_PROBES[service])
    rows.push({ url: base, service, check: 'auth', ...(await checkAuth(base, service, opts)) });
  for (const row of rows) delete row.name;
  return rows;
}

function printTable(rows) {
  const head = { url: 'URL', service: 'SERVICE', check: 'CHECK', result: 'RESULT', detail: 'DETAIL' };
  const lines = rows.map((r) => ({ ...r, service: r.service ?? '?', result: r.ok ? 'PASS' : 'FAIL' }));
  const width = (key) => Math.max(head[key].length, ...lines.map((l) => String(l[key]).length));
  const cols = ['url', 'service', 'check', 'result'];
  const fmt = (l) => `${cols.map((c) => String(l[c]).padEnd(width(c))).join('  ')}  ${l.detail}`;
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`verify-deploy: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.urls.length === 0) {
    console.error(`verify-deploy: give at least one base URL\n\n${USAGE}`);
    return 2;
  }
  const rows = (await Promise.all(opts.urls.map((u) => verify(u, opts)))).flat();
  const failed = rows.filter((r) => !r.ok);
  if (opts.json) console.log(JSON.stringify({ ok: failed.length === 0, results: rows }, null, 2));
  else {
    printTable(rows);
    const bad = [...new Set(failed.map((r) => r.url))];
    console.log(
      failed.length === 0
        ? `\nverify-deploy: all ${rows.length} checks passed on ${opts.urls.length} service(s)`
        : `\nverify-deploy: ${failed.length} of ${rows.length} checks FAILED on ${bad.join(', ')}`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}

process.exitCode = await main();
