// The text of one utterance said as append-only deltas, for APIs whose
// clients concatenate what they are sent (OpenAI's transcription deltas). The
// hub's partials may still change; finals never do. A partial's words are
// said only once two partials in a row agree on them (LocalAgreement, as the
// live transcriber commits segments), and a final says everything it holds.
// Pure: no I/O, no timers.
import { words } from '../../actors/live-text.ts';

export class GrowingText {
  private readonly finals: string[] = [];
  private lastGuess: string[] = [];
  /** what the deltas have said so far */
  private said = '';

  /** The whole text: the finals, joined. */
  get text(): string {
    return this.finals.join(' ');
  }

  /** Whether the deltas added up to the text (a partial said and later revised makes them differ). */
  get saidAll(): boolean {
    return this.said === this.text;
  }

  /** A partial of the open part: the delta to send, if two partials now agree on more than was said. */
  partial(text: string): string | undefined {
    const guess = words([...this.finals, text].join(' '));
    let agreed = 0;
    while (agreed < guess.length && agreed < this.lastGuess.length && guess[agreed] === this.lastGuess[agreed]) agreed++;
    this.lastGuess = guess;
    return this.advance(guess.slice(0, agreed).join(' '));
  }

  /** A final: the delta to send, if it says more than was said. */
  final(text: string): string | undefined {
    if (text) this.finals.push(text.trim());
    this.lastGuess = [];
    return this.advance(this.text);
  }

  private advance(next: string): string | undefined {
    // Only whole words are added: "hello" grows into "hello world", never into "helloes".
    if (next.length <= this.said.length || (this.said && !next.startsWith(`${this.said} `))) return undefined;
    const delta = this.said ? next.slice(this.said.length) : next;
    this.said = next;
    return delta;
  }
}
