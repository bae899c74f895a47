// The hub's configuration: environment variables, each overridable by a CLI
// flag, validated once at start with messages that say what to fix.
import { defaultVoiceModelPath } from '../native/models/voice-encoder.ts';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface TokenGrant {
  userId: string;
  admin: boolean;
}

export interface HubConfig {
  host: string;
  port: number;
  dataDir: string;
  /** the models WHISPER_MODEL lists, the default first; empty: the hub's default model */
  models: string[];
  workers: number;
  /** HUB_WORKERS as given (it is capped at the number of cores) */
  requestedWorkers: number | undefined;
  /** jobs each engine worker runs at once, sharing its loaded models (HUB_ENGINE_SLOTS) */
  engineSlots: number;
  /** whisper threads per job: the cores shared out between every slot of every worker */
  threadsPerJob: number;
  /** empty: no tokens configured, open access as the local admin user */
  tokens: Map<string, TokenGrant>;
  maxUploadBytes: number;
  /** uploads and decoded audio together may not exceed this */
  spoolMaxBytes: number;
  /** finished tasks' audio is removed after this many hours (0: kept forever) */
  retentionHours: number;
  /** recordings longer than this are refused (`audio_too_long`) */
  maxAudioHours: number;
  /** live sessions at once, at most (the engines' measured load may refuse sooner) */
  maxStreams: number;
  /** live sessions one user may have open at once */
  maxStreamsPerUser: number;
  /** how long a live session waits for its client to reconnect */
  streamGraceMs: number;
  /** a stream connection without audio or keepalive for this long is closed (4008) */
  streamIdleMs: number;
  /** how live streams find utterances: Silero VAD (the default), or the energy detector (no model) */
  vad: 'silero' | 'energy';
  /** which whisper implementation the engine workers run; auto: the hub's whisper.cpp addon when it is built */
  engine: 'auto' | 'whisper.cpp' | 'napi-rs';
  /** how the whisper.cpp addon dates words: token timestamps, or DTW over the model's alignment heads */
  wordTiming: 'tokens' | 'dtw';
  /** how live utterances end: the endpointer listens to the words (the default with Silero), or the VAD's end silence alone (the default with the energy detector) */
  endpointing: 'words' | 'silence';
  /** the converted speaker-embedding model for diarization (npm run model:import-voice) */
  voiceModel: string;
  mongodbUri: string | undefined;
  logLevel: string;
  /** all: the single process (the default); hub: HTTP, sockets and actors, engines on the bus; engine: engine workers pulling jobs off the bus */
  role: 'all' | 'hub' | 'engine';
  /** the NATS server of cluster mode (roles hub and engine) */
  natsUrl: string | undefined;
  /** this node's name in logs, admin and metrics */
  nodeId: string;
  /** cluster mode: how long a hub's lease on a task lasts without renewal (it renews every third of it) */
  leaseTtlMs: number;
}

