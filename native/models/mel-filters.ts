// The mel filter bank whisper was trained with (librosa's `filters.mel` with
// Slaney's mel scale and area normalisation: sr 16 kHz, n_fft 400, 80 bands,
// 128 for large-v3), computed rather than shipped: CTranslate2 models do not
// carry it, and whisper.cpp reads it from the ggml file.
import { N_FFT_BINS } from './ggml-writer.ts';

const SAMPLE_RATE = 16_000;
// Slaney: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

const hzToMel = (hz: number) => (hz < MIN_LOG_HZ ? hz / F_SP : MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP);
const melToHz = (mel: number) => (mel < MIN_LOG_MEL ? mel * F_SP : MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)));

/** nMels rows of N_FFT_BINS weights, row-major. */
export function melFilters(nMels: number): Float32Array {
  const maxMel = hzToMel(SAMPLE_RATE / 2);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((maxMel * i) / (nMels + 1)));
  const filters = new Float32Array(nMels * N_FFT_BINS);
  for (let m = 0; m < nMels; m++) {
    const [lo, mid, hi] = [edges[m]!, edges[m + 1]!, edges[m + 2]!];
    const norm = 2 / (hi - lo); // each filter has the same area
    for (let k = 0; k < N_FFT_BINS; k++) {
      const hz = (k * SAMPLE_RATE) / 2 / (N_FFT_BINS - 1);
      const w = Math.max(0, Math.min((hz - lo) / (mid - lo), (hi - hz) / (hi - mid)));
      filters[m * N_FFT_BINS + k] = w * norm;
    }
  }
  return filters;
}
