/**
 * Activation sources for SAE training. A `TokenStream` yields tokens in storage order (an array in
 * memory, a `.npy` file, or a folder of `.npy` shards), wrapping around at the end; the
 * `ShuffledActivationStore` mixes them through a shuffle buffer of n_batches_in_buffer batches,
 * reads the next buffer in the background, and can report and restore its exact position, so a
 * resumed run sees the same tokens as an uninterrupted one. A REVE-backed source implements the
 * same `ActivationSource` interface.
 */
import { join } from "node:path";
import { asFloat32, type NdArray, readNpy } from "../io/npy.ts";
import { Rng, type RngState } from "../data/rng.ts";
import { EegSaeError } from "../util/errors.ts";
import { ACTIVATION_INDEX, readActivationIndex } from "../reve/activation_shards.ts";
import { pathExists } from "../util/path_exists.ts";

export class ActivationSourceError extends EegSaeError {}

/** JSON-serialisable position of a source (saved in train_state for an exact resume). */
export type ActivationSourceState = Record<string, unknown>;

export interface ActivationSource {
  readonly dIn: number;
  /** Where the activations come from, for cfg.json and logs. */
  readonly description: string;
  /** The next `nTokens` tokens, row-major [nTokens, dIn]. */
  next(nTokens: number): Promise<Float32Array<ArrayBuffer>>;
  getState(): ActivationSourceState;
  setState(state: ActivationSourceState): Promise<void>;
}

/** Position in a token stream: shard index and token offset inside it. */
export interface StreamPosition {
  shard: number;
  offset: number;
}

/** Tokens in storage order, wrapping around at the end. */
export interface TokenStream {
  readonly dIn: number;
  readonly description: string;
  read(
    pos: StreamPosition,
    nTokens: number,
  ): Promise<{ data: Float32Array<ArrayBuffer>; end: StreamPosition }>;
}

interface Shard {
  data: Float32Array;
  tokens: number;
}

/** A stream over shards loaded on demand (the two most recent stay in memory). */
export class ShardStream implements TokenStream {
  #cache = new Map<number, Shard>();

  private constructor(
    readonly dIn: number,
    readonly description: string,
    readonly shardCount: number,
    readonly load: (i: number) => Promise<Shard>,
  ) {}

  /** From an in-memory array [n, dIn]. */
  static fromArray(data: Float32Array, dIn: number, description = "array"): ShardStream {
    if (data.length === 0 || data.length % dIn !== 0) {
      throw new ActivationSourceError(
        `${description}: ${data.length} values are not a non-empty whole number of d_in=${dIn} rows`,
      );
    }
    const shard = { data, tokens: data.length / dIn };
    return new ShardStream(dIn, description, 1, () => Promise.resolve(shard));
  }

  /** From a `.npy` file [N, d_in] or a folder of `.npy` shards (sorted by name). */
  static async open(path: string): Promise<ShardStream> {
    let files: string[];
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      throw new ActivationSourceError(`--activations ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (info.isDirectory && await pathExists(join(path, ACTIVATION_INDEX))) {
      // An extract folder: exactly the shards its index lists, never strays beside them.
      const index = await readActivationIndex(path);
      files = index.shards.map((s) => join(path, s.file));
      if (files.length === 0) {
        throw new ActivationSourceError(`${join(path, ACTIVATION_INDEX)} lists no shards`);
      }
    } else if (info.isDirectory) {
      files = [];
      for await (const e of Deno.readDir(path)) {
        if (e.isFile && e.name.endsWith(".npy")) files.push(join(path, e.name));
      }
      files.sort();
      if (files.length === 0) {
        throw new ActivationSourceError(`${path}: no .npy shards in this folder`);
      }
    } else files = [path];
    const loadFile = async (file: string, dIn?: number): Promise<Shard & { dIn: number }> => {
      let a: NdArray;
      try {
        a = await readNpy(file);
      } catch (e) {
        if (e instanceof EegSaeError) throw e;
        throw new ActivationSourceError(
          `activation shard ${file} could not be read (${
            (e as Error).message
          }); was it moved or deleted while in use?`,
          { cause: e },
        );
      }
      if (a.shape.length !== 2 || a.shape[0] < 1) {
        throw new ActivationSourceError(
          `${file}: expected activations [N, d_in], got shape [${a.shape}]`,
        );
      }
      if (dIn !== undefined && a.shape[1] !== dIn) {
        throw new ActivationSourceError(
          `${file}: d_in ${a.shape[1]} differs from the first shard's ${dIn}`,
        );
      }
      return { data: asFloat32(a, file), tokens: a.shape[0], dIn: a.shape[1] };
    };
    const first = await loadFile(files[0]);
    const dIn = first.dIn;
    const description = files.length === 1 ? files[0] : `${path} (${files.length} shards)`;
    return new ShardStream(
      dIn,
      description,
      files.length,
      (i) => i === 0 ? Promise.resolve(first) : loadFile(files[i], dIn),
    );
  }

  async #shard(i: number): Promise<Shard> {
    let s = this.#cache.get(i);
    if (!s) {
      s = await this.load(i);
      this.#cache.set(i, s);
      while (this.#cache.size > 2) this.#cache.delete(this.#cache.keys().next().value!);
    }
    return s;
  }

  async read(
    pos: StreamPosition,
    nTokens: number,
  ): Promise<{ data: Float32Array<ArrayBuffer>; end: StreamPosition }> {
    const out = new Float32Array(nTokens * this.dIn);
    let { shard, offset } = pos;
    let filled = 0;
    while (filled < nTokens) {
      const s = await this.#shard(shard);
      const take = Math.min(nTokens - filled, s.tokens - offset);
      out.set(s.data.subarray(offset * this.dIn, (offset + take) * this.dIn), filled * this.dIn);
      filled += take;
      offset += take;
      if (offset >= s.tokens) {
        shard = (shard + 1) % this.shardCount;
        offset = 0;
      }
    }
    return { data: out, end: { shard, offset } };
  }
}

