import t from 'tap';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, parseTokens } from '../../server/config.ts';

t.test('defaults', async (t) => {
  const c = loadConfig({}, []);
  t.match(c, { host: '127.0.0.1', port: 8080, models: [], engineSlots: 1, maxUploadBytes: 500 * 1024 * 1024, mongodbUri: undefined, logLevel: 'info' });
  t.ok(c.workers >= 1 && c.workers * c.threadsPerJob <= Math.max(1, availableParallelism()));
  t.equal(c.tokens.size, 0);
});

t.test('live endpointing follows the VAD unless set: words with Silero, silence with the energy detector', async (t) => {
  t.equal(loadConfig({}, []).endpointing, 'words');
  t.equal(loadConfig({ HUB_VAD: 'energy' }, []).endpointing, 'silence', 'its false pauses in noise would end sentences early');
  t.equal(loadConfig({ HUB_VAD: 'energy', HUB_ENDPOINTING: 'words' }, []).endpointing, 'words', 'as set');
  t.equal(loadConfig({ HUB_ENDPOINTING: 'silence' }, []).endpointing, 'silence');
});

t.test('environment, overridden by flags', async (t) => {
  const c = loadConfig(
    { HUB_PORT: '9000', HUB_HOST: '0.0.0.0', WHISPER_MODEL: 'base.en', HUB_TOKENS: 'a1=alice, b2=bob:admin', HUB_MAX_UPLOAD_MB: '10' },
    ['--port', '0', '--model', 'synthetic:micro'],
  );
  t.match(c, { host: '0.0.0.0', port: 0, models: ['synthetic:micro'], maxUploadBytes: 10 * 1024 * 1024 });
  t.same(c.tokens.get('a1'), { userId: 'alice', admin: false });
  t.same(c.tokens.get('b2'), { userId: 'bob', admin: true });
});

t.test('engine threads never exceed the cores', async (t) => {
  const cores = availableParallelism();
  const c = loadConfig({ HUB_WORKERS: String(cores + 3) }, []);
  t.equal(c.workers, cores);
  t.equal(c.requestedWorkers, cores + 3);
  t.ok(c.workers * c.threadsPerJob <= cores);
});

t.test('several models, comma-separated, the default first; slots per engine worker share the cores', async (t) => {
  const c = loadConfig({ WHISPER_MODEL: ' tiny.en , /models/base.bin,tiny.en', HUB_WORKERS: '1', HUB_ENGINE_SLOTS: '2' }, []);
  t.same(c.models, ['tiny.en', '/models/base.bin'], 'trimmed, duplicates once');
  t.equal(c.engineSlots, 2);
  t.equal(c.threadsPerJob, Math.max(1, Math.floor(availableParallelism() / 2)));
  t.match(t.throws(() => loadConfig({ WHISPER_MODEL: 'tiny.en,,base.en' }, [])), /WHISPER_MODEL must be a model, or models separated by commas/);
  t.match(t.throws(() => loadConfig({ HUB_ENGINE_SLOTS: '0' }, [])), /HUB_ENGINE_SLOTS must be between 1 and 32/);
});

t.test('bad values are all reported, clearly', async (t) => {
  const error = t.throws(() =>
    loadConfig({ HUB_PORT: '70000', HUB_WORKERS: 'two', HUB_MAX_UPLOAD_MB: '0', HUB_TOKENS: 'justtoken', MONGODB_URI: 'http://x', HUB_LOG_LEVEL: 'loud' }, []),
  ) as ConfigError;
  t.ok(error instanceof ConfigError);
  t.equal(error.problems.length, 6, error.message);
  t.match(error.message, /HUB_PORT must be between 0 and 65535/);
  t.match(error.message, /HUB_WORKERS must be a whole number/);
  t.match(error.message, /token=user/);
});

t.test('unknown flags are refused', async (t) => {
  t.throws(() => loadConfig({}, ['--prot', '1']), { message: /Unknown option '--prot'/ });
});

t.test('tokens: duplicates and malformed pairs', async (t) => {
  t.equal(parseTokens('x=a,x=b').problems.length, 1);
  t.equal(parseTokens('=a').problems.length, 1);
  t.equal(parseTokens('x=a:root').problems.length, 1);
  t.equal(parseTokens('').tokens.size, 0);
});

t.test('cluster roles: the bus and the shared record are required, and only there', async (t) => {
  const nats = 'nats://127.0.0.1:4222';
  const mongo = 'mongodb://127.0.0.1:27017/hub';
  t.match(loadConfig({}, []), { role: 'all', natsUrl: undefined, nodeId: /.+-\d+$/ }, 'the single process by default, named host-pid');
  t.match(loadConfig({ HUB_ROLE: 'hub', HUB_NATS_URL: nats, MONGODB_URI: mongo, HUB_NODE_ID: 'hub-1' }, []), { role: 'hub', natsUrl: nats, nodeId: 'hub-1' });
  t.match(loadConfig({ MONGODB_URI: mongo }, ['--role', 'engine', '--nats-url', nats]), { role: 'engine' }, 'as flags too');
  t.match(t.throws(() => loadConfig({ HUB_ROLE: 'hub', MONGODB_URI: mongo }, [])), /HUB_ROLE=hub needs HUB_NATS_URL/);
  t.match(t.throws(() => loadConfig({ HUB_ROLE: 'engine', HUB_NATS_URL: nats }, [])), /HUB_ROLE=engine needs MONGODB_URI/);
  t.match(t.throws(() => loadConfig({ HUB_NATS_URL: nats }, [])), /HUB_NATS_URL is for cluster mode: set HUB_ROLE=hub or HUB_ROLE=engine/);
  t.match(t.throws(() => loadConfig({ HUB_ROLE: 'worker' }, [])), /HUB_ROLE must be all, hub or engine/);
  t.match(t.throws(() => loadConfig({ HUB_ROLE: 'hub', HUB_NATS_URL: 'localhost:4222', MONGODB_URI: mongo }, [])), /HUB_NATS_URL must look like nats:\/\/host:4222/);
  t.match(t.throws(() => loadConfig({ HUB_NODE_ID: 'a b/c' }, [])), /HUB_NODE_ID must be 1 to 100 letters/);
  t.match(loadConfig({}, []), { leaseTtlMs: 15_000 }, 'task leases last 15 s by default');
  t.match(loadConfig({}, ['--lease-ttl-sec', '2.5']), { leaseTtlMs: 2_500 });
  for (const bad of ['0', '-1', 'soon', '1000']) t.match(t.throws(() => loadConfig({ HUB_LEASE_TTL_SEC: bad }, [])), /HUB_LEASE_TTL_SEC must be/, `HUB_LEASE_TTL_SEC=${bad}`);
});
