// `npm run model:import -- <ctranslate2-dir> <out.bin>`: converts a
// CTranslate2 / faster-whisper Whisper model directory into a ggml file that
// WHISPER_MODEL can name. Exit 0 done, 1 the import failed (the reason on
// stderr), 2 bad usage.
import { importCt2, ImportError } from './import-ct2.ts';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  process.stderr.write('usage: npm run model:import -- <ctranslate2-model-dir> <out.bin>\n');
  process.exit(2);
}
try {
  const started = performance.now();
  const { hparams, tensors, tokens } = importCt2(dir, out);
  const h = hparams;
  process.stdout.write(
    `${out}: ${h.nAudioLayer}+${h.nTextLayer} layers, width ${h.nAudioState}, ${h.nAudioHead} heads, ${h.nMels} mel bands, ` +
      `${h.nVocab} tokens (${tokens} ordinary), ${tensors} tensors, in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
} catch (error) {
  process.stderr.write(`model:import failed: ${error instanceof ImportError ? error.message : String(error)}\n`);
  process.exit(1);
}
