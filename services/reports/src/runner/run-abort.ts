/**
 * A run's cancellation, with its AbortController created only when someone asks for the signal or aborts:
 * most short runs never do, and creating one per run showed up among a short run's largest costs.
 */
export class RunAbort {
  private controller?: AbortController;

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  get reason(): unknown {
    return this.controller?.signal.reason;
  }

  abort(reason: unknown): void {
    this.controller ??= new AbortController();
    this.controller.abort(reason);
  }
}