/** Environment variable → CLI flag. */
export const SETTINGS = {
  HUB_HOST: 'host',
  HUB_PORT: 'port',
  HUB_DATA_DIR: 'data-dir',
  WHISPER_MODEL: 'model',
  HUB_WORKERS: 'workers',
  HUB_TOKENS: 'tokens',
  HUB_MAX_UPLOAD_MB: 'max-upload-mb',
  HUB_SPOOL_MAX_MB: 'spool-max-mb',
  HUB_RETENTION_HOURS: 'retention-hours',
  HUB_MAX_AUDIO_HOURS: 'max-audio-hours',
  HUB_MAX_STREAMS: 'max-streams',
  HUB_MAX_STREAMS_PER_USER: 'max-streams-per-user',
  HUB_STREAM_GRACE_SEC: 'stream-grace-sec',
  HUB_STREAM_IDLE_SEC: 'stream-idle-sec',
  HUB_VAD: 'vad',
  HUB_ENGINE: 'engine',
  HUB_ENGINE_SLOTS: 'engine-slots',
  HUB_WORD_TIMING: 'word-timing',
  HUB_ENDPOINTING: 'endpointing',
  HUB_VOICE_MODEL: 'voice-model',
  MONGODB_URI: 'mongodb-uri',
  HUB_LOG_LEVEL: 'log-level',
  HUB_ROLE: 'role',
  HUB_NATS_URL: 'nats-url',
  HUB_NODE_ID: 'node-id',
  HUB_LEASE_TTL_SEC: 'lease-ttl-sec',
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const integer = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const decimal = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `${name} must be a number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const schema = z.object({
  HUB_HOST: z.string().trim().min(1, 'HUB_HOST must not be empty').default('127.0.0.1'),
  HUB_PORT: integer('HUB_PORT', 0, 65535).default(8080),
  HUB_DATA_DIR: z.string().trim().min(1, 'HUB_DATA_DIR must not be empty').default('./data'),
  WHISPER_MODEL: z
    .string()
    .transform((list) => [...new Set(list.split(',').map((m) => m.trim()))])
    .refine((models) => models.every((m) => m.length > 0), 'WHISPER_MODEL must be a model, or models separated by commas, with none empty')
    .refine((models) => models.length <= 8, 'WHISPER_MODEL may list 8 models at most')
    .optional(),
  HUB_WORKERS: integer('HUB_WORKERS', 1, 64).optional(),
  HUB_TOKENS: z.string().optional(),
  HUB_MAX_UPLOAD_MB: integer('HUB_MAX_UPLOAD_MB', 1, 1_000_000).default(500),
  HUB_SPOOL_MAX_MB: integer('HUB_SPOOL_MAX_MB', 1, 100_000_000).default(20_480),
  HUB_RETENTION_HOURS: integer('HUB_RETENTION_HOURS', 0, 1_000_000).default(168),
  HUB_MAX_AUDIO_HOURS: decimal('HUB_MAX_AUDIO_HOURS', 0.001, 1000).default(12),
  HUB_MAX_STREAMS: integer('HUB_MAX_STREAMS', 0, 10_000).optional(),
  HUB_MAX_STREAMS_PER_USER: integer('HUB_MAX_STREAMS_PER_USER', 1, 10_000).default(2),
  HUB_STREAM_GRACE_SEC: integer('HUB_STREAM_GRACE_SEC', 0, 3600).default(30),
  HUB_STREAM_IDLE_SEC: integer('HUB_STREAM_IDLE_SEC', 1, 3600).default(30),
  HUB_VAD: z.enum(['silero', 'energy'], { error: 'HUB_VAD must be silero or energy' }).default('silero'),
  HUB_ENGINE: z.enum(['auto', 'whisper.cpp', 'napi-rs'], { error: 'HUB_ENGINE must be auto, whisper.cpp or napi-rs' }).default('auto'),
  HUB_ENGINE_SLOTS: integer('HUB_ENGINE_SLOTS', 1, 32).default(1),
  HUB_WORD_TIMING: z.enum(['tokens', 'dtw'], { error: 'HUB_WORD_TIMING must be tokens or dtw' }).default('tokens'),
  HUB_ENDPOINTING: z.enum(['words', 'silence'], { error: 'HUB_ENDPOINTING must be words or silence' }).optional(),
  HUB_VOICE_MODEL: z.string().trim().min(1, 'HUB_VOICE_MODEL must be a file path').optional(),
  MONGODB_URI: z.string().trim().regex(/^mongodb(\+srv)?:\/\//, 'MONGODB_URI must start with mongodb:// or mongodb+srv://').optional(),
  HUB_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HUB_ROLE: z.enum(['all', 'hub', 'engine'], { error: 'HUB_ROLE must be all, hub or engine' }).default('all'),
  HUB_NATS_URL: z
    .string()
    .trim()
    .regex(/^(nats|tls|wss?):\/\/[^\s]+$/, 'HUB_NATS_URL must look like nats://host:4222 (or several, comma separated)')
    .optional(),
  HUB_NODE_ID: z.string().trim().regex(/^[A-Za-z0-9._-]{1,100}$/, 'HUB_NODE_ID must be 1 to 100 letters, digits, dots, dashes or underscores').optional(),
  HUB_LEASE_TTL_SEC: z.coerce.number({ error: 'HUB_LEASE_TTL_SEC must be a number of seconds' }).min(0.3, 'HUB_LEASE_TTL_SEC must be 0.3 to 600').max(600, 'HUB_LEASE_TTL_SEC must be 0.3 to 600').default(15),
});

/** Cluster mode needs the bus and the shared record; the single process needs neither. */
function roleProblems(c: z.infer<typeof schema>): string[] {
  if (c.HUB_ROLE === 'all') return c.HUB_NATS_URL ? ['HUB_NATS_URL is for cluster mode: set HUB_ROLE=hub or HUB_ROLE=engine (HUB_ROLE=all runs alone, without the bus)'] : [];
  return [
    ...(c.HUB_NATS_URL ? [] : [`HUB_ROLE=${c.HUB_ROLE} needs HUB_NATS_URL (the NATS server with JetStream the nodes share)`]),
    ...(c.MONGODB_URI ? [] : [`HUB_ROLE=${c.HUB_ROLE} needs MONGODB_URI (the record every node shares)`]),
  ];
}

/** `token=user` pairs, comma separated; `token=user:admin` grants admin. */
export function parseTokens(text: string | undefined): { tokens: Map<string, TokenGrant>; problems: string[] } {
  const tokens = new Map<string, TokenGrant>();
  const problems: string[] = [];
  for (const [i, raw] of (text ?? '').split(',').entries()) {
    const pair = raw.trim();
    if (!pair) continue;
    const match = /^([^=\s]+)=([^,:=\s]+)(:admin)?$/.exec(pair);
    if (!match) {
      problems.push(`HUB_TOKENS entry ${i + 1} must look like token=user or token=user:admin`);
      continue;
    }
    const [, token, userId, admin] = match;
    if (tokens.has(token!)) problems.push(`HUB_TOKENS entry ${i + 1}: the same token appears twice`);
    tokens.set(token!, { userId: userId!, admin: Boolean(admin) });
  }
  return { tokens, problems };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2)): HubConfig {
  const options = Object.fromEntries(Object.values(SETTINGS).map((flag) => [flag, { type: 'string' as const }]));
  let flags: Record<string, string | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new ConfigError([`${(error as Error).message} (flags: ${Object.values(SETTINGS).map((f) => `--${f}`).join(' ')})`]);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [variable, flag] of Object.entries(SETTINGS)) {
    const value = flags[flag] ?? env[variable];
    merged[variable] = value === '' ? undefined : value;
  }
  const parsed = schema.safeParse(merged);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const { tokens, problems: tokenProblems } = parseTokens(merged.HUB_TOKENS);
  problems.push(...tokenProblems);
  if (parsed.success) problems.push(...roleProblems(parsed.data));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const c = parsed.data;
  const cores = availableParallelism();
  // Engine threads across all workers never exceed the cores: oversubscribed,
  // whisper.cpp slows down many times over. So at most one worker per core.
  const workers = Math.min(cores, c.HUB_WORKERS ?? Math.max(1, Math.floor(cores / 2)));
  return {
    host: c.HUB_HOST,
    port: c.HUB_PORT,
    dataDir: resolve(c.HUB_DATA_DIR),
    models: c.WHISPER_MODEL ?? [],
    workers,
    requestedWorkers: c.HUB_WORKERS,
    engineSlots: c.HUB_ENGINE_SLOTS,
    threadsPerJob: Math.max(1, Math.floor(cores / (workers * c.HUB_ENGINE_SLOTS))),
    tokens,
    maxUploadBytes: c.HUB_MAX_UPLOAD_MB * 1024 * 1024,
    spoolMaxBytes: c.HUB_SPOOL_MAX_MB * 1024 * 1024,
    retentionHours: c.HUB_RETENTION_HOURS,
    maxAudioHours: c.HUB_MAX_AUDIO_HOURS,
    maxStreams: c.HUB_MAX_STREAMS ?? 4 * workers * c.HUB_ENGINE_SLOTS,
    maxStreamsPerUser: c.HUB_MAX_STREAMS_PER_USER,
    streamGraceMs: c.HUB_STREAM_GRACE_SEC * 1000,
    streamIdleMs: c.HUB_STREAM_IDLE_SEC * 1000,
    vad: c.HUB_VAD,
    engine: c.HUB_ENGINE,
    wordTiming: c.HUB_WORD_TIMING,
    // The words rule acts on every short pause the VAD reports: the energy detector reports false ones in noise (docs/decisions.md).
    endpointing: c.HUB_ENDPOINTING ?? (c.HUB_VAD === 'energy' ? 'silence' : 'words'),
    voiceModel: c.HUB_VOICE_MODEL ? resolve(c.HUB_VOICE_MODEL) : defaultVoiceModelPath(resolve(c.HUB_DATA_DIR)),
    mongodbUri: c.MONGODB_URI,
    logLevel: c.HUB_LOG_LEVEL,
    role: c.HUB_ROLE,
    natsUrl: c.HUB_NATS_URL,
    nodeId: c.HUB_NODE_ID ?? `${hostname()}-${process.pid}`,
    leaseTtlMs: Math.round(c.HUB_LEASE_TTL_SEC * 1000),
  };
}