interface Round {
  start: StreamPosition;
  rngAtStart: RngState;
  data: Float32Array;
  order: Uint32Array;
  end: StreamPosition;
}

/**
 * Shuffle buffer over a stream: each round reads `bufferTokens` consecutive tokens, permutes them
 * with the seeded RNG and hands them out in that order; the next round is read while this one is
 * consumed. State = (round start, RNG state at the round start, tokens consumed in the round).
 */
export class ShuffledActivationStore implements ActivationSource {
  readonly dIn: number;
  readonly description: string;
  #rng: Rng;
  #round: Round | undefined;
  #nextRound: Promise<{ data: Float32Array<ArrayBuffer>; end: StreamPosition }> | undefined;
  #consumed = 0;
  #start: StreamPosition = { shard: 0, offset: 0 };

  constructor(readonly stream: TokenStream, readonly bufferTokens: number, seed: number) {
    if (!(bufferTokens >= 1)) throw new ActivationSourceError(`buffer of ${bufferTokens} tokens`);
    this.dIn = stream.dIn;
    this.description = stream.description;
    this.#rng = new Rng(seed ^ 0x5a17);
  }

  async #beginRound(
    start: StreamPosition,
    prefetched?: { data: Float32Array; end: StreamPosition },
  ) {
    const rngAtStart = this.#rng.getState();
    const read = prefetched ?? await this.stream.read(start, this.bufferTokens);
    const order = new Uint32Array(this.bufferTokens);
    for (let i = 0; i < order.length; i++) order[i] = i;
    this.#rng.shuffle(order);
    this.#round = { start, rngAtStart, data: read.data, order, end: read.end };
    this.#consumed = 0;
    // Read the next buffer in the background while this one is used. Its failure surfaces when
    // the round is awaited; the handler only keeps it from counting as unhandled before then.
    this.#nextRound = this.stream.read(read.end, this.bufferTokens);
    this.#nextRound.catch(() => {});
  }

  async next(nTokens: number): Promise<Float32Array<ArrayBuffer>> {
    const d = this.dIn;
    const out = new Float32Array(nTokens * d);
    let filled = 0;
    while (filled < nTokens) {
      if (!this.#round) await this.#beginRound(this.#start);
      else if (this.#consumed >= this.bufferTokens) {
        await this.#beginRound(this.#round.end, await this.#nextRound);
      }
      const r = this.#round!;
      const take = Math.min(nTokens - filled, this.bufferTokens - this.#consumed);
      for (let i = 0; i < take; i++) {
        const src = r.order[this.#consumed + i];
        out.set(r.data.subarray(src * d, (src + 1) * d), (filled + i) * d);
      }
      filled += take;
      this.#consumed += take;
    }
    return out;
  }

  getState(): ActivationSourceState {
    if (!this.#round) {
      return { kind: "shuffled", start: this.#start, rng: this.#rng.getState(), consumed: 0 };
    }
    return {
      kind: "shuffled",
      start: this.#round.start,
      rng: this.#round.rngAtStart,
      consumed: this.#consumed,
    };
  }

  async setState(state: ActivationSourceState): Promise<void> {
    const start = state.start as StreamPosition | undefined;
    const consumed = state.consumed;
    if (
      state.kind !== "shuffled" || !start || typeof start.shard !== "number" ||
      typeof start.offset !== "number" || typeof consumed !== "number"
    ) {
      throw new ActivationSourceError(
        `activation store state is malformed: ${JSON.stringify(state)}`,
      );
    }
    this.#rng.setState(state.rng as RngState);
    this.#start = start;
    this.#round = undefined;
    await this.#beginRound(start);
    this.#consumed = consumed;
  }
}

/** The store for `--activations PATH` (a .npy file or a folder of .npy shards). */
export async function openActivationFiles(
  path: string,
  batchTokens: number,
  nBatchesInBuffer: number,
  seed: number,
): Promise<ShuffledActivationStore> {
  const stream = await ShardStream.open(path);
  return new ShuffledActivationStore(stream, batchTokens * nBatchesInBuffer, seed);
}
