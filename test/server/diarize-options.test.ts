// diarize= and speakers= at the boundary, and a task asking for speakers when
// the speaker model is missing or corrupt: it is transcribed all the same and
// says why its speakers are missing (the micro synthetic model: mechanics).
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALICE, fixture, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol/types.ts';

const hub = await startTestHub(t, { HUB_VOICE_MODEL: '/nonexistent/voice-encoder.bin' });

t.test('bad values are refused with 400 bad_request naming the option, and nothing is recorded', async (t) => {
  for (const [query, option] of [['diarize=maybe', 'diarize'], ['diarize=1&speakers=0', 'speakers'], ['diarize=1&speakers=100', 'speakers'], ['speakers=two', 'speakers']] as const) {
    const res = await upload(hub.url, ALICE, await fixture('speech.wav'), `?${query}`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    t.equal(res.status, 400, query);
    t.equal(body.error.code, 'bad_request');
    t.match(body.error.message, option, `the message names ${option}`);
  }
  t.equal(hub.hub.context.registry.activeCount(), 0, 'no task was started');
});

t.test('no speaker model: the task is transcribed without speakers and its warning says why', async (t) => {
  const { id, options } = (await (await upload(hub.url, ALICE, await fixture('speech.wav'), '?diarize=1&speakers=2')).json()) as Task;
  t.same(options, { diarize: true, speakers: 2 }, 'the options echoed as given');
  const task = await waitForStatus(hub.url, ALICE, id, ['completed', 'failed'], 60_000);
  t.equal(task.status, 'completed');
  t.match(task.warnings, [/speakers left out: no speaker model at \/nonexistent\/voice-encoder\.bin/]);
  t.ok(task.segments.every((s) => s.speaker === undefined), 'no speakers');
});

t.test('a corrupt speaker model: the same, and the warning says the file is not usable', async (t) => {
  const corrupt = join(hub.dataDir, 'corrupt-voice.bin');
  await writeFile(corrupt, Buffer.concat([Buffer.from('WHVE'), Buffer.alloc(64, 7)]));
  const other = await startTestHub(t, { HUB_VOICE_MODEL: corrupt });
  const { id } = (await (await upload(other.url, ALICE, await fixture('speech.wav'), '?diarize=true')).json()) as Task;
  const task = await waitForStatus(other.url, ALICE, id, ['completed', 'failed'], 60_000);
  t.equal(task.status, 'completed');
  t.match(task.warnings, [/not usable/]);
});
