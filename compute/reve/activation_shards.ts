/**
 * Activation shards: what `deno task extract` writes over a dataset and the SAE trainer streams.
 *
 * A folder with `shard_00000.npy, ...` (each `[tokens, d]` float32, whole trials, trial-major and
 * channel-major inside a trial: row `t·C·p + c·p + i`) and `index.json` (ActivationIndex): the
 * hook, the model, the preprocessing record, per-trial metadata, and for every shard the per-token
 * trial index, channel, patch and label.
 */
import { writeJsonAtomic } from "../io/atomic.ts";
import { asFloat32, f32, readNpy, writeNpy } from "../io/npy.ts";
import type { PreprocessingRecord } from "../data/trials.ts";
import { EegSaeError } from "../util/errors.ts";

export const ACTIVATION_INDEX = "index.json";
export const ACTIVATION_FORMAT = "eeg-sae activations v1";

export interface ActivationShard {
  file: string;
  tokens: number;
  /** Per token: index of the trial in `trials` (the dataset order). */
  trial: number[];
  channel: number[];
  patch: number[];
  label: number[];
}

export interface ActivationIndex {
  format: typeof ACTIVATION_FORMAT;
  /** Canonical hook name, e.g. `blocks.20.hook_resid_post`. */
  hook: string;
  /** Width of a row. */
  d: number;
  dtype: "float32";
  tokens: number;
  channels: string[];
  patches: number;
  /** Samples per trial at `preprocessing.sfreq` (absent in indexes written before it was added). */
  samples?: number;
  tokens_per_trial: number;
  token_order: string;
  model: { path: string; config: Record<string, number | boolean> };
  preprocessing: PreprocessingRecord;
  /** Per trial, in dataset order. */
  trials: { key: string[]; label: number[]; subject: number[]; session: string[] };
  shards: ActivationShard[];
}

export class ActivationShardError extends EegSaeError {}

export type ActivationHeader = Omit<ActivationIndex, "format" | "dtype" | "tokens" | "shards">;

/** Collects trials' activations and writes a shard whenever `trialsPerShard` have arrived. */
export class ActivationShardWriter {
  #pending: { acts: Float32Array; trials: number[] }[] = [];
  #pendingTrials = 0;
  #shards: ActivationShard[] = [];
  #tokens = 0;

  constructor(
    readonly dir: string,
    readonly header: ActivationHeader,
    readonly trialsPerShard: number,
  ) {
    if (!Number.isInteger(trialsPerShard) || trialsPerShard < 1) {
      throw new ActivationShardError(`trials per shard must be ≥ 1, got ${trialsPerShard}`);
    }
  }

  /** `acts` holds `trials.length` whole trials, `[trials·C·p, d]`. */
  async add(acts: Float32Array, trials: number[]): Promise<void> {
    const perTrial = this.header.tokens_per_trial * this.header.d;
    if (acts.length !== trials.length * perTrial) {
      throw new ActivationShardError(
        `${acts.length} values for ${trials.length} trials of ${perTrial} values`,
      );
    }
    this.#pending.push({ acts, trials });
    this.#pendingTrials += trials.length;
    if (this.#pendingTrials >= this.trialsPerShard) await this.#flush();
  }

  /** Writes the last shard and index.json. */
  async finish(): Promise<ActivationIndex> {
    await this.#flush();
    const index: ActivationIndex = {
      format: ACTIVATION_FORMAT,
      ...this.header,
      dtype: "float32",
      tokens: this.#tokens,
      shards: this.#shards,
    };
    await writeJsonAtomic(`${this.dir}/${ACTIVATION_INDEX}`, index);
    return index;
  }

  async #flush(): Promise<void> {
    if (this.#pendingTrials === 0) return;
    const { d, tokens_per_trial: perTrial, patches } = this.header;
    const trials = this.#pending.flatMap((p) => p.trials);
    const data = new Float32Array(trials.length * perTrial * d);
    let offset = 0;
    for (const p of this.#pending) {
      data.set(p.acts, offset);
      offset += p.acts.length;
    }
    const file = `shard_${String(this.#shards.length).padStart(5, "0")}.npy`;
    await writeNpy(`${this.dir}/${file}`, f32(data, [trials.length * perTrial, d]));
    const shard: ActivationShard = {
      file,
      tokens: trials.length * perTrial,
      trial: [],
      channel: [],
      patch: [],
      label: [],
    };
    for (const t of trials) {
      for (let n = 0; n < perTrial; n++) {
        shard.trial.push(t);
        shard.channel.push(Math.floor(n / patches));
        shard.patch.push(n % patches);
        shard.label.push(this.header.trials.label[t]);
      }
    }
    this.#shards.push(shard);
    this.#tokens += shard.tokens;
    this.#pending = [];
    this.#pendingTrials = 0;
  }
}

/** Reads a folder's index.json. */
export async function readActivationIndex(dir: string): Promise<ActivationIndex> {
  const path = `${dir}/${ACTIVATION_INDEX}`;
  let index: ActivationIndex;
  try {
    index = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new ActivationShardError(`${path}: ${(e as Error).message}`);
  }
  if (index.format !== ACTIVATION_FORMAT) {
    throw new ActivationShardError(
      `${path}: format "${index.format}", expected "${ACTIVATION_FORMAT}"`,
    );
  }
  return index;
}

/** One shard's rows, `[tokens, d]` row-major, checked against the index. */
export async function readActivationShard(
  dir: string,
  index: ActivationIndex,
  shard: ActivationShard,
): Promise<Float32Array> {
  const path = `${dir}/${shard.file}`;
  const arr = await readNpy(path);
  if (arr.shape.length !== 2 || arr.shape[0] !== shard.tokens || arr.shape[1] !== index.d) {
    throw new ActivationShardError(
      `${path}: shape [${arr.shape}], index.json says [${shard.tokens}, ${index.d}]`,
    );
  }
  return asFloat32(arr, path);
}
