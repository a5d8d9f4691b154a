import type { Logger } from '../log/index.js';

/**
 * SIGTERM/SIGINT: graceful shutdown, then exit 0 (1 when the shutdown timed out). A second signal while
 * stopping exits at once. Crashes (uncaught errors) are logged as fatal and exit 1 rather than dying silently.
 */
export function installSignalHandlers({ log, shutdown }: { log: Logger; shutdown: () => Promise<boolean> }) {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, `received ${signal}`);
    void shutdown().then(
      (clean) => process.exit(clean ? 0 : 1),
      () => process.exit(1),
    );
  };
  const onCrash = (err: unknown) => {
    log.fatal({ err }, 'uncaught error: exiting');
    process.exit(1);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  };
}
