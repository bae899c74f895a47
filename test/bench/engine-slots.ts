// bench:engine's child: N jobs at once on N whisper states of one addon model
// in this one process (one thread each); prints windows per second and the
// peak resident memory as JSON. Args: addon model pcm slots windows rounds.
import { readFileSync } from 'node:fs';
import { loadAddon } from '../../native/engine/whisper-cpp-addon.ts';

const [addonPath, model, pcm, slotsArg, windowsArg, roundsArg] = process.argv.slice(2) as [string, string, string, string, string, string];
const SR = 16_000;
const all = new Float32Array(readFileSync(pcm).buffer.slice(0));
const windows = Array.from({ length: Number(windowsArg) }, (_, i) => all.slice(i * 30 * SR, (i + 1) * 30 * SR));
const slots = Number(slotsArg);
const m = new (loadAddon(addonPath).Model)(model, { useGpu: true });
await m.transcribe(windows[0]!, { threads: 1, language: 'en' }).done; // warm-up
const jobs = Array.from({ length: slots * windows.length * Number(roundsArg) }, (_, i) => windows[i % windows.length]!);
const total = jobs.length;
let rss = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: slots }, async () => {
    for (let w = jobs.shift(); w; w = jobs.shift()) {
      await m.transcribe(w, { threads: 1, language: 'en' }).done;
      rss = Math.max(rss, process.memoryUsage.rss());
    }
  }),
);
process.stdout.write(JSON.stringify({ perSec: total / ((performance.now() - started) / 1000), rssMb: rss / 1048576, states: m.states }));
