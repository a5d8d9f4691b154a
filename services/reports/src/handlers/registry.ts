import { ErrorCode, type JobDefinition, ValidationError } from '@vigil/shared';
import type { JobHandler } from '../handler-api.js';
import { loadModuleHandler } from './module-handler.js';

/** Built-in handlers by name; `module:<path>` handlers are loaded on first use. */
export class HandlerRegistry {
  private readonly builtins = new Map<string, JobHandler>();

  constructor(private readonly baseDir: string) {}

  register(name: string, handler: JobHandler): this {
    this.builtins.set(name, handler);
    return this;
  }

  names(): string[] {
    return [...this.builtins.keys()];
  }

  /** The job's handler; a promise only while a module is still being imported (or when it cannot be). */
  resolve(def: JobDefinition): JobHandler | Promise<JobHandler> {
    if (def.handler.startsWith('module:')) return loadModuleHandler(def.handler, this.baseDir);
    const h = this.builtins.get(def.handler);
    if (!h) {
      return Promise.reject(
        new ValidationError(`unknown handler "${def.handler}" (known: ${this.names().join(', ')}, module:<path>)`, {
          code: ErrorCode.HANDLER_UNKNOWN,
        }),
      );
    }
    return h;
  }
}
