#!/usr/bin/env node
// kustomize reads no file outside its directory, so the Kubernetes manifests keep generated copies:
//   deploy/k8s/overlays/dev/jobs.yaml     <- examples/jobs.yaml     (the demo jobs, dev overlay only)
//   deploy/k8s/overlays/dev/secrets.json  <- examples/secrets.json  (the demo secrets, dev overlay only)
//   deploy/k8s/base/prometheus-rule.yaml  <- deploy/prometheus/alerts.yml (as a PrometheusRule)
// (deploy/k8s/base/jobs.yaml is no copy: the production base starts with no jobs.)
// Run after editing a source: node deploy/sync-k8s-copies.mjs   (test/deploy fails when they drift)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => path.join(root, ...p);

for (const file of ['jobs.yaml', 'secrets.json']) {
  const source = at('examples', file);
  if (!existsSync(source)) continue;
  writeFileSync(at('deploy', 'k8s', 'overlays', 'dev', file), readFileSync(source, 'utf8'));
  console.log(`deploy/k8s/overlays/dev/${file} <- examples/${file}`);
}

const alerts = readFileSync(at('deploy', 'prometheus', 'alerts.yml'), 'utf8');
const groups = alerts.slice(alerts.search(/^groups:/m));
const rule = `# The alert rules of deploy/prometheus/alerts.yml for the Prometheus Operator. Generated copy: the \`groups\`
# must equal alerts.yml (test/deploy/manifests.test.ts checks it); edit alerts.yml, then regenerate with
#   node deploy/sync-k8s-copies.mjs
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: vigil-alerts
  labels:
    app.kubernetes.io/name: vigil-alerts
spec:
${groups
  .split('\n')
  .map((l) => (l.trim() ? `  ${l}` : l))
  .join('\n')
  .trimEnd()}
`;
writeFileSync(at('deploy', 'k8s', 'base', 'prometheus-rule.yaml'), rule);
console.log('deploy/k8s/base/prometheus-rule.yaml <- deploy/prometheus/alerts.yml');
