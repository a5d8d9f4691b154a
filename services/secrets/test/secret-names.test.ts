// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Vigil ${secret:…} templates, not JS ones
import { parseJobsFile } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { parseNameList, secretNamesFromJobs, templateSecretNames } from '../src/secret-names.js';

describe('which secrets to warm', () => {
  it('collects targets.secret, alerts.secret and ${secret:…} templates from a jobs file', () => {
    const file = parseJobsFile(
      [
        'jobs:',
        '  daily-reports:',
        '    schedule: "0 6 * * *"',
        '    handler: report.daily',
        '    targets: { secret: companies }',
        '    alerts: { recipients: [ops@example.com], secret: alert-recipients }',
        '  nightly-export:',
        '    schedule: "*/30 * * * * *"',
        '    handler: http',
        '    http: { url: "https://api.example.com/export", method: POST, headers: { x-key: "${secret:export-key}", y: "${secret:db.password}" } }',
      ].join('\n'),
      'jobs.yaml',
    );
    expect(secretNamesFromJobs(file)).toEqual(['alert-recipients', 'companies', 'db', 'export-key']);
  });

  it('reads templates anywhere in a value tree', () => {
    expect([...templateSecretNames({ a: ['x ${secret:one} ${secret: two.f }'], b: 'none' })]).toEqual(['one', 'two']);
  });

  it('SECRET_NAMES is a comma or space list without duplicates', () => {
    expect(parseNameList('a, b,,c a')).toEqual(['a', 'b', 'c']);
    expect(parseNameList(undefined)).toEqual([]);
  });
});
