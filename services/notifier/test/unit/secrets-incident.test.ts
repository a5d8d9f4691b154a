import { describe, expect, it } from 'vitest';
import { noteSecretsAlert, noteSecretsRecovery, type SecretsIncident } from '../../src/secrets-incident.js';

const stale = (names: string[], at: number) => ({ kind: 'secrets-stale-served' as const, names, at });
const failed = (names: string[], at: number) => ({ kind: 'secrets-refresh-failed' as const, names, at });

describe('secrets outage record', () => {
  it('a recovery nobody was alerted about sends nothing', () => {
    expect(noteSecretsRecovery(undefined, { eventId: 'r', names: ['a'], at: 5 }).action).toBe('ignore');
  });

  it('resolves once every alerted secret answered, once, with what was stale and for how long', () => {
    let inc = noteSecretsAlert(undefined, stale(['openai'], 10)) as SecretsIncident;
    inc = noteSecretsAlert(inc, failed(['openai', 'companies', 'partner-api-key'], 20)) as SecretsIncident;
    inc = noteSecretsAlert(inc, stale(['companies'], 30)) as SecretsIncident;
    expect(inc).toMatchObject({ since: 10, alerts: 3, stale: ['openai', 'companies'] });

    const partly = noteSecretsRecovery(inc, { eventId: 'r1', names: ['openai'], at: 40, downForSeconds: 120 });
    expect(partly).toMatchObject({ action: 'wait', stillOpen: ['companies', 'partner-api-key'] });
    const all = noteSecretsRecovery(partly.next, {
      eventId: 'r2',
      names: ['openai', 'companies', 'partner-api-key', 'job_failure_recipients'],
      at: 41,
    });
    expect(all).toMatchObject({ action: 'resolve', next: { downForSeconds: 120, endedBy: { eventId: 'r2', at: 41 } } });
    // its redelivery sends again (the first send may have failed); another recovery of the same outage does not
    expect(noteSecretsRecovery(all.next, { eventId: 'r2', names: [], at: 41 }).action).toBe('resolve');
    expect(noteSecretsRecovery(all.next, { eventId: 'r3', names: ['openai'], at: 42 }).action).toBe('ignore');
  });

  it('a late alert about a failure before the recovery does not reopen; a later one starts the next outage', () => {
    let inc = noteSecretsAlert(undefined, stale(['a'], 10)) as SecretsIncident;
    inc = noteSecretsRecovery(inc, { eventId: 'r', names: ['a'], at: 20 }).next as SecretsIncident;
    expect(noteSecretsAlert(inc, stale(['b'], 15))).toBeUndefined();
    expect(noteSecretsAlert(inc, stale(['b'], 25))).toMatchObject({ since: 25, open: ['b'], alerts: 1 });
  });

  it('per secret: a stale alert delivered after that secret already recovered does not hold the outage open', () => {
    let inc = noteSecretsAlert(undefined, stale(['a'], 10)) as SecretsIncident;
    const b = noteSecretsRecovery(inc, { eventId: 'rb', names: ['b'], at: 30 });
    inc = b.next as SecretsIncident;
    expect(noteSecretsAlert(inc, stale(['b'], 20))).toBeUndefined(); // b's alert is older than b's recovery
    expect(noteSecretsRecovery(inc, { eventId: 'ra', names: ['a'], at: 31 }).action).toBe('resolve');
  });
});
