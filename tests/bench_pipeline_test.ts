/**
 * The bench's pipeline section: the projection's arithmetic (analytic cases, and the reve-base
 * preset's work counted by hand), the per-stage peak memory meter against known allocations, and
 * the section's slice check.
 */
import assert from "node:assert/strict";
import {
  formatDuration,
  ProjectionError,
  projectPipeline,
} from "../compute/bench/pipeline_projection.ts";
import { measureStageMemory, statusBytes } from "../compute/bench/stage_memory.ts";
import {
  PipelineBenchError,
  pipelineSection,
  projectDemo,
  type StageMeasurement,
} from "../compute/pipeline/pipeline_bench.ts";
import type { BenchContext } from "../compute/bench/bench_section.ts";

Deno.test("projection: seconds are fixed + units × passes / rate, summed over stages", () => {
  const p = projectPipeline([
    { name: "a", unit: "trials", units: 5184, passes: 2, perSecond: 1.5, fixedSeconds: 0 },
    { name: "b", unit: "tokens", units: 500_000, passes: 1, perSecond: 400, fixedSeconds: 10 },
    { name: "c", unit: "pages", units: 0, passes: 1, perSecond: 3, fixedSeconds: 7 },
  ]);
  assert.deepEqual(p.stages.map((s) => s.seconds), [6912, 1260, 7]);
  assert.equal(p.total_seconds, 6912 + 1260 + 7);
  assert.equal(p.stages[0].per_second, 1.5);
});

Deno.test("projection: a rate that is not positive, or negative work, is refused", () => {
  const ok = { name: "x", unit: "trials", units: 1, passes: 1, perSecond: 1, fixedSeconds: 0 };
  assert.throws(() => projectPipeline([{ ...ok, perSecond: 0 }]), ProjectionError);
  assert.throws(() => projectPipeline([{ ...ok, perSecond: NaN }]), /stage x: rate NaN/);
  assert.throws(() => projectPipeline([{ ...ok, passes: -1 }]), ProjectionError);
});

Deno.test("projection: durations read as hours, minutes or seconds", () => {
  assert.equal(formatDuration(12.34), "12.3 s");
  assert.equal(formatDuration(7 * 60 + 3), "7 min 03 s");
  assert.equal(formatDuration(2 * 3600 + 5 * 60 + 20), "2 h 05 min");
});

/** A stage that did `work` units in `seconds` on the slice. */
function stage(unit: string, work: number, seconds: number): StageMeasurement {
  return {
    seconds,
    unit,
    work,
    per_second: work / seconds,
    bytes_written: 0,
    bytes_per_unit: unit,
    bytes_per: 0,
    memory: {
      start_rss_bytes: 0,
      peak_rss_bytes: 0,
      self_peak_bytes: 0,
      children_peak_bytes: 0,
      method: "",
    },
  };
}

Deno.test("projection of demo --size reve-base: 5,184 trials, 500,000 tokens, d_sae 8192", () => {
  // A 16-trial slice: features went over it twice (32 trial-passes), the others once.
  const measured = {
    data: stage("trials", 16, 0.16),
    model: stage("models", 1, 8),
    extract: stage("trials", 16, 16),
    train: stage("tokens", 8192, 32.768),
    features: stage("trials", 32, 40),
    probe: stage("trials", 16, 40),
    site: stage("pages", 8211, 410.55),
  };
  const { linear, reve_calibrated: calibrated } = projectDemo(measured, 16, {
    feature: 8192,
    trial: 16,
    other: 3,
  });
  // Counted by hand: 9 subjects × 2 sessions × 4 classes × 72 trials = 5,184; features passes twice.
  const expected: Record<string, number> = {
    data: 5184 / 100,
    model: 8,
    extract: 5184 / 1,
    train: 500_000 / 250,
    features: (2 * 5184) / 0.8,
    probe: 5184 / 0.4,
    // Trial pages grow with the trials (16 on a 16-trial slice), feature pages do not.
    site: (8192 + 5184 + 3) / 20,
  };
  // At the extract's 1 trial/s: features' slice time beyond its 32 trial-passes (8 s) and probe's
  // beyond its 16 (24 s) are fixed.
  const calibratedExpected: Record<string, number> = {
    ...expected,
    features: 8 + 2 * 5184,
    probe: 24 + 5184,
  };
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6 * Math.max(1, b);
  for (const [p, want] of [[linear, expected], [calibrated, calibratedExpected]] as const) {
    assert.deepEqual(p.stages.map((s) => s.name), Object.keys(want));
    for (const s of p.stages) assert.ok(close(s.seconds, want[s.name]), `${s.name} ${s.seconds}`);
    const total = Object.values(want).reduce((a, b) => a + b, 0);
    assert.ok(close(p.total_seconds, total));
  }
  const noSite = projectDemo(measured, 16, null).linear;
  assert.deepEqual(noSite.stages.map((s) => s.name), Object.keys(expected).slice(0, -1));
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  assert.ok(close(noSite.total_seconds, total - expected.site));
});

Deno.test("/proc status lines are read in bytes", () => {
  const status = "Name:\tdeno\nVmHWM:\t  123456 kB\nVmRSS:\t    2048 kB\n";
  assert.equal(statusBytes(status, "VmHWM"), 123456 * 1024);
  assert.equal(statusBytes(status, "VmRSS"), 2048 * 1024);
  assert.equal(statusBytes("Name:\tdeno\n", "VmRSS"), null);
});

const hasProc = (() => {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "stage memory: a 200 MiB buffer and a 300 MiB child process show in the peaks",
  ignore: !hasProc,
  async fn() {
    const MiB = 2 ** 20;
    const before = Deno.memoryUsage().rss;
    const { result, memory } = await measureStageMemory(async () => {
      const big = new Uint8Array(200 * MiB).fill(1);
      // python3 is installed for the bench's numpy comparison.
      const child = await new Deno.Command("python3", {
        // Written, not only reserved, so the pages are resident.
        args: ["-c", "import time; b = b'\\x01' * (300 * 2**20); time.sleep(0.8)"],
      }).output();
      assert.ok(child.success);
      return big[big.length - 1];
    }, 50);
    assert.equal(result, 1);
    assert.ok(memory.self_peak_bytes >= before + 190 * MiB, `self ${memory.self_peak_bytes}`);
    assert.ok(memory.children_peak_bytes >= 290 * MiB, `children ${memory.children_peak_bytes}`);
    assert.equal(memory.peak_rss_bytes, memory.self_peak_bytes + memory.children_peak_bytes);
    assert.match(memory.method, /VmHWM/);
  },
});

Deno.test("pipeline section: a slice that is not whole subjects × sessions × classes is refused", async () => {
  const ctx = { log: () => {}, results: {} } as unknown as BenchContext;
  await assert.rejects(
    () => pipelineSection({ trials: 20, saeSteps: 1, site: false }).run(ctx),
    (e) =>
      e instanceof PipelineBenchError &&
      /--pipeline_trials 20: expected a multiple of 16/.test(e.message),
  );
  await assert.rejects(
    () => pipelineSection({ trials: 16, saeSteps: 0, site: false }).run(ctx),
    PipelineBenchError,
  );
});
