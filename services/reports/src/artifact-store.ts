import { storageReplicas } from '@vigil/shared';
import type { JetStreamClient, ObjectStore } from 'nats';

export const REPORTS_BUCKET = 'reports';

/** Where report artifacts go (a NATS object store in the service; handlers only see this). */
export interface ArtifactStore {
  put(name: string, text: string, description?: string): Promise<{ name: string; bytes: number }>;
  get(name: string): Promise<string | undefined>;
}

/** The object store bucket `reports`, opened on first use. */
export function natsArtifactStore(js: JetStreamClient, bucket = REPORTS_BUCKET): ArtifactStore {
  let os: Promise<ObjectStore> | undefined;
  const open = () => {
    if (!os) {
      os = js.views.os(bucket, { replicas: storageReplicas() });
      os.catch(() => (os = undefined));
    }
    return os;
  };
  return {
    async put(name, text, description) {
      const data = new TextEncoder().encode(text);
      await (await open()).putBlob({ name, description }, data);
      return { name, bytes: data.length };
    },
    async get(name) {
      const blob = await (await open()).getBlob(name);
      return blob ? new TextDecoder().decode(blob) : undefined;
    },
  };
}
