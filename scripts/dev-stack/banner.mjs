// What the developer reads once the stack is up: every URL, the token, and how to reach it from a shell.
import { isDefaultState, logDir, shown } from './paths.mjs';
import { stateFile } from './dev-values.mjs';

export function printBanner(stack) {
  const { urls, pending, stopped, natsPort, redisPort, smtpPort, mailWebPort, llmUrl, token, signing, cli } = stack;
  const line = '─'.repeat(64);
  const notes = [
    ...(pending.length ? [`not ready yet: ${pending.join(', ')}`] : []),
    ...(stopped.length ? [`stopped: ${stopped.join(', ')}, see above`] : []),
  ];
  const mailUrl = `http://127.0.0.1:${mailWebPort}`;
  const env = shown(stateFile('env'));
  const tokenFile = shown(stateFile('dev-token'));
  console.log(`\n${line}\n  Vigil is running${notes.length ? ` (${notes.join('; ')})` : ''}\n${line}`);
  for (const [name, url] of urls) console.log(`  ${name.padEnd(10)} ${url}   (health: ${url}/health/ready)`);
  console.log(`  mail inbox ${mailUrl}   (REST API: ${mailUrl}/api/email · SMTP on 127.0.0.1:${smtpPort})`);
  console.log(`  NATS       nats://127.0.0.1:${natsPort}   Redis redis://127.0.0.1:${redisPort}`);
  // LLM_ENDPOINT set in the shell wins over the demo endpoint (the services get it): say which one they call
  if (process.env.LLM_ENDPOINT)
    console.log(`  LLM        ${process.env.LLM_ENDPOINT}   (LLM_ENDPOINT; the demo LLM is not used)`);
  else if (llmUrl) console.log(`  demo LLM   ${llmUrl}`);
  console.log(`\n  API token  ${token.value}`);
  console.log(
    token.fromEnv
      ? `             (VIGIL_API_TOKEN from your environment; ${tokenFile} is not used)`
      : `             (kept in ${tokenFile}; in a shell: export VIGIL_API_TOKEN=$(cat ${tokenFile}))`,
  );
  console.log(
    signing.fromEnv
      ? `  webhooks   signing secret: WEBHOOKS_SIGNING_SECRET from your environment (also in ${env})`
      : `  webhooks   signing secret in ${shown(stateFile('webhooks-signing-secret'))} (the same on every start; also in ${env})`,
  );
  console.log(
    `  shell      set -a; . ${env}; set +a   (NATS_URL, VIGIL_PUBLIC_URL, VIGIL_API_TOKEN, WEBHOOKS_SIGNING_SECRET)`,
  );
  // The CLI finds the nearest .vigil/env up from its working directory; another state dir only with VIGIL_STATE_DIR.
  console.log(
    isDefaultState
      ? `  CLI        npx vigil jobs      (reads NATS_URL from ${env})`
      : `  CLI        ${cli.shell} jobs${cli.wrapper ? `   (or ${cli.wrapper} jobs, from any directory)` : ''}`,
  );
  console.log(`  trigger    ${cli.shell} trigger <job> --reason "first try"`);
  if (cli.alertFallback) {
    console.log(
      `             (the alert emails' re-run lines say \`npx vigil …\`, which reaches the default stack: ` +
        `run them as ${cli.shell} …)`,
    );
  }
  console.log(`  logs       ${shown(logDir)}/<service>.log      Ctrl-C stops everything (services drain first)`);
  console.log(`  restarts   a process that exits is started again after 1–30 s (not on exit code 78 or 2)\n${line}\n`);
}
