// The deploy files are checked with the same tools an operator runs, without a Docker engine or a cluster:
// docker-compose config, kubectl kustomize, promtool. A tool that cannot be installed here skips its test
// with the reason in the test name (never a silent pass).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contractPath,
  deployDir,
  kustomize,
  parseYaml,
  readText,
  root,
  run,
  variablesInTable,
  which,
} from './deploy-files.js';

const compose = which('docker-compose');
const kubectl = which('kubectl');
const promtool = which('promtool');
const missing = (tool: string) => `${tool} is not installed (apt-get install needs root); skipped`;
if (!compose) console.warn(`[deploy tests] ${missing('docker-compose')}`);
if (!kubectl) console.warn(`[deploy tests] ${missing('kubectl')}`);
if (!promtool) console.warn(`[deploy tests] ${missing('promtool (Debian package prometheus)')}`);

const composeFile = path.join(deployDir, 'docker-compose.yml');
const VIGIL_SERVICES = ['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'] as const;
/** Variables only the image and compose read (not the services): documented in deploy/README.md. */
const DEPLOY_ONLY = new Set(['VIGIL_SERVICE', 'VIGIL_IMAGE', 'VIGIL_TAG', 'VIGIL_COMMIT', 'NODE_OPTIONS']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
  volumes?: Array<string | Obj>;
  ports?: Array<string | Obj>;
  stop_grace_period?: string;
  read_only?: boolean;
}

function composeConfig(extraArgs: string[] = []): { services: Record<string, ComposeService>; raw: string } {
  const r = run(compose!, ['-f', composeFile, ...extraArgs, 'config']);
  expect(r.status, `docker-compose config failed:\n${r.stderr}`).toBe(0);
  const doc = obj(parseYaml(r.stdout));
  return { services: obj(doc.services) as Record<string, ComposeService>, raw: r.stdout };
}

const isVigil = (s: ComposeService) => /\bvigil\b|vigil:/.test(s.image ?? '') && s.environment?.VIGIL_SERVICE;

