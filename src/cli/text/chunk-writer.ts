/**
 * Output in one reused 64 KiB buffer, handed to stdout when full and reused
 * only once the write has completed (write(2) through Node's stream): each
 * line's string dies young (V8 collects it in the next scavenge, its young
 * generation never grows), and nothing piles up ahead of a slow reader.
 * Every line passes the text style's gate (./style.ts).
 */
import { gated } from './style';

export class ChunkWriter {
  #buf = Buffer.allocUnsafe(65536);
  #used = 0;
  #big: string | undefined;
  /** Adds a line; true when the buffer is full and flush() must be awaited before the next. */
  add(line: string): boolean {
    const text = gated(line);
    // At most 3 bytes per UTF-16 unit, and the newline.
    if (text.length * 3 + 1 > this.#buf.length - this.#used) {
      this.#big = `${text}\n`; // written after what is buffered
      return true;
    }
    this.#used += this.#buf.write(text, this.#used, 'utf8');
    this.#buf[this.#used++] = 0x0a;
    return this.#used > this.#buf.length - 4096;
  }
  async line(text: string): Promise<void> {
    if (this.add(text)) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.#used > 0) {
      const n = this.#used;
      this.#used = 0;
      await write(this.#buf.subarray(0, n));
    }
    const big = this.#big;
    this.#big = undefined;
    if (big === undefined) return;
    if (big.length * 3 > this.#buf.length) await write(Buffer.from(big));
    else this.#used = this.#buf.write(big, 0, 'utf8');
  }
}

function write(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(chunk, (err) => (err ? reject(err) : resolve())));
}
