/**
 * A batch of trials for REVE (`eeg [B,C,T]` at 200 Hz, `pos [B,C,3]` or `[C,3]` in metres) and its
 * validation: shapes, T at least one patch, finite values (a NaN names its trial and channel).
 */
import { patchCount, type ReveConfig } from "./config.ts";
import { EegSaeError } from "../util/errors.ts";

export interface ReveInput {
  /** `[B, C, T]` row-major. */
  eeg: Float32Array<ArrayBuffer>;
  batch: number;
  channels: number;
  samples: number;
  /** `[B, C, 3]`, or `[C, 3]` shared by every trial. */
  pos: Float32Array<ArrayBuffer>;
  /** Electrode names, used in error messages. */
  channelNames?: readonly string[];
  /** Index of the first trial in the caller's dataset, so errors name the caller's trial. */
  firstTrial?: number;
}

export class ReveInputError extends EegSaeError {}

/** Checks an input against the config; returns the patch count p. */
export function validateInput(cfg: ReveConfig, input: ReveInput): number {
  const { batch: B, channels: C, samples: T } = input;
  for (const [name, v] of [["batch", B], ["channels", C], ["samples", T]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ReveInputError(`input ${name} must be a positive integer, got ${v}`);
    }
  }
  if (input.eeg.length !== B * C * T) {
    throw new ReveInputError(
      `eeg has ${input.eeg.length} values, expected B·C·T = ${B}·${C}·${T} = ${B * C * T}`,
    );
  }
  if (input.pos.length !== B * C * 3 && input.pos.length !== C * 3) {
    throw new ReveInputError(
      `pos has ${input.pos.length} values, expected [B, C, 3] = ${B * C * 3} or [C, 3] = ${C * 3}`,
    );
  }
  if (input.channelNames && input.channelNames.length !== C) {
    throw new ReveInputError(
      `${input.channelNames.length} channel names given for ${C} channels`,
    );
  }
  if (T < cfg.patchSize) {
    throw new ReveInputError(
      `trials have ${T} samples, shorter than one patch (patch_size ${cfg.patchSize} at 200 Hz)`,
    );
  }
  const first = input.firstTrial ?? 0;
  const channelName = (c: number) =>
    input.channelNames ? `channel ${c} (${input.channelNames[c]})` : `channel ${c}`;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const row = (b * C + c) * T;
      for (let t = 0; t < T; t++) {
        const v = input.eeg[row + t];
        if (!Number.isFinite(v)) {
          throw new ReveInputError(
            `trial ${first + b}, ${channelName(c)}: sample ${t} is ${v} (the input must be finite)`,
          );
        }
      }
    }
  }
  for (let i = 0; i < input.pos.length; i++) {
    if (!Number.isFinite(input.pos[i])) {
      const c = Math.floor(i / 3) % C;
      const trial = input.pos.length === C * 3
        ? "every trial"
        : `trial ${first + Math.floor(i / (3 * C))}`;
      throw new ReveInputError(`${trial}, ${channelName(c)}: position is ${input.pos[i]}`);
    }
  }
  return patchCount(cfg, T);
}

/** Trials [from, to) of an input, positions expanded per trial. */
export function sliceInput(input: ReveInput, from: number, to: number): ReveInput {
  const { channels: C, samples: T } = input;
  const shared = input.pos.length === C * 3;
  return {
    eeg: input.eeg.subarray(from * C * T, to * C * T),
    batch: to - from,
    channels: C,
    samples: T,
    pos: shared ? input.pos : input.pos.subarray(from * C * 3, to * C * 3),
    channelNames: input.channelNames,
    firstTrial: (input.firstTrial ?? 0) + from,
  };
}

/** Positions of trial b, `[C,3]`. */
export function trialPositions(input: ReveInput, b: number): Float32Array<ArrayBuffer> {
  const n = input.channels * 3;
  return input.pos.length === n ? input.pos : input.pos.subarray(b * n, (b + 1) * n);
}
