#!/bin/sh
# Lays out what the image runs, from a built workspace (run at the repository root after `pnpm -r build`):
# a production-only pnpm install from the same lockfile (no typescript, vitest, biome, @types) plus each
# package's compiled dist/, the demo jobs (examples/jobs.yaml and examples/handlers/, nothing else from examples/:
# never examples/secrets.json or other files an operator put there), the entrypoint, the health check and the demo
# LLM (deploy/demo-llm.mjs, for docker-compose and the dev overlay). pnpm's symlinks are relative, so the tree
# works wherever it is copied. Used by deploy/Dockerfile and by test/deploy, which boots every service from it.
#   sh deploy/assemble-runtime.sh <target-dir> [extra pnpm install flags, e.g. --store-dir /pnpm/store]
set -eu
out=$1
shift

mkdir -p "$out/deploy"
cp package.json pnpm-lock.yaml pnpm-workspace.yaml "$out/"
for d in packages/* services/* bench; do
  [ -f "$d/package.json" ] || continue
  mkdir -p "$out/$d"
  cp "$d/package.json" "$out/$d/"
done
(cd "$out" && CI=true pnpm install --prod --frozen-lockfile --offline --reporter=silent "$@")

for d in packages/* services/*; do
  for f in dist bin; do
    if [ -e "$d/$f" ]; then cp -a "$d/$f" "$out/$d/"; fi
  done
done
# An allowlist, not examples/ whole: a secrets file there (the file provider's demo examples/secrets.json, or real
# values an operator wrote) would be baked into every image. Compose mounts examples/ over this at run time.
mkdir -p "$out/examples"
if [ -f examples/jobs.yaml ]; then cp examples/jobs.yaml "$out/examples/"; fi
if [ -d examples/handlers ]; then cp -a examples/handlers "$out/examples/"; fi
cp deploy/docker-entrypoint.sh deploy/healthcheck.mjs deploy/demo-llm.mjs "$out/deploy/"
chmod 0755 "$out/deploy/docker-entrypoint.sh"
rm -f "$out/pnpm-lock.yaml"
