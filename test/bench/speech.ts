// Makes long espeak-ng speech for the benchmarks (cached beside the test
// fixtures): sentences with pauses, like a talk, of about the asked length.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

const TOPICS = ['the quarterly numbers', 'the new office', 'the release plan', 'customer feedback', 'the hiring process', 'the travel budget', 'our support queue', 'the design review'];
const VERBS = ['looked at', 'talked about', 'agreed on', 'argued over', 'postponed', 'summarised', 'questioned', 'welcomed'];

export function makeSpeech(minutes: number): string {
  mkdirSync(FIXTURES, { recursive: true });
  const path = join(FIXTURES, `talk-${minutes}min.wav`);
  if (existsSync(path)) return path;
  // espeak at 150 words a minute: about 4.5 s per sentence plus a 0.7 s pause
  const sentences = Math.ceil((minutes * 60) / 5.2);
  const text = Array.from({ length: sentences }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length];
    const verb = VERBS[(i * 3) % VERBS.length];
    return `In part ${i + 1} of the meeting, the team ${verb} ${topic} for a while. <break time="700ms"/>`;
  }).join(' ');
  const raw = `${path}.raw.wav`;
  execFileSync('espeak-ng', ['-m', '-s', '150', '-w', raw, `<speak>${text}</speak>`], { stdio: 'ignore' });
  execFileSync('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', `${path}.tmp.wav`, 'trim', '0', String(minutes * 60)], { stdio: 'ignore' });
  rmSync(raw);
  renameSync(`${path}.tmp.wav`, path);
  return path;
}
