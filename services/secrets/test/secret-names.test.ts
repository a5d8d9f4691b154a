// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Vigil ${secret:…} templates, not JS ones
import { parseJobsFile } from '@vigil/shared';
import { describe, expect, it } from 'vitest';
import { headerValue, SECRET_NAME_PATTERN } from '@vigil/shared';
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

describe('secret name rule and error headers', () => {
  it('allows AWS Secrets Manager names, refuses control characters, spaces and other punctuation', () => {
    for (const ok of ['db-password', 'dotted.name', 'team/app_key+v2=x.y@z-1', 'A'.repeat(512)]) {
      expect(SECRET_NAME_PATTERN.test(ok)).toBe(true);
    }
    for (const bad of ['', 'a\nb', 'a\rb', 'a b', 'a:b', '${x}', 'é', 'A'.repeat(513)]) {
      expect(SECRET_NAME_PATTERN.test(bad)).toBe(false);
    }
  });

  it('header values lose CR/LF and other control characters, and long texts are cut', () => {
    expect(headerValue('secret "a\r\nb\u0000" does not exist', 512)).toBe('secret "a b " does not exist');
    expect(headerValue('x'.repeat(2000), 512)).toHaveLength(512);
  });
});
