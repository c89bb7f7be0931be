/**
 * Extraction from an NPZ file: `eeg [B,C,T]` with `pos [B,C,3]` (or `[C,3]`) or `channels`
 * (numpy unicode, looked up in the position bank) in; every golden output (`expected.npz`'s names)
 * plus the requested hooks out, float32; hooks under the names they were asked by (ours or the
 * earlier pipeline's), the golden outputs under theirs.
 */
import { lookupPositions } from "../data/montage.ts";
import { asFloat32, f32, type NdArray } from "../io/npy.ts";
import { readNpz, writeNpz } from "../io/npz.ts";
import {
  allHookNames,
  goldenOutputNames,
  outputName,
  outputShape,
  parseOutputName,
} from "./hooks.ts";
import { patchCount } from "./config.ts";
import { type ReveInput, ReveInputError } from "./input.ts";
import { loadReve } from "./model.ts";

export interface NpzExtractOptions {
  /** Folder with config.json and model.safetensors. */
  model: string;
  input: string;
  out: string;
  /** Hook names, or ["all"] for every hook of every block. */
  hooks: readonly string[];
  /** Trials per GPU pass at most. */
  maxBatch?: number;
}

/** Reads `eeg` and `pos` or `channels` from an NPZ into a REVE input. */
export async function readReveInputNpz(path: string): Promise<ReveInput> {
  const arrays = await readNpz(path);
  const eegArr = arrays.get("eeg");
  if (!eegArr) throw new ReveInputError(`${path}: no "eeg" array (expected eeg [B, C, T])`);
  if (eegArr.shape.length !== 3) {
    throw new ReveInputError(`${path}: "eeg" has shape [${eegArr.shape}], expected [B, C, T]`);
  }
  const [B, C, T] = eegArr.shape;
  const channelNames = readChannels(path, arrays.get("channels"), B, C);
  const posArr = arrays.get("pos");
  let pos: Float32Array<ArrayBuffer>;
  if (posArr) {
    const okShape = (posArr.shape.length === 3 && posArr.shape[0] === B && posArr.shape[1] === C &&
      posArr.shape[2] === 3) ||
      (posArr.shape.length === 2 && posArr.shape[0] === C && posArr.shape[1] === 3);
    if (!okShape) {
      throw new ReveInputError(
        `${path}: "pos" has shape [${posArr.shape}], expected [${B}, ${C}, 3]`,
      );
    }
    pos = owned(asFloat32(posArr, `${path}: pos`));
  } else if (channelNames) {
    pos = owned(lookupPositions([...channelNames]));
  } else {
    throw new ReveInputError(`${path}: needs "pos" [B, C, 3] or "channels" (electrode names)`);
  }
  return {
    eeg: owned(asFloat32(eegArr, `${path}: eeg`)),
    batch: B,
    channels: C,
    samples: T,
    pos,
    channelNames,
  };
}

/** Runs the model on an NPZ input and writes the outputs; returns the names written. */
export async function extractNpz(opts: NpzExtractOptions): Promise<string[]> {
  const model = await loadReve(opts.model);
  try {
    const input = await readReveInputNpz(opts.input);
    const depth = model.config.depth;
    // Written name → the canonical name the forward computes.
    const asked = new Map<string, string>(
      goldenOutputNames(depth).map((n) => [n, n]),
    );
    const hooks = opts.hooks.includes("all") ? allHookNames(depth) : opts.hooks;
    for (const h of hooks) asked.set(h, outputName(parseOutputName(h, depth)));
    const canonical = [...new Set(asked.values())];
    const result = await model.forward(input, { outputs: canonical, maxBatch: opts.maxBatch });
    const patches = patchCount(model.config, input.samples);
    const arrays = new Map<string, NdArray>();
    for (const [name, computed] of asked) {
      const shape = outputShape(
        parseOutputName(computed, depth),
        model.config,
        input.batch,
        input.channels,
        patches,
      );
      arrays.set(name, f32(result.get(computed)!, shape));
    }
    await writeNpz(opts.out, arrays);
    return [...asked.keys()];
  } finally {
    model.dispose();
  }
}

function readChannels(
  path: string,
  arr: NdArray | undefined,
  batch: number,
  channels: number,
): string[] | undefined {
  if (!arr) return undefined;
  if (!Array.isArray(arr.data)) {
    throw new ReveInputError(`${path}: "channels" must be a numpy unicode array of names`);
  }
  const names = arr.data;
  if (names.length === channels) return names;
  // [B, C]: every trial must share one channel set (trials of one batch share their montage).
  if (names.length === batch * channels) {
    for (let b = 1; b < batch; b++) {
      for (let c = 0; c < channels; c++) {
        if (names[b * channels + c] !== names[c]) {
          throw new ReveInputError(
            `${path}: trial ${b} channel ${c} is "${names[b * channels + c]}" but trial 0 has ` +
              `"${names[c]}"; one file must share one channel set`,
          );
        }
      }
    }
    return names.slice(0, channels);
  }
  throw new ReveInputError(
    `${path}: "channels" has ${names.length} names for ${channels} channels`,
  );
}

/** An ArrayBuffer-backed copy when the array is a view on something else (GPU uploads need it). */
function owned(a: Float32Array): Float32Array<ArrayBuffer> {
  return a.buffer instanceof ArrayBuffer ? a as Float32Array<ArrayBuffer> : new Float32Array(a);
}
