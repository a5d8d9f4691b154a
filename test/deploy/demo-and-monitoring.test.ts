// The deploy pieces around the services: the demo LLM that compose and the dev overlay run for the demo jobs, the
// optional kube-prometheus-stack label component and the one that leaves the Prometheus Operator objects out, the
// NATS store limit of the dev overlay, and the compose override snippets deploy/README.md tells operators to write.
// Tools that are missing skip their test with the reason in its name, as in manifests.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, runUnderBuildLock, waitFor } from '@vigil/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDir, kustomize, parseYaml, readText, root, run, which } from './deploy-files.js';

const compose = which('docker-compose');
const kubectl = which('kubectl');
const missing = (tool: string) => ` — ${tool} is not installed; skipped`;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const composeFile = path.join(deployDir, 'docker-compose.yml');
const demoScript = path.join(deployDir, 'demo-llm.mjs');
const fakeLlmDist = path.join(root, 'packages', 'shared', 'dist', 'testing', 'fake-llm.js');
const VIGIL_COMPOSE_SERVICES = [
  'scheduler-1',
  'scheduler-2',
  'reports-1',
  'reports-2',
  'notifier',
  'secrets',
  'webhooks',
];

function composeConfig(dir: string, files: string[]): Record<string, Obj> {
  const r = run(compose!, [...files.flatMap((f) => ['-f', f]), 'config'], { cwd: dir });
  expect(r.status, `docker-compose config failed:\n${r.stderr}`).toBe(0);
  return obj(obj(parseYaml(r.stdout)).services) as Record<string, Obj>;
}

/** The ```yaml blocks of deploy/README.md that are compose override files. */
function overrideSnippets(): string[] {
  const readme = readText(path.join(deployDir, 'README.md'));
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^services:/m.test(b));
}

