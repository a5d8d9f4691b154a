#!/bin/sh
# Starts the Vigil service named by VIGIL_SERVICE. With arguments it runs those instead, e.g.
#   docker compose run --rm scheduler-1 vigil jobs
set -eu

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

root=$(cd "$(dirname "$0")/.." && pwd)
case "${VIGIL_SERVICE:-}" in
  scheduler | reports | notifier | secrets | webhooks) ;;
  *)
    # Same shape and exit code as a bad variable inside a service (contract §3: exit 78).
    printf '{"level":"fatal","code":"VIGIL_E_CONFIG","msg":"VIGIL_SERVICE must be one of scheduler, reports, notifier, secrets, webhooks; got \\"%s\\""}\n' \
      "${VIGIL_SERVICE:-}" >&2
    exit 78
    ;;
esac

cd "$root/services/$VIGIL_SERVICE"
# exec: node becomes tini's child directly, so SIGTERM reaches it and it drains before exiting.
exec node dist/main.js
