/**
 * A terminal progress bar with rate and ETA. On a TTY it redraws one line; elsewhere (CI, logs) it
 * prints a line at most every few seconds, so long work always shows it is alive.
 */
const encoder = new TextEncoder();

export interface ProgressOptions {
  /** Unit shown after the rate, e.g. "tokens" or "trials". */
  unit?: string;
  /** Minimum milliseconds between non-TTY lines. */
  logEveryMs?: number;
  /** Where to write (stderr by default, so stdout stays machine-readable). */
  write?: (text: string) => void;
}

export class Progress {
  #done = 0;
  #start = performance.now();
  #lastDraw = 0;
  #tty = Deno.stderr.isTerminal();
  #write: (text: string) => void;
  #unit: string;
  #logEveryMs: number;
  #extra = "";

  constructor(readonly label: string, readonly total: number, opts: ProgressOptions = {}) {
    this.#unit = opts.unit ?? "";
    this.#logEveryMs = opts.logEveryMs ?? 5000;
    this.#write = opts.write ?? ((t) => Deno.stderr.writeSync(encoder.encode(t)));
  }

  get done(): number {
    return this.#done;
  }

  /** Advances by n and sets an optional status text (e.g. the current loss). */
  tick(n = 1, extra?: string): void {
    this.#done = Math.min(this.total, this.#done + n);
    if (extra !== undefined) this.#extra = extra;
    const now = performance.now();
    const interval = this.#tty ? 100 : this.#logEveryMs;
    if (now - this.#lastDraw >= interval || this.#done === this.total) {
      this.#lastDraw = now;
      this.#draw(false);
    }
  }

  /** Ends the bar with a summary line. */
  finish(extra?: string): void {
    if (extra !== undefined) this.#extra = extra;
    this.#draw(true);
  }

  #draw(final: boolean): void {
    const elapsed = (performance.now() - this.#start) / 1000;
    const frac = this.total > 0 ? this.#done / this.total : 1;
    const rate = elapsed > 0 ? this.#done / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.#done) / rate : Infinity;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const parts = [
      `${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}%`,
      `${this.#done}/${this.total}`,
      `${formatRate(rate)} ${this.#unit}/s`.trim(),
      final ? `in ${formatSeconds(elapsed)}` : `ETA ${formatSeconds(eta)}`,
    ];
    if (this.#extra) parts.push(this.#extra);
    const line = parts.join("  ");
    if (this.#tty) this.#write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    else this.#write(line + "\n");
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "--";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function formatRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return r.toFixed(r < 10 ? 2 : 0);
}
