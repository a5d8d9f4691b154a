import { requireBearer } from '@vigil/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiResult, SchedulerApi } from './api.js';

const send = (reply: FastifyReply, r: ApiResult) => reply.code(r.status).send(r.body);

/** Contract §6 scheduler routes; mutating ones need `Authorization: Bearer $VIGIL_API_TOKEN`. */
export function registerHttpRoutes(app: FastifyInstance, api: SchedulerApi, token: () => string | undefined): void {
  const guard = { preHandler: requireBearer(token) };
  type JobParams = { Params: { job: string } };
  app.get('/api/jobs', async (_req, reply) => send(reply, api.jobs()));
  app.get<JobParams>('/api/jobs/:job', async (req, reply) => send(reply, api.job(req.params.job)));
  app.post<JobParams>('/api/jobs/:job/trigger', guard, async (req, reply) =>
    send(reply, await api.trigger(req.params.job, req.body, 'api')),
  );
  app.post<JobParams>('/api/jobs/:job/pause', guard, async (req, reply) =>
    send(reply, await api.pause(req.params.job, true, req.body)),
  );
  app.post<JobParams>('/api/jobs/:job/resume', guard, async (req, reply) =>
    send(reply, await api.pause(req.params.job, false, req.body)),
  );
  app.get('/api/runs', async (req, reply) => send(reply, api.runs(req.query)));
  app.get<{ Params: { runId: string } }>('/api/runs/:runId', async (req, reply) =>
    send(reply, api.run(req.params.runId)),
  );
  app.get('/api/system/health', async (_req, reply) => send(reply, await api.health()));
}
