/**
 * `deno task demo --recordings FILE --channels ...` end to end on one real BioSig-written
 * motor-imagery recording (octave-biosig's GDF 1.25 sample, one subject, two classes): the whole
 * report is built, and the probe cross-validates within the subject, chosen automatically and
 * said so.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { validateProbeResult } from "../schema/run_folder.ts";
import { BIOSIG_SAMPLE_GDF } from "./fixtures/recording_tools.ts";

Deno.test({
  name: "demo --recordings: one BioSig recording builds the report with a within-subject probe",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "eeg_sae_demo_rec_" });
    try {
      const args = [
        "--size",
        "tiny",
        "--recordings",
        BIOSIG_SAMPLE_GDF,
        "--channels",
        "C3,Cz,C4,-",
      ];
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "compute/cli/demo.ts", ...args, "--out", out],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, `demo failed:\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
      assert.match(stdout, /40 trials from 1 files at 256 Hz/);
      assert.match(
        stdout,
        /within-subject 5-fold cross-validation, stratified, folds contiguous in time: chosen because there is one subject/,
      );
      for (const input of ["sae_mean_max", "reve_mean"]) {
        const name = `within_subject_cv_${input}.json`;
        const raw = JSON.parse(await Deno.readTextFile(join(out, "probe", name)));
        const r = validateProbeResult(raw, name);
        assert.equal(r.protocol.kind, "within_subject_cv");
        assert.deepEqual(r.class_names, ["left_hand", "right_hand"]);
        assert.equal(r.settings.folds, 5);
        assert.ok(r.metrics.balanced_accuracy >= 0 && r.metrics.balanced_accuracy <= 1);
      }
      await Deno.stat(join(out, "site", "index.html"));
      await Deno.stat(join(out, "features"));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