describe('docker-compose', () => {
  it.skipIf(!compose)(`config is valid${compose ? '' : ` — ${missing('docker-compose')}`}`, () => {
    const { services } = composeConfig();
    // Infrastructure: NATS with JetStream on a volume, Redis, Mailpit, Jaeger with OTLP, Prometheus.
    expect(services.nats.command).toEqual(expect.arrayContaining(['-js', '-sd', '/data']));
    expect(JSON.stringify(services.nats.volumes)).toContain('/data');
    expect(services.nats.healthcheck?.test?.join(' ')).toContain('8222/healthz');
    expect(services.redis.image).toMatch(/^redis:7/);
    expect(JSON.stringify(services.mailpit.ports)).toMatch(/8025/);
    expect(JSON.stringify(services.mailpit.ports)).toMatch(/1025/);
    expect(JSON.stringify(services.jaeger.ports)).toMatch(/16686/);
    expect(JSON.stringify(services.prometheus.volumes)).toContain('alerts.yml');

    const vigil = Object.entries(services).filter(([, s]) => isVigil(s));
    const count = (name: string) => vigil.filter(([, s]) => s.environment?.VIGIL_SERVICE === name).length;
    // Two schedulers and two runners (seed 002: scale 1 is a single point of failure), one of each other.
    expect(count('scheduler')).toBe(2);
    expect(count('reports')).toBe(2);
    for (const name of ['notifier', 'secrets', 'webhooks']) expect(count(name)).toBe(1);

    for (const [name, s] of vigil) {
      expect(s.healthcheck?.test?.join(' '), name).toContain('/health/ready');
      expect(s.depends_on?.nats?.condition, name).toBe('service_healthy');
      expect(s.environment?.HTTP_HOST, name).toBe('0.0.0.0');
      expect(s.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://jaeger:4318');
      expect(s.read_only, name).toBe(true);
      // runService drains for up to 20 s; compose's default 10 s would SIGKILL mid-drain.
      expect(Number.parseInt(s.stop_grace_period ?? '10', 10), name).toBeGreaterThan(20);
    }
    // Jobs come from examples/, mounted.
    const scheduler = services['scheduler-1'];
    expect(JSON.stringify(scheduler.volumes)).toContain('/app/examples');
    expect(scheduler.environment?.VIGIL_JOBS_FILE).toBe('/app/examples/jobs.yaml');
    // ...and so does the file provider's demo secrets file: the image carries none.
    expect(services.secrets.environment?.SECRETS_FILE).toBe('/app/examples/secrets.json');
    expect(JSON.stringify(services.secrets.volumes)).toContain('/app/examples');
    // Only the runner gets the larger V8 young generation (it costs the others headroom).
    for (const [name, s] of vigil) {
      const options = String(s.environment?.NODE_OPTIONS ?? '');
      if (s.environment?.VIGIL_SERVICE === 'reports') expect(options, name).toContain('--max-semi-space-size=64');
      else expect(options, name).not.toContain('max-semi-space-size');
    }
  });

  it.skipIf(!compose)(`config is valid with every value from .env.example${compose ? '' : ` — skipped`}`, () => {
    const { services } = composeConfig(['--env-file', path.join(deployDir, '.env.example')]);
    expect(services.webhooks.environment?.WEBHOOKS_ALLOW_PRIVATE).toBe('false');
  });

  it('.env.example lists every contract variable and only variables compose uses', () => {
    const example = readText(path.join(deployDir, '.env.example'));
    const listed = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const composeText = readText(composeFile);
    for (const name of listed) {
      expect(composeText, `${name} is in .env.example but docker-compose.yml never uses it`).toMatch(
        new RegExp(`\\$\\{${name}[:}-]`),
      );
    }
    const contract = contractPath();
    if (!contract) return;
    const contractVars = variablesInTable(readText(contract), /Environment variables/);
    expect(contractVars.size).toBeGreaterThan(10);
    // HTTP_PORT / HTTP_HOST are fixed per service in compose and explained in a comment.
    for (const name of contractVars) expect(example, `${name} missing from .env.example`).toContain(name);
  });
});

describe('kubernetes (kustomize)', () => {
  it.skipIf(!kubectl)(`overlays/dev renders${kubectl ? '' : ` — ${missing('kubectl')}`}`, () => {
    kustomize('deploy/k8s/base');
    const docs = kustomize('deploy/k8s/overlays/dev');
    const kinds = (k: string) => docs.filter((d) => d.kind === k);
    const deployments = kinds('Deployment').filter(
      (d) => obj(obj(d.metadata).labels)['app.kubernetes.io/part-of'] === 'vigil',
    );
    expect(deployments.map((d) => obj(d.metadata).name).sort()).toEqual(VIGIL_SERVICES.map((s) => `vigil-${s}`).sort());

    for (const d of deployments) {
      const name = String(obj(d.metadata).name);
      const spec = obj(d.spec);
      const pod = obj(obj(spec.template).spec);
      const c = obj(list(pod.containers)[0]);
      expect(obj(obj(c.livenessProbe).httpGet).path, name).toBe('/health/live');
      expect(obj(obj(c.readinessProbe).httpGet).path, name).toBe('/health/ready');
      expect(c.startupProbe, name).toBeTruthy();
      expect(obj(obj(c.resources).requests).memory, name).toBeTruthy();
      expect(obj(obj(c.resources).limits).memory, name).toBeTruthy();
      // Drain (20 s) + preStop must fit in the grace period.
      expect(Number(pod.terminationGracePeriodSeconds), name).toBeGreaterThan(25);
      expect(obj(obj(c.lifecycle).preStop).exec, name).toBeTruthy();
      expect(obj(pod.securityContext).runAsNonRoot, name).toBe(true);
      expect(obj(c.securityContext).readOnlyRootFilesystem, name).toBe(true);
      expect(obj(obj(spec.strategy).rollingUpdate).maxUnavailable, name).toBe(0);
      const service = name.replace('vigil-', '');
      // seed 002: one replica is a single point of failure; every service runs two in the cluster
      expect(spec.replicas, `${name} (${service})`).toBe(2);
      // Secret values never appear in manifests: token-like variables come from a Secret reference.
      for (const e of list(c.env).map(obj)) {
        if (/TOKEN|SECRET_KEY|PASSWORD|SIGNING|CACHE_KEY|SMTP_URL|WEBHOOK_URL/.test(String(e.name))) {
          expect(obj(obj(e.valueFrom).secretKeyRef).name, `${name} ${e.name}`).toBe('vigil-secrets');
        }
      }
    }
    // The only Secret is the dev overlay's demo secrets file (a copy of examples/secrets.json), mounted where
    // SECRETS_FILE points; the base defines none.
    const secrets = kinds('Secret');
    expect(secrets.map((x) => String(obj(x.metadata).name).replace(/-[a-z0-9]{10}$/, ''))).toEqual([
      'vigil-demo-secrets',
    ]);
    expect(Buffer.from(String(obj(secrets[0].data)['secrets.json']), 'base64').toString()).toBe(
      readText(path.join(root, 'examples', 'secrets.json')),
    );
    const secretsPod = obj(
      obj(obj(deployments.find((d) => obj(d.metadata).name === 'vigil-secrets')?.spec).template).spec,
    );
    const demoVolume = list(secretsPod.volumes)
      .map(obj)
      .find((v) => obj(v.secret).secretName === obj(secrets[0].metadata).name);
    const mount = list(obj(list(secretsPod.containers)[0]).volumeMounts)
      .map(obj)
      .find((m) => m.name === demoVolume?.name);
    const devEnv = obj(kinds('ConfigMap').find((c) => String(obj(c.metadata).name).startsWith('vigil-env'))?.data);
    expect(devEnv.SECRETS_FILE).toBe(`${mount?.mountPath}/secrets.json`);
    expect(devEnv.SECRETS_FILE).not.toMatch(/^\/app\//);
    // The demo recipient lives in the dev overlay, not in the base.
    expect(devEnv.ADMIN_EMAIL).toBeTruthy();

    const pdbs = kinds('PodDisruptionBudget');
    const pdbNames = pdbs.map((p) => obj(obj(obj(p.spec).selector).matchLabels)['app.kubernetes.io/name']);
    for (const s of [...VIGIL_SERVICES.map((v) => `vigil-${v}`), 'nats']) expect(pdbNames).toContain(s);
    // A dependency outage makes every pod unready: unready pods must stay evictable, or node drains block.
    for (const p of pdbs.filter((x) => String(obj(x.metadata).name).startsWith('vigil-'))) {
      expect(obj(p.spec).unhealthyPodEvictionPolicy, String(obj(p.metadata).name)).toBe('AlwaysAllow');
    }
    // A fresh kind/minikube has no Prometheus Operator CRDs: the dev overlay carries no object that needs them.
    expect(docs.filter((d) => String(d.apiVersion).startsWith('monitoring.coreos.com/'))).toEqual([]);

    // Only the runner gets the larger V8 young generation.
    for (const d of deployments) {
      const c = obj(list(obj(obj(obj(d.spec).template).spec).containers)[0]);
      const options = String(
        list(c.env)
          .map(obj)
          .find((e) => e.name === 'NODE_OPTIONS')?.value ?? '',
      );
      const name = String(obj(d.metadata).name);
      if (name === 'vigil-reports') expect(options, name).toContain('--max-semi-space-size=64');
      else expect(options, name).not.toContain('max-semi-space-size');
    }

    // NATS: 3 JetStream nodes with routes through a headless service.
    const nats = kinds('StatefulSet').find((s) => obj(s.metadata).name === 'nats');
    expect(obj(nats?.spec).replicas).toBe(3);
    const natsConf = String(
      obj(kinds('ConfigMap').find((c) => obj(c.metadata).name === 'nats-config')?.data)['nats.conf'],
    );
    expect(natsConf).toContain('jetstream');
    for (const i of [0, 1, 2]) expect(natsConf).toContain(`nats-${i}.nats-headless:6222`);
    const headless = kinds('Service').find((s) => obj(s.metadata).name === 'nats-headless');
    expect(obj(headless?.spec).clusterIP).toBe('None');

    // jobs.yaml arrives as a ConfigMap mounted where VIGIL_JOBS_FILE points: the demo jobs in the dev overlay.
    const jobsMap = kinds('ConfigMap').find((c) => String(obj(c.metadata).name).startsWith('vigil-jobs'));
    expect(obj(jobsMap?.data)['jobs.yaml']).toBe(readText(path.join(root, 'examples', 'jobs.yaml')));
  });

  it.skipIf(!kubectl)(
    `the base ships no demo settings, and keeps the Prometheus Operator objects${kubectl ? '' : ` — ${missing('kubectl')}`}`,
    () => {
      const docs = kustomize('deploy/k8s/base');
      const configMap = (name: string) =>
        obj(docs.find((d) => d.kind === 'ConfigMap' && String(obj(d.metadata).name).startsWith(name))?.data);
      // No jobs: the demo jobs (every few minutes, report.daily without an LLM) are the dev overlay's.
      const jobs = obj(parseYaml(String(configMap('vigil-jobs')['jobs.yaml'])));
      expect(jobs.jobs).toEqual({});
      // No placeholder recipient or public URL: the operator sets them (the notifier is not ready without one).
      const env = configMap('vigil-env');
      expect(env.ADMIN_EMAIL).toBeUndefined();
      expect(env.VIGIL_PUBLIC_URL).toBeUndefined();
      expect(JSON.stringify(env)).not.toMatch(/vigil\.example\.com|ops@/);
      expect(docs.filter((d) => d.kind === 'Secret')).toEqual([]);
      expect(docs.filter((d) => d.kind === 'ServiceMonitor').map((m) => obj(m.metadata).name)).toEqual(
        expect.arrayContaining(VIGIL_SERVICES.map((s) => `vigil-${s}`)),
      );
      expect(docs.filter((d) => d.kind === 'ServiceMonitor')).toHaveLength(VIGIL_SERVICES.length);
      expect(docs.filter((d) => d.kind === 'PrometheusRule')).toHaveLength(1);
    },
  );

  it("the dev overlay's demo jobs and demo secrets are copies of examples/", () => {
    for (const file of ['jobs.yaml', 'secrets.json']) {
      const example = path.join(root, 'examples', file);
      if (!existsSync(example)) continue; // nothing to compare with yet
      expect(
        readText(path.join(deployDir, 'k8s', 'overlays', 'dev', file)),
        `deploy/k8s/overlays/dev/${file} is stale: run node deploy/sync-k8s-copies.mjs`,
      ).toBe(readText(example));
    }
  });

  it('the Kubernetes steps of both READMEs build the dev image and load it into the cluster', () => {
    for (const readme of [path.join(root, 'README.md'), path.join(deployDir, 'README.md')]) {
      const text = readText(readme);
      const build = text.indexOf('docker build -f deploy/Dockerfile -t vigil:dev .');
      const load = text.indexOf('kind load docker-image vigil:dev');
      const apply = text.indexOf('kubectl apply -k deploy/k8s/overlays/dev');
      expect(build, readme).toBeGreaterThan(-1);
      expect(load, readme).toBeGreaterThan(build);
      expect(apply, readme).toBeGreaterThan(load);
      expect(text, readme).toContain('minikube image load vigil:dev');
    }
  });
});

describe('prometheus', () => {
  const dir = path.join(deployDir, 'prometheus');

  it('the PrometheusRule in the kustomize base carries exactly the rules of alerts.yml', () => {
    const rule = obj(parseYaml(readText(path.join(deployDir, 'k8s', 'base', 'prometheus-rule.yaml'))));
    const alerts = obj(parseYaml(readText(path.join(dir, 'alerts.yml'))));
    expect(rule.kind).toBe('PrometheusRule');
    expect(obj(rule.spec).groups, 'stale: run node deploy/sync-k8s-copies.mjs').toEqual(alerts.groups);
  });
  it.skipIf(!promtool)(
    `alert rules pass promtool check and unit tests${promtool ? '' : ` — ${missing('promtool')}`}`,
    () => {
      const check = run(promtool!, ['check', 'rules', 'alerts.yml'], { cwd: dir });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      const tests = run(promtool!, ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
      expect(tests.status, tests.stdout + tests.stderr).toBe(0);
      const config = run(promtool!, ['check', 'config', 'prometheus.yml'], { cwd: dir });
      expect(config.status, config.stdout + config.stderr).toBe(0);
    },
  );

  it('every alert the issue asks for exists', () => {
    const rules = obj(parseYaml(readText(path.join(dir, 'alerts.yml'))));
    const exprs = list(rules.groups).flatMap((g) => list(obj(g).rules).map((r) => String(obj(r).expr)));
    const all = exprs.join('\n');
    for (const needle of [
      'vigil_job_runs_total{status="failed"}',
      'missed',
      'vigil_job_last_success_timestamp_seconds',
      'vigil_breaker_state',
      'vigil_dlq_messages_total',
      'vigil_secrets_cache_age_seconds',
      'up{job=~"vigil-.+"}',
      'vigil_notifications_total{result="failed"}',
    ]) {
      expect(all).toContain(needle);
    }
  });

  it('compose scrapes every service instance', () => {
    const text = readText(path.join(dir, 'prometheus.yml'));
    for (const target of ['scheduler-1:8080', 'scheduler-2:8080', 'reports-1:8081', 'reports-2:8081']) {
      expect(text).toContain(target);
    }
    for (const target of ['notifier:8082', 'secrets:8083', 'webhooks:8084']) expect(text).toContain(target);
  });
});

describe('variables', () => {
  const contract = contractPath();
  const rootReadme = path.join(root, 'README.md');
  const deployReadme = path.join(deployDir, 'README.md');

  /** Names a service's config schema (or the shared base schema) actually reads. */
  function declaredByServices(): string {
    const files = [
      ...VIGIL_SERVICES.map((s) => path.join(root, 'services', s, 'src', 'config.ts')),
      ...readdirSync(path.join(root, 'packages', 'shared', 'src', 'config')).map((f) =>
        path.join(root, 'packages', 'shared', 'src', 'config', f),
      ),
    ];
    return files
      .filter((f) => existsSync(f))
      .map(readText)
      .join('\n');
  }

  it('deploy/README.md documents only variables that exist', () => {
    const documented = variablesInTable(readText(deployReadme), /Deploy variables/);
    expect(documented.size).toBeGreaterThan(0);
    const code = declaredByServices();
    for (const name of documented) {
      if (DEPLOY_ONLY.has(name)) continue;
      expect(code, `${name} is in deploy/README.md but no service config reads it`).toContain(name);
    }
  });

  it.skipIf(!compose || !kubectl || !contract)(
    `every variable in compose and k8s is documented (contract §3, README, deploy/README)${contract ? '' : ' — ../shared/CONTRACT.md not found'}`,
    () => {
      const allowed = new Set<string>([
        ...variablesInTable(readText(contract!), /Environment variables/),
        ...(existsSync(rootReadme) ? variablesInTable(readText(rootReadme), /^#+ Variables/) : []),
        ...variablesInTable(readText(deployReadme), /Deploy variables/),
      ]);
      const used = new Map<string, string>();
      for (const [name, s] of Object.entries(composeConfig().services)) {
        if (!isVigil(s)) continue;
        for (const v of Object.keys(s.environment ?? {})) used.set(v, `docker-compose.yml ${name}`);
      }
      for (const overlay of ['deploy/k8s/base', 'deploy/k8s/overlays/dev']) {
        const docs = kustomize(overlay);
        const configMaps = new Map(
          docs.filter((d) => d.kind === 'ConfigMap').map((d) => [obj(d.metadata).name, obj(d.data)]),
        );
        for (const d of docs.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
          for (const c of list(obj(obj(obj(d.spec).template).spec).containers).map(obj)) {
            if (!/vigil/.test(String(c.image))) continue;
            for (const e of list(c.env).map(obj)) used.set(String(e.name), `${overlay} ${obj(d.metadata).name}`);
            for (const ref of list(c.envFrom).map(obj)) {
              for (const key of Object.keys(configMaps.get(obj(ref.configMapRef).name) ?? {})) {
                used.set(key, `${overlay} ConfigMap ${obj(ref.configMapRef).name}`);
              }
            }
          }
        }
      }
      expect(used.size).toBeGreaterThan(15);
      const undocumented = [...used].filter(([name]) => !allowed.has(name)).map(([n, where]) => `${n} (${where})`);
      expect(undocumented, 'add these to the README variables table or drop them').toEqual([]);
    },
  );
});

describe('image', () => {
  const dockerfile = readText(path.join(deployDir, 'Dockerfile'));
  const ignore = readText(path.join(root, '.dockerignore'));

  it('builds on Node 24 slim with pnpm from packageManager, a frozen lockfile and a pruned workspace', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim$/m);
    expect(dockerfile).toContain('corepack install');
    expect(dockerfile).toContain('pnpm install --frozen-lockfile');
    expect(dockerfile).toContain('pnpm -r build');
    expect(dockerfile).toContain('sh deploy/assemble-runtime.sh /out');
    const pkg = JSON.parse(readText(path.join(root, 'package.json'))) as { packageManager: string };
    expect(pkg.packageManager).toMatch(/^pnpm@10\./);
  });

  it('runs as a non-root user under tini, with a health check on /health/live and the service from VIGIL_SERVICE', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toContain('apt-get install -y --no-install-recommends tini');
    expect(runtime).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/app\/deploy\/docker-entrypoint.sh"\]/);
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*healthcheck\.mjs", "\/health\/live"/);
    expect(runtime).toContain('HTTP_HOST=0.0.0.0');
    expect(readText(path.join(deployDir, 'docker-entrypoint.sh'))).toContain('services/$VIGIL_SERVICE');
  });

  it('.dockerignore keeps dependencies, build output and local secrets out of the build context', () => {
    for (const entry of ['**/node_modules', '**/dist', '.git', '**/.env', '**/secrets.env', '**/*.secrets.*'])
      expect(ignore.split('\n')).toContain(entry);
    expect(ignore.split('\n')).toContain('**/secrets.json');
  });

  it('.gitignore keeps local secret files out of git, but not the tracked demo examples/secrets.json', () => {
    const gitignore = readText(path.join(root, '.gitignore')).split('\n');
    for (const entry of ['.env', 'secrets.env', '*.secrets.*']) expect(gitignore).toContain(entry);
    expect(gitignore.filter((l) => /secrets\.json/.test(l))).toEqual([]);
  });

  it('assemble-runtime.sh copies only the demo jobs and handlers from examples/, never a secrets file', () => {
    const script = readText(path.join(deployDir, 'assemble-runtime.sh'));
    expect(script).not.toMatch(/cp -a examples["'\s]/);
    expect(script).toContain('cp examples/jobs.yaml "$out/examples/"');
    expect(script).toContain('cp -a examples/handlers "$out/examples/"');
  });

  it('only the runner gets --max-semi-space-size (not the image, where every service would pay for it)', () => {
    expect(dockerfile).not.toMatch(/^\s*NODE_OPTIONS=.*max-semi-space-size/m);
  });
});

describe('docs/CONTRACT.md', () => {
  const shared = [path.join(root, '..', 'shared', 'CONTRACT.md')].find((p) => existsSync(p));
  it.skipIf(!shared)('is the public contract, word for word (users read it in the repository)', () => {
    expect(readText(path.join(root, 'docs', 'CONTRACT.md'))).toBe(readText(shared as string));
  });
});
