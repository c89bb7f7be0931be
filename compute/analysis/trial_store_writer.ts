/**
 * The trial store under `features/` (schema/run_folder.ts, `TrialStoreLayout`): trials arrive in
 * index order as the statistics pass summarises them, and each chunk's `trial_acts/<k>.json` and
 * `eeg/<k>.bin` are written as soon as its last trial is in, so memory holds one chunk at a time.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import type { TrialSet } from "../data/trials.ts";
import { FeatureStatsError } from "./feature_stats.ts";
import {
  encodeEegChunk,
  type TrialActs,
  type TrialActsChunk,
  type TrialStoreLayout,
  trialStorePaths,
} from "../../schema/run_folder.ts";

export class TrialStoreWriter {
  readonly layout: TrialStoreLayout;
  #pending: TrialActs[] = [];
  #next = 0;

  constructor(readonly dir: string, readonly set: TrialSet, chunkSize: number) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new FeatureStatsError(`trial chunk size must be a positive integer, got ${chunkSize}`);
    }
    this.layout = { chunk_size: chunkSize, n_chunks: Math.ceil(set.n / chunkSize) };
  }

  /** Adds the next trial's summary; writes its chunk when the chunk is complete. */
  async add(acts: TrialActs): Promise<void> {
    if (acts.trial !== this.#next) {
      throw new FeatureStatsError(
        `the trial store takes trials in index order: expected trial ${this.#next}, got ${acts.trial}`,
      );
    }
    this.#pending.push(acts);
    this.#next++;
    if (this.#pending.length === this.layout.chunk_size || this.#next === this.set.n) {
      await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    const first = this.#next - this.#pending.length;
    const paths = trialStorePaths(this.layout, first);
    const chunk: TrialActsChunk = {
      chunk: paths.chunk,
      chunk_size: this.layout.chunk_size,
      trials: this.#pending,
    };
    await writeFileAtomic(join(this.dir, paths.acts), JSON.stringify(chunk));
    const { channels, samples, eeg } = this.set;
    const per = channels.length * samples;
    const n = this.#pending.length;
    const bytes = encodeEegChunk(
      eeg.subarray(first * per, this.#next * per),
      n,
      channels.length,
      samples,
    );
    await writeFileAtomic(join(this.dir, paths.eeg), bytes);
    this.#pending = [];
  }

  /** The layout, once every trial of the set is written. */
  finish(): TrialStoreLayout {
    if (this.#next !== this.set.n) {
      throw new FeatureStatsError(
        `the trial store has ${this.#next} of the set's ${this.set.n} trials`,
      );
    }
    return this.layout;
  }
}
