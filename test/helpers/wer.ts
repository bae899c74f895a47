// Word error rate as transcripts are judged: both sides normalised the way
// Whisper's English normaliser does it in spirit (case, punctuation, hyphens,
// common abbreviations, contractions, spelled-out numbers to digits), then
// aligned by edit distance, counting substitutions, deletions and insertions.
const ABBREVIATIONS: Record<string, string> = { mr: 'mister', mrs: 'missus', ms: 'miss', dr: 'doctor', st: 'saint', jr: 'junior', sr: 'senior', vs: 'versus' };
const CONTRACTIONS: [RegExp, string][] = [
  [/\bwon't\b/g, 'will not'], [/\bcan't\b/g, 'can not'], [/\bcannot\b/g, 'can not'], [/\bain't\b/g, 'is not'],
  [/n't\b/g, ' not'], [/'re\b/g, ' are'], [/'ll\b/g, ' will'], [/'ve\b/g, ' have'], [/'m\b/g, ' am'], [/'d\b/g, ' would'],
  [/\blet's\b/g, 'let us'], [/\b(it|that|what|there|here|he|she|who)'s\b/g, '$1 is'],
];
const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES: Record<string, number> = { hundred: 100, thousand: 1000, million: 1_000_000 };

const TEEN_OR_UNIT = new Set(UNITS);

/** Runs of number words ("twenty one", "three hundred and five") become digits; "five five" stays two numbers. */
function numbersToDigits(words: string[]): string[] {
  const out: string[] = [];
  let total = 0;
  let current = 0;
  let inNumber = false;
  /** what the last word filled: a unit/teen (nothing smaller may follow), a ten (a unit may), a scale */
  let last: 'unit' | 'ten' | 'scale' | undefined;
  const flush = () => {
    if (inNumber) out.push(String(total + current));
    total = current = 0;
    inNumber = false;
    last = undefined;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const unit = UNITS.indexOf(w);
    const ten = TENS.indexOf(w);
    if (unit >= 0) {
      if (last === 'unit') flush();
      current += unit;
      inNumber = true;
      last = 'unit';
    } else if (ten >= 2) {
      if (last === 'unit' || last === 'ten') flush();
      current += ten * 10;
      inNumber = true;
      last = 'ten';
    } else if (inNumber && w in SCALES) {
      const scale = SCALES[w]!;
      if (scale === 100) current *= 100;
      else {
        total += current * scale;
        current = 0;
      }
      last = 'scale';
    } else if (inNumber && last === 'scale' && w === 'and' && (TEEN_OR_UNIT.has(words[i + 1] ?? '') || TENS.includes(words[i + 1] ?? ''))) {
      continue;
    } else {
      flush();
      out.push(w);
    }
  }
  flush();
  return out;
}

export function normalize(text: string): string[] {
  let t = text.toLowerCase().replace(/[\u2018\u2019]/g, "'");
  for (const [pattern, replacement] of CONTRACTIONS) t = t.replace(pattern, replacement);
  t = t.replace(/(\d),(\d)/g, '$1$2'); // 1,000 -> 1000
  t = t.replace(/[^a-z0-9' ]+/g, ' ').replace(/(^|\s)'+|'+(\s|$)/g, ' ').replace(/'s\b/g, 's').replace(/'/g, '');
  const words = t.split(/\s+/).filter(Boolean).map((w) => ABBREVIATIONS[w] ?? w);
  return numbersToDigits(words);
}

export interface WerResult {
  wer: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  /** words in the reference */
  words: number;
  /** the errors in order: `a→b`, `-a` (deleted), `+b` (inserted) */
  errors: string[];
}

/** WER of `hypothesis` against `reference` (both raw text). */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normalize(reference);
  const hyp = normalize(hypothesis);
  // cost[i][j] with backpointers folded into counts along the best path
  const rows = ref.length + 1;
  const cols = hyp.length + 1;
  const cost = new Uint32Array(rows * cols);
  for (let i = 0; i < rows; i++) cost[i * cols] = i;
  for (let j = 0; j < cols; j++) cost[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const same = ref[i - 1] === hyp[j - 1] ? 0 : 1;
      cost[i * cols + j] = Math.min(cost[(i - 1) * cols + j - 1]! + same, cost[(i - 1) * cols + j]! + 1, cost[i * cols + j - 1]! + 1);
    }
  }
  let [i, j] = [ref.length, hyp.length];
  const counts = { substitutions: 0, deletions: 0, insertions: 0 };
  const errors: string[] = [];
  while (i > 0 || j > 0) {
    const here = cost[i * cols + j]!;
    if (i > 0 && j > 0 && here === cost[(i - 1) * cols + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] !== hyp[j - 1]) {
        counts.substitutions++;
        errors.push(`${ref[i - 1]}→${hyp[j - 1]}`);
      }
      i--;
      j--;
    } else if (i > 0 && here === cost[(i - 1) * cols + j]! + 1) {
      counts.deletions++;
      errors.push(`-${ref[i - 1]}`);
      i--;
    } else {
      counts.insertions++;
      errors.push(`+${hyp[j - 1]}`);
      j--;
    }
  }
  const wrong = counts.substitutions + counts.deletions + counts.insertions;
  return { ...counts, errors: errors.reverse(), words: ref.length, wer: ref.length ? wrong / ref.length : hyp.length ? 1 : 0 };
}

/** One WER over several pairs: errors and words summed, not rates averaged. */
export function pooledWer(pairs: { reference: string; hypothesis: string }[]): WerResult {
  const total: WerResult = { wer: 0, substitutions: 0, deletions: 0, insertions: 0, words: 0, errors: [] };
  for (const { reference, hypothesis } of pairs) {
    const r = wordErrorRate(reference, hypothesis);
    total.substitutions += r.substitutions;
    total.deletions += r.deletions;
    total.insertions += r.insertions;
    total.words += r.words;
    total.errors.push(...r.errors);
  }
  total.wer = total.words ? (total.substitutions + total.deletions + total.insertions) / total.words : 0;
  return total;
}

export const formatWer = (r: WerResult, withErrors = false) =>
  `WER ${(r.wer * 100).toFixed(1)}% (${r.substitutions} sub, ${r.deletions} del, ${r.insertions} ins of ${r.words} words)${withErrors && r.errors.length ? `: ${r.errors.join(' ')}` : ''}`;