describe('demo LLM (deploy/demo-llm.mjs)', () => {
  let child: ChildProcess | undefined;
  let port = 0;
  let output = '';

  beforeAll(async () => {
    if (which('pnpm')) runUnderBuildLock(['pnpm', 'exec', 'tsc', '-b', 'packages/shared'], root);
    expect(existsSync(fakeLlmDist), `${fakeLlmDist} missing: build packages/shared first`).toBe(true);
    port = await freePort();
    // As the image runs it: the entrypoint with arguments execs them.
    child = spawn('sh', [path.join(deployDir, 'docker-entrypoint.sh'), 'node', demoScript, String(port), '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    await waitFor(() => output.includes('listening on'), { timeout: 15_000, message: 'demo LLM listening' });
  }, 120_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('answers an OpenAI-style chat completion for the demo models', async () => {
    for (const model of ['demo-primary', 'demo-fallback']) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'acme' }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
      expect(body.model).toBe(model);
      expect(body.choices[0].message.content).toContain('acme');
    }
  });

  it('--check exits 0 while it listens, then it stops cleanly on SIGTERM and --check fails', async () => {
    expect(run(process.execPath, [demoScript, '--check', String(port)]).status).toBe(0);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(run(process.execPath, [demoScript, '--check', String(port)]).status).toBe(1);
  });

  it('is part of the image (assemble-runtime.sh copies it next to the entrypoint)', () => {
    expect(readText(path.join(deployDir, 'assemble-runtime.sh'))).toMatch(
      /^cp deploy\/docker-entrypoint\.sh .*deploy\/demo-llm\.mjs "\$out\/deploy\/"$/m,
    );
  });
});

describe('demo LLM wiring', () => {
  it.skipIf(!compose)(
    `compose: the runners default to the demo-llm service, which nothing depends on${compose ? '' : missing('docker-compose')}`,
    () => {
      const services = composeConfig(deployDir, [composeFile]);
      const demo = services['demo-llm'];
      expect(demo, 'service demo-llm').toBeTruthy();
      const command = list(demo.command).map(String);
      expect(command.slice(0, 2)).toEqual(['node', '/app/deploy/demo-llm.mjs']);
      const port = command[2];
      expect(command[3]).toBe('0.0.0.0');
      expect(list(obj(demo.healthcheck).test).map(String)).toEqual(expect.arrayContaining(['--check', port]));
      for (const name of ['reports-1', 'reports-2']) {
        const env = obj(services[name].environment);
        expect(env.LLM_ENDPOINT, name).toBe(`http://demo-llm:${port}/v1`);
        expect(env.LLM_MODELS, name).toBe('demo-primary,demo-fallback');
      }
      // Deleting the service (as its comment says) must leave a valid file.
      for (const [name, s] of Object.entries(services))
        expect(Object.keys(obj(s.depends_on)), name).not.toContain('demo-llm');
    },
  );

  it.skipIf(!compose)(
    `compose: LLM_ENDPOINT from deploy/.env replaces the demo${compose ? '' : missing('docker-compose')}`,
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-compose-'));
      try {
        copyFileSync(composeFile, path.join(dir, 'docker-compose.yml'));
        writeFileSync(path.join(dir, '.env'), 'LLM_ENDPOINT=https://llm.example.com/v1\nLLM_MODELS=m1,m2\n');
        const env = obj(composeConfig(dir, ['docker-compose.yml'])['reports-1'].environment);
        expect(env.LLM_ENDPOINT).toBe('https://llm.example.com/v1');
        expect(env.LLM_MODELS).toBe('m1,m2');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(!kubectl)(
    `k8s: the dev overlay runs the demo LLM and points vigil-env at it; the base has none${kubectl ? '' : missing('kubectl')}`,
    () => {
      const dev = kustomize('deploy/k8s/overlays/dev');
      const find = (kind: string, name: string) =>
        dev.find((d) => d.kind === kind && String(obj(d.metadata).name).startsWith(name));
      const deployment = find('Deployment', 'demo-llm');
      const container = obj(list(obj(obj(obj(deployment?.spec).template).spec).containers)[0]);
      const args = list(container.args).map(String);
      expect(args.slice(0, 2)).toEqual(['node', '/app/deploy/demo-llm.mjs']);
      expect(args[3]).toBe('0.0.0.0');
      // The same image as the services (the overlay's images: rewrites both).
      const scheduler = find('Deployment', 'vigil-scheduler');
      const schedulerImage = obj(list(obj(obj(obj(scheduler?.spec).template).spec).containers)[0]).image;
      expect(container.image).toBe(schedulerImage);
      const service = find('Service', 'demo-llm');
      const servicePort = obj(list(obj(service?.spec).ports)[0]).port;
      expect(String(servicePort)).toBe(args[2]);
      const env = obj(find('ConfigMap', 'vigil-env')?.data);
      expect(env.LLM_ENDPOINT).toBe(`http://demo-llm:${servicePort}/v1`);
      expect(env.LLM_MODELS).toBe('demo-primary,demo-fallback');

      const base = kustomize('deploy/k8s/base');
      expect(base.some((d) => String(obj(d.metadata).name).startsWith('demo-llm'))).toBe(false);
      const baseEnv = obj(
        base.find((d) => d.kind === 'ConfigMap' && String(obj(d.metadata).name).startsWith('vigil-env'))?.data,
      );
      expect(baseEnv.LLM_ENDPOINT).toBeUndefined();
    },
  );
});

describe('kubernetes extras', () => {
  const bytes = (size: string): number => {
    const m = /^(\d+)\s*(Ki|Mi|Gi|KB|MB|GB|K|M|G)?$/i.exec(size.trim());
    if (!m) throw new Error(`not a size: ${size}`);
    const unit = (m[2] ?? '').toUpperCase();
    const k = unit.startsWith('K') ? 1 : unit.startsWith('M') ? 2 : unit.startsWith('G') ? 3 : 0;
    return Number(m[1]) * 1024 ** k;
  };

  it.skipIf(!kubectl)(
    `NATS: JetStream's file store limit stays below each node's volume, base and dev${kubectl ? '' : missing('kubectl')}`,
    () => {
      for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/dev']) {
        const docs = kustomize(dir);
        const conf = String(
          obj(docs.find((d) => d.kind === 'ConfigMap' && obj(d.metadata).name === 'nats-config')?.data)['nats.conf'],
        );
        expect(conf, dir).toMatch(/max_file_store: \$JS_MAX_FILE_STORE/);
        const sts = obj(docs.find((d) => d.kind === 'StatefulSet' && obj(d.metadata).name === 'nats'));
        const container = obj(list(obj(obj(obj(sts.spec).template).spec).containers)[0]);
        const limit = list(container.env)
          .map(obj)
          .find((e) => e.name === 'JS_MAX_FILE_STORE')?.value;
        const volume = obj(obj(obj(obj(list(obj(sts.spec).volumeClaimTemplates)[0]).spec).resources).requests).storage;
        expect(limit, dir).toBeTruthy();
        expect(bytes(String(limit)), `${dir}: JS_MAX_FILE_STORE ${limit} vs volume ${volume}`).toBeLessThan(
          bytes(String(volume)),
        );
      }
    },
  );

  it.skipIf(!kubectl)(
    `components/prometheus-release-label labels every ServiceMonitor and the PrometheusRule${kubectl ? '' : missing('kubectl')}`,
    () => {
      // On the base: the dev overlay leaves these objects out (components/without-prometheus-operator).
      const docs = baseWithComponent('prometheus-release-label');
      const selected = docs.filter((d) => d.kind === 'ServiceMonitor' || d.kind === 'PrometheusRule');
      expect(selected.length).toBe(6);
      for (const d of selected) {
        expect(obj(obj(d.metadata).labels).release, String(obj(d.metadata).name)).toBe('kube-prometheus-stack');
      }
      // Only the monitoring objects: selectors and other objects are untouched.
      expect(docs.filter((d) => obj(obj(d.metadata).labels).release !== undefined).length).toBe(6);
    },
  );
});

/** The base rendered with one of deploy/k8s/components applied. */
function baseWithComponent(component: string): Obj[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-kustomize-'));
  try {
    // kustomize accepts only relative paths to other kustomizations.
    const k8s = path.relative(dir, path.join(deployDir, 'k8s'));
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      `resources:\n  - ${k8s}/base\ncomponents:\n  - ${k8s}/components/${component}\n`,
    );
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('components/without-prometheus-operator', () => {
  it.skipIf(!kubectl)(
    `removes exactly the ServiceMonitors and the PrometheusRule${kubectl ? '' : missing('kubectl')}`,
    () => {
      const without = baseWithComponent('without-prometheus-operator');
      const base = kustomize('deploy/k8s/base');
      const needsCrd = (d: Obj) => String(d.apiVersion).startsWith('monitoring.coreos.com/');
      expect(base.filter(needsCrd).length).toBe(6);
      expect(without.filter(needsCrd)).toEqual([]);
      expect(without).toEqual(base.filter((d) => !needsCrd(d)));
    },
  );
});

describe('deploy/README.md compose override snippets', () => {
  it.skipIf(!compose)(`are valid and reach the containers they name${compose ? '' : missing('docker-compose')}`, () => {
    const snippets = overrideSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-test-compose-'));
    try {
      copyFileSync(composeFile, path.join(dir, 'docker-compose.yml'));
      writeFileSync(path.join(dir, 'secrets.env'), 'VIGIL_SECRET_OPENAI=sk-test\n');
      const base = composeConfig(dir, ['docker-compose.yml']);
      snippets.forEach((snippet, i) => {
        const file = `override-${i}.yml`;
        writeFileSync(path.join(dir, file), snippet);
        const merged = composeConfig(dir, ['docker-compose.yml', file]);
        const wanted = obj(obj(parseYaml(snippet)).services);
        for (const [name, extra] of Object.entries(wanted)) {
          const got = merged[name];
          // The base environment survives the merge, and the snippet's variables are added.
          for (const [k, v] of Object.entries(obj(base[name]?.environment)))
            expect(obj(got.environment)[k], `${name} ${k}`).toEqual(v);
          for (const [k, v] of Object.entries(obj(obj(extra).environment)))
            expect(String(obj(got.environment)[k]), `${name} ${k}`).toBe(String(v));
          if (obj(extra).env_file) expect(obj(got.environment).VIGIL_SECRET_OPENAI, name).toBe('sk-test');
          for (const v of list(obj(extra).volumes)) {
            const target = String(v).split(':')[1];
            expect(JSON.stringify(got.volumes), `${name} mounts ${target}`).toContain(target);
            expect(JSON.stringify(got.volumes), `${name} keeps /app/examples`).toContain('/app/examples');
          }
        }
      });
      // The jobs-folder snippet mounts it into every service that reads the jobs file.
      const jobs = snippets.find((s) => s.includes('/etc/vigil/jobs'));
      expect(Object.keys(obj(obj(parseYaml(jobs ?? '')).services)).sort()).toEqual(
        VIGIL_COMPOSE_SERVICES.filter((s) => s !== 'webhooks').sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
