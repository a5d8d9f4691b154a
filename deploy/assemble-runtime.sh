#!/bin/sh
# Lays out what the image runs, from a built workspace (run at the repository root after `pnpm -r build`):
# a production-only pnpm install from the same lockfile (no typescript, vitest, biome, @types) plus each
# package's compiled dist/, examples/, the entrypoint, the health check and the demo LLM (deploy/demo-llm.mjs,
# for docker-compose and the dev overlay). pnpm's symlinks are relative, so the tree works wherever it is
# copied. Used by deploy/Dockerfile and by test/deploy, which boots every service from it.
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
if [ -d examples ]; then cp -a examples "$out/"; else mkdir -p "$out/examples"; fi
cp deploy/docker-entrypoint.sh deploy/healthcheck.mjs deploy/demo-llm.mjs "$out/deploy/"
chmod 0755 "$out/deploy/docker-entrypoint.sh"
rm -f "$out/pnpm-lock.yaml"
