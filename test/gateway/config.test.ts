import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ConfigProblem, type GatewayConfig } from '../../src/config/index.ts';
import { settings } from '../../src/config/settings.ts';

const cwd = '/srv/gw';

function load(argv: string[] = [], env: Record<string, string> = {}): GatewayConfig {
  const result = loadConfig({ argv, env, cwd });
  assert.equal(result.help, false);
  return result.config;
}

function problems(argv: string[] = [], env: Record<string, string> = {}): ConfigProblem[] {
  try {
    loadConfig({ argv, env, cwd });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('configuration was accepted');
}

function problemAt(list: ConfigProblem[], path: string): ConfigProblem {
  const found = list.find((p) => p.path === path);
  assert.ok(found, `no problem at ${path} in ${JSON.stringify(list)}`);
  return found;
}

describe('configuration', () => {
  let dir: string;
  const configFile = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('the embedded default', () => {
    it('runs everything locally with one sparse scratch disk', () => {
      const config = load();
      assert.equal(config.dataDir, '/srv/gw/data');
      assert.equal(config.iscsi.host, '127.0.0.1');
      assert.equal(config.iscsi.port, 3260);
      assert.equal(config.iscsi.iqnPrefix, 'iqn.2026-11.io.tapegateway');
      assert.equal(config.gatewayName, 'gw1');
      assert.deepEqual(config.volumes, [{ name: 'scratch', size: 2 ** 30, blockSize: 512, type: 'stored' }]);
      assert.equal(config.s3.embedded, true);
      assert.equal(config.s3.forcePathStyle, true);
      assert.deepEqual(config.s3.credentials, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
      assert.equal(config.iscsi.limits.maxRecvDataSegmentLength, 262144);
      assert.equal(config.iscsi.auth.chap, undefined);
    });

    it('answers --help without reading anything else', () => {
      assert.deepEqual(loadConfig({ argv: ['--help'], env: { GATEWAY_ISCSI_PORT: 'nonsense' }, cwd }), { help: true });
    });
  });

  describe('precedence: defaults < config file < environment < flags', () => {
    it('takes each setting from the highest layer that gives it', () => {
      const file = configFile('gw.json', { iscsi: { port: 4000, host: '0.0.0.0' }, gatewayName: 'fromfile', logLevel: 'debug' });
      const env = { GATEWAY_CONFIG: file, GATEWAY_ISCSI_PORT: '5000', GATEWAY_NAME: 'fromenv' };
      const config = load(['--iscsi-port', '6000'], env);
      assert.equal(config.iscsi.port, 6000);
      assert.equal(config.gatewayName, 'fromenv');
      assert.equal(config.iscsi.host, '0.0.0.0');
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.iscsi.iqnPrefix, 'iqn.2026-11.io.tapegateway');
      assert.equal(load([], env).iscsi.port, 5000);
      assert.equal(load([], { GATEWAY_CONFIG: file }).iscsi.port, 4000);
    });

    it('prefers --config to GATEWAY_CONFIG', () => {
      const a = configFile('a.json', { gatewayName: 'a' });
      const b = configFile('b.json', { gatewayName: 'b' });
      assert.equal(load(['--config', b], { GATEWAY_CONFIG: a }).gatewayName, 'b');
    });

    it('merges objects key by key and replaces lists whole', () => {
      const file = configFile('gw.json', {
        iscsi: { limits: { maxBurstLength: 1048576 } },
        volumes: [{ name: 'big', size: '2GiB', blockSize: 4096 }],
      });
      const config = load(['--config', file]);
      assert.equal(config.iscsi.limits.maxBurstLength, 1048576);
      assert.equal(config.iscsi.limits.firstBurstLength, 262144);
      assert.deepEqual(config.volumes, [{ name: 'big', size: 2 * 2 ** 30, blockSize: 4096, type: 'stored' }]);
      assert.deepEqual(
        load(['--config', file, '--volume', 'a=64MiB', '--volume', 'b=1048576']).volumes.map((v) => [v.name, v.size]),
        [
          ['a', 64 * 2 ** 20],
          ['b', 1048576],
        ],
      );
      assert.deepEqual(
        load([], { GATEWAY_VOLUMES: 'x=1MiB, y=2MiB' }).volumes.map((v) => v.name),
        ['x', 'y'],
      );
    });

    it('resolves a relative data directory against the file that names it, else the working directory', () => {
      const file = configFile('gw.json', { dataDir: 'state' });
      assert.equal(load(['--config', file]).dataDir, join(dir, 'state'));
      assert.equal(load([], { GATEWAY_DATA_DIR: 'elsewhere' }).dataDir, '/srv/gw/elsewhere');
      assert.equal(load(['--data-dir', '/var/lib/gw']).dataDir, '/var/lib/gw');
    });

    it('builds CHAP, allow-lists and S3 settings from the environment', () => {
      const config = load(
        ['--allow-initiator', 'iqn.1993-08.org.debian:01:a', '--s3-endpoint', 'http://127.0.0.1:9000', '--s3-prefix', 'site-a'],
        {
          GATEWAY_CHAP_USER: 'backup',
          GATEWAY_CHAP_SECRET: 'initiator-secret',
          GATEWAY_MUTUAL_CHAP_USER: 'gateway',
          GATEWAY_MUTUAL_CHAP_SECRET: 'gateway-secret',
          GATEWAY_S3_ACCESS_KEY_ID: 'minio',
          GATEWAY_S3_SECRET_ACCESS_KEY: 'minio-secret',
          GATEWAY_S3_FORCE_PATH_STYLE: 'true',
        },
      );
      assert.deepEqual(config.iscsi.auth, {
        chap: { user: 'backup', secret: 'initiator-secret' },
        mutualChap: { user: 'gateway', secret: 'gateway-secret' },
      });
      assert.deepEqual(config.iscsi.allowedInitiators, ['iqn.1993-08.org.debian:01:a']);
      assert.equal(config.s3.embedded, false);
      assert.equal(config.s3.prefix, 'site-a/');
      assert.equal(config.s3.forcePathStyle, true);
      assert.deepEqual(config.s3.credentials, { accessKeyId: 'minio', secretAccessKey: 'minio-secret' });
      assert.equal(load(['--s3-endpoint', 'https://s3.eu-west-1.amazonaws.com']).s3.forcePathStyle, false);
    });

    it('warns about GATEWAY_* variables that set nothing', () => {
      const result = loadConfig({ argv: [], env: { GATEWAY_ISCSI_PROT: '3261' }, cwd });
      assert.equal(result.help, false);
      assert.match(result.warnings.join('\n'), /GATEWAY_ISCSI_PROT/);
    });
  });

  describe('validation', () => {
    it('names the flag and says what to type', () => {
      const [problem] = problems(['--iscsi-port', '70000']);
      assert.deepEqual(problem, { path: 'iscsi.port', source: '--iscsi-port', message: 'must be at most 65535, e.g. 3260' });
    });

    it('takes how uploads give way to reads and writes, 0 turning it off, and refuses a negative wait', () => {
      assert.deepEqual(
        [load().cache.uploadQuietMs, load().cache.uploadMaxDeferMs],
        [1000, 60_000],
        'uploads wait for a second of quiet, at most a minute',
      );
      const config = load(['--upload-quiet-ms', '0'], { GATEWAY_UPLOAD_MAX_DEFER_MS: '5000' });
      assert.deepEqual([config.cache.uploadQuietMs, config.cache.uploadMaxDeferMs], [0, 5000]);
      const [problem] = problems([], { GATEWAY_UPLOAD_QUIET_MS: '-5' });
      assert.deepEqual(problem, {
        path: 'cache.uploadQuietMs',
        source: 'GATEWAY_UPLOAD_QUIET_MS',
        message: '"-5" is not a whole number, e.g. GATEWAY_UPLOAD_QUIET_MS=1000',
      });
    });

    it('names the environment variable of a value that is not a number', () => {
      const problem = problemAt(problems([], { GATEWAY_ISCSI_PORT: 'http' }), 'iscsi.port');
      assert.equal(problem.source, 'GATEWAY_ISCSI_PORT');
      assert.match(problem.message, /GATEWAY_ISCSI_PORT=3260/);
    });

    it('names the config file and the unknown key', () => {
      const file = configFile('gw.json', { iscsi: { prot: 3260 } });
      const problem = problemAt(problems(['--config', file]), 'iscsi.prot');
      assert.equal(problem.source, file);
      assert.match(problem.message, /not a setting/);
    });

    it('reports every problem at once', () => {
      const list = problems(['--name', 'Gateway_1', '--iscsi-host', 'localhost', '--s3-bucket', 'TB', '--log-level', 'loud'], {
        GATEWAY_IQN_PREFIX: 'iqn.example.com',
      });
      assert.deepEqual(list.map((p) => p.path).sort(), ['gatewayName', 'iscsi.host', 'iscsi.iqnPrefix', 'logLevel', 's3.bucket']);
      assert.match(problemAt(list, 'iscsi.host').message, /127\.0\.0\.1/);
      assert.match(problemAt(list, 'iscsi.iqnPrefix').message, /iqn\.2026-11\.com\.example/);
    });

    it('refuses unknown flags and flags without values', () => {
      assert.match(problems(['--iscsi-prot', '1'])[0]!.message, /unknown option --iscsi-prot.*--help/);
      assert.match(problems(['--iscsi-port'])[0]!.message, /--iscsi-port needs a value, e.g. --iscsi-port 3260/);
    });

    it('checks CHAP secrets and pairs', () => {
      const short = problemAt(problems([], { GATEWAY_CHAP_USER: 'u', GATEWAY_CHAP_SECRET: 'short' }), 'iscsi.auth.chap.secret');
      assert.equal(short.source, 'GATEWAY_CHAP_SECRET');
      assert.match(short.message, /at least 12 bytes/);
      assert.match(problemAt(problems([], { GATEWAY_CHAP_USER: 'u' }), 'iscsi.auth.chap.secret').message, /set GATEWAY_CHAP_SECRET/);
      const mutualOnly = problems([], { GATEWAY_MUTUAL_CHAP_USER: 'g', GATEWAY_MUTUAL_CHAP_SECRET: 'gateway-secret' });
      assert.match(problemAt(mutualOnly, 'iscsi.auth.mutualChap').message, /needs one-way CHAP/);
      const same = problems([], {
        GATEWAY_DISCOVERY_CHAP_USER: 'u',
        GATEWAY_DISCOVERY_CHAP_SECRET: 'same-secret-1',
        GATEWAY_DISCOVERY_MUTUAL_CHAP_USER: 'g',
        GATEWAY_DISCOVERY_MUTUAL_CHAP_SECRET: 'same-secret-1',
      });
      assert.match(problemAt(same, 'iscsi.discoveryAuth.mutualChap.secret').message, /must differ/);
    });

    it('checks volumes: sizes, block multiples, unique names', () => {
      assert.match(problemAt(problems(['--volume', 'a=1GB']), 'volumes.0.size').message, /"1GiB"/);
      assert.match(problemAt(problems(['--volume', 'a=1000']), 'volumes.0.size').message, /whole number of 512-byte blocks, e.g. "1KiB"/);
      assert.match(problemAt(problems(['--volume', 'a=1MiB', '--volume', 'a=2MiB']), 'volumes.1.name').message, /two volumes/);
      assert.match(problems(['--volume', 'novalue'])[0]!.message, /name=size, e.g. --volume scratch=1GiB/);
      assert.match(problemAt(problems(['--volume', 'a=1GiB:tape']), 'volumes.0.type').message, /"stored" or "cached"/);
    });

    it('takes a volume type after the size: stored unless it says cached', () => {
      assert.deepEqual(
        load(['--volume', 'a=64MiB:cached', '--volume', 'b=64MiB']).volumes.map((v) => [v.name, v.type]),
        [
          ['a', 'cached'],
          ['b', 'stored'],
        ],
      );
    });

    it('checks session limits from the file', () => {
      const file = configFile('gw.json', { iscsi: { limits: { firstBurstLength: 1048576, maxBurstLength: 65536, headerDigest: [] } } });
      const list = problems(['--config', file]);
      assert.match(problemAt(list, 'iscsi.limits.firstBurstLength').message, /maxBurstLength/);
      assert.match(problemAt(list, 'iscsi.limits.headerDigest').message, /at least one/);
    });

    it('refuses credentials for the embedded S3 server', () => {
      const problem = problemAt(problems([], { GATEWAY_S3_ACCESS_KEY_ID: 'a', GATEWAY_S3_SECRET_ACCESS_KEY: 'b' }), 's3.credentials');
      assert.match(problem.message, /fixed credentials/);
    });

    it('explains an unreadable or malformed config file', () => {
      assert.match(problems(['--config', join(dir, 'missing.json')])[0]!.message, /no such file/);
      assert.equal(problems([], { GATEWAY_CONFIG: join(dir, 'missing.json') })[0]!.source, 'GATEWAY_CONFIG');
      assert.match(problems(['--config', configFile('bad.json', '{"iscsi": ')])[0]!.message, /not valid JSON/);
      assert.match(problems(['--config', configFile('list.json', '[]')])[0]!.message, /one JSON object/);
    });
  });

  it('is documented: the README names every setting, flag and variable', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const setting of settings) {
      const last = setting.path.split('.').pop()!;
      assert.ok(readme.includes(setting.env), `README lacks ${setting.env}`);
      assert.ok(readme.includes(last), `README lacks ${setting.path}`);
      if (setting.flag) assert.ok(readme.includes(`--${setting.flag}`), `README lacks --${setting.flag}`);
    }
  });
});
