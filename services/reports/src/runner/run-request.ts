import { ErrorCode, envelopeProblem, isSubjectToken, type JobRun, parseJobRun, ValidationError } from '@vigil/shared';

const decoder = new TextDecoder();

/** A `job.requested.<job>` payload, checked: a CloudEvent whose data is a JobRun. Throws ValidationError. */
export function parseRunRequest(data: Uint8Array): JobRun {
  let env: unknown;
  try {
    env = JSON.parse(decoder.decode(data));
  } catch {
    throw new ValidationError('payload is not JSON', { code: ErrorCode.INVALID_EVENT });
  }
  const problem = envelopeProblem(env);
  if (problem) throw new ValidationError(`invalid CloudEvent: ${problem}`, { code: ErrorCode.INVALID_EVENT });
  const r = parseJobRun((env as { data: unknown }).data);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
    throw new ValidationError(`invalid job.requested data: ${issues}`, { code: ErrorCode.INVALID_EVENT });
  }
  // The job name becomes a subject token of every event the run publishes (job.<status>.<job>).
  if (!isSubjectToken(r.data.job)) {
    throw new ValidationError(`invalid job.requested data: job ${JSON.stringify(r.data.job)} is not a subject token`, {
      code: ErrorCode.INVALID_EVENT,
    });
  }
  return r.data;
}
