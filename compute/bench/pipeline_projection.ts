/**
 * The projected wall time of a whole pipeline run from rates measured on a slice: each stage does
 * `units × passes` of work (trials, tokens, pages) at the rate measured for one unit-pass, plus a
 * fixed time that does not grow with the run (writing the model). A projection, not a measurement:
 * it assumes every stage's time is linear in its work, as the REVE forward and the SAE step are.
 */
import { EegSaeError } from "../util/errors.ts";

export interface StageProjectionInput {
  name: string;
  /** What a unit is: "trials", "tokens", "pages". */
  unit: string;
  /** Units the full run has (e.g. 5,184 trials). */
  units: number;
  /** How many times the stage goes over those units (e.g. 2 for two passes over the trials). */
  passes: number;
  /** Unit-passes per second, measured on the slice. */
  perSecond: number;
  /** Seconds the stage takes whatever the size. */
  fixedSeconds: number;
}

export interface StageProjection {
  name: string;
  unit: string;
  units: number;
  passes: number;
  per_second: number;
  seconds: number;
}

export interface PipelineProjection {
  stages: StageProjection[];
  total_seconds: number;
}

export class ProjectionError extends EegSaeError {}

export function projectPipeline(inputs: readonly StageProjectionInput[]): PipelineProjection {
  const stages = inputs.map((s): StageProjection => {
    if (!(s.perSecond > 0) || !Number.isFinite(s.perSecond)) {
      throw new ProjectionError(`stage ${s.name}: rate ${s.perSecond} ${s.unit}/s is not positive`);
    }
    if (!(s.units >= 0 && s.passes >= 0 && s.fixedSeconds >= 0)) {
      throw new ProjectionError(
        `stage ${s.name}: units ${s.units}, passes ${s.passes} and fixed seconds ` +
          `${s.fixedSeconds} must be non-negative`,
      );
    }
    return {
      name: s.name,
      unit: s.unit,
      units: s.units,
      passes: s.passes,
      per_second: s.perSecond,
      seconds: s.fixedSeconds + (s.units * s.passes) / s.perSecond,
    };
  });
  return { stages, total_seconds: stages.reduce((t, s) => t + s.seconds, 0) };
}

/** "2 h 05 min", "7 min 03 s", "12.3 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m} min ${String(s % 60).padStart(2, "0")} s`;
}
