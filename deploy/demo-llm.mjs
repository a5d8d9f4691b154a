#!/usr/bin/env node
// DEMO ONLY: a fake OpenAI-compatible endpoint (POST /v1/chat/completions) that answers every model at once with
// "# Report for <prompt>", so the demo job `daily-reports` (handler report.daily) works without an LLM account.
// It is the endpoint `npm start` runs (packages/shared/dist/testing/fake-llm.js); the image contains both files.
// docker-compose.yml (service demo-llm) and k8s/overlays/dev (demo-llm.yaml) run it from the Vigil image:
//   node deploy/demo-llm.mjs [port] [host]      default 8085 0.0.0.0; LLM_ENDPOINT=http://<host>:8085/v1
//   node deploy/demo-llm.mjs --check [port]     exit 0 when something answers HTTP on the port (health check)
// Never point production at it: set LLM_ENDPOINT / LLM_MODELS to your real endpoint and drop the demo service.
const args = process.argv.slice(2);

if (args[0] === '--check') {
  const port = Number(args[1] ?? 8085);
  try {
    // Any HTTP answer (the fake says 404 to a GET) means it is listening; a POST would be recorded as a request.
    await fetch(`http://127.0.0.1:${port}/v1/models`, { signal: AbortSignal.timeout(3000) });
    process.exit(0);
  } catch (err) {
    console.error(`demo LLM on port ${port}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

const port = Number(args[0] ?? 8085);
const host = args[1] ?? '0.0.0.0';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node demo-llm.mjs [port] [host] (got port "${args[0]}")`);
  process.exit(2);
}

const { startFakeLlm } = await import(new URL('../packages/shared/dist/testing/fake-llm.js', import.meta.url).href);
const llm = await startFakeLlm({}, { host, port });
console.log(
  JSON.stringify({
    level: 'info',
    service: 'demo-llm',
    msg: `demo LLM (fake, canned answers) listening on http://${host}:${port}/v1`,
  }),
);
// The fake records every request for tests; a long-running demo keeps none of them.
setInterval(() => llm.requests.splice(0), 60_000).unref();

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    llm.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  });
}
