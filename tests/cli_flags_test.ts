/**
 * Command-line flags: the earlier pipeline's snake_case and kebab-case, typed values, defaults, `--no-<flag>`,
 * the earlier pipeline's flags answered in one line, unknown flags with the closest known one, and
 * the same wording for a shared flag in every command's `--help`.
 */
import assert from "node:assert/strict";
import { FlagError, type FlagSpec, helpText, parseFlags } from "../compute/cli/flags.ts";
import {
  flagList,
  FLAGS,
  LEGACY_FLAGS,
  REVE_FLAGS,
  SAE_TRAINING_FLAGS,
  saeConfigFrom,
} from "../compute/cli/flag_registry.ts";
import { defaultSaeConfig } from "../compute/sae/config.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

const SPECS: FlagSpec[] = [
  { name: "block_layer", type: "int", help: "layer", default: -2 },
  { name: "l1_coefficient", type: "number", help: "l1", default: 1e-4 },
  { name: "use_ghost_grads", type: "boolean", help: "ghost", default: true },
  {
    name: "architecture",
    type: "string",
    help: "arch",
    choices: ["relu", "topk"],
    default: "relu",
  },
  { name: "hooks", type: "list", help: "hooks", default: [] },
];

Deno.test("flags: snake_case and kebab-case, = and space forms, defaults", () => {
  const a = parseFlags(
    ["--block_layer", "-3", "--l1-coefficient=0.001", "--hooks", "a,b", "--hooks=c"],
    SPECS,
  );
  assert.deepEqual(a.values, {
    block_layer: -3,
    l1_coefficient: 0.001,
    use_ghost_grads: true,
    architecture: "relu",
    hooks: ["a", "b", "c"],
  });
  assert.equal(a.help, false);
});

Deno.test("flags: booleans take an optional value; bare means true", () => {
  assert.equal(parseFlags(["--use_ghost_grads", "false"], SPECS).values.use_ghost_grads, false);
  assert.equal(parseFlags(["--use-ghost-grads"], SPECS).values.use_ghost_grads, true);
  const v = parseFlags(["--use_ghost_grads", "--block_layer", "1"], SPECS).values;
  assert.equal(v.use_ghost_grads, true);
  assert.equal(v.block_layer, 1);
});

Deno.test("flags: bad values and unknown flags are errors naming the flag", () => {
  assert.throws(
    () => parseFlags(["--block_layer", "1.5"], SPECS),
    /--block_layer expects an integer/,
  );
  assert.throws(() => parseFlags(["--l1_coefficient", "x"], SPECS), /expects a number, got "x"/);
  assert.throws(() => parseFlags(["--architecture", "gelu"], SPECS), /must be one of relu, topk/);
  assert.throws(() => parseFlags(["--use_ghost_grads=maybe"], SPECS), FlagError);
  assert.throws(() => parseFlags(["--no_such_flag", "1"], SPECS), FlagError);
  assert.throws(() => parseFlags(["--block_layer"], SPECS), /--block_layer needs a value/);
});

Deno.test("flags: each item of a list flag with choices is checked", () => {
  const specs: FlagSpec[] = [{
    name: "only",
    type: "list",
    help: "sections",
    choices: ["a", "b c"],
  }];
  assert.deepEqual(parseFlags(["--only", "b c,a"], specs).values.only, ["b c", "a"]);
  assert.throws(
    () => parseFlags(["--only", "a,d"], specs),
    /--only takes items of a, b c; got "d"/,
  );
});

Deno.test("bench --only names a section it has, in one line and exit 1", async () => {
  const r = await runCliFile("bench", ["--only", "pipline"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr.trim(),
    /^error: --only takes items of fma peak, .*pipeline; got "pipline"/,
  );
});

Deno.test("flags: --no-<flag> turns a boolean off, in either spelling", () => {
  for (const a of ["--no-use-ghost-grads", "--no_use_ghost_grads", "--no-use_ghost_grads"]) {
    assert.equal(parseFlags([a], SPECS).values.use_ghost_grads, false, a);
  }
  assert.throws(() => parseFlags(["--no-block_layer"], SPECS), /unknown flag --no-block_layer/);
});

Deno.test("flags: an unknown flag is one line in our words naming the closest known flag", () => {
  const train = flagList(REVE_FLAGS, FLAGS.out);
  const message = (args: string[]) => {
    try {
      parseFlags(args, train, LEGACY_FLAGS);
    } catch (e) {
      assert.ok(e instanceof FlagError);
      return e.message;
    }
    assert.fail(`${args} parsed`);
  };
  assert.equal(message(["--hook_name", "x"]), "unknown flag --hook_name; did you mean --hook?");
  assert.equal(
    message(["--blok_layer", "1"]),
    "unknown flag --blok_layer; did you mean --block_layer?",
  );
  assert.equal(message(["--zzz"]), "unknown flag --zzz");
  assert.doesNotMatch(message(["--device-name", "x"]), /Unknown option|--\s*"/);
});

Deno.test("flags: the earlier pipeline's train command is accepted, each flag answered in one line", () => {
  const train = flagList(REVE_FLAGS, FLAGS.db_path, FLAGS.out, SAE_TRAINING_FLAGS);
  // scripts/01_run_train.sh and the README's train command, flag for flag.
  const seedArgs = [
    "--db_path",
    "/data/bcic2a.lmdb",
    "--model_name",
    "brain-bzh/reve-base",
    "--block_layer",
    "-2",
    "--module_name",
    "resid",
    "--d_in",
    "512",
    "--expansion_factor",
    "16",
    "--batch_size",
    "32",
    "--total_training_tokens",
    "500000",
    "--l1_coefficient",
    "1e-4",
    "--lr",
    "3e-4",
    "--lr_scheduler_name",
    "constantwithwarmup",
    "--lr_warm_up_steps",
    "500",
    "--use_ghost_grads",
    "--feature_sampling_window",
    "500",
    "--dead_feature_window",
    "250",
    "--seed",
    "42",
    "--n_checkpoints",
    "2",
    "--checkpoint_path",
    "checkpoints/bcic2a_sae",
    "--device",
    "cuda",
    "--scale_div",
    "100.0",
    "--log_to_wandb",
    "--wandb_project",
    "eeg-sae",
    "--no_ghost_grads",
    "--b_dec_init_method",
    "geometric_median",
    "--pos_bank_name",
    "brain-bzh/reve-positions",
  ];
  const p = parseFlags(seedArgs, train, LEGACY_FLAGS);
  assert.equal(p.values.model, "brain-bzh/reve-base");
  assert.equal(p.values.hook, "resid_post");
  assert.equal(p.values.out, "checkpoints/bcic2a_sae");
  assert.equal(p.values.scaling, "uv_div100");
  assert.equal(p.values.lr_scheduler, "constant_with_warmup");
  assert.equal(p.values.b_dec_init, "median");
  assert.equal(p.values.use_ghost_grads, false);
  assert.equal(p.values.block_layer, -2);
  assert.equal(p.values.dead_feature_window, 250);
  const answered = [
    "module_name",
    "d_in",
    "lr_scheduler_name",
    "n_checkpoints",
    "checkpoint_path",
    "device",
    "scale_div",
    "log_to_wandb",
    "wandb_project",
    "no_ghost_grads",
    "b_dec_init_method",
    "pos_bank_name",
  ];
  assert.deepEqual(p.notes.map((n) => n.split(":")[0]), answered.map((a) => `--${a}`));
  for (const n of p.notes) assert.ok(!n.includes("\n") && n.length < 140, n);
  assert.match(p.notes[answered.indexOf("device")], /WebGPU.*DENO_WEBGPU_BACKEND/);
  assert.throws(
    () => parseFlags(["--device", "tpu"], train, LEGACY_FLAGS),
    /--device must be one of cpu, cuda, mps, webgpu/,
  );
  assert.throws(() => parseFlags(["--scale_div", "50"], train, LEGACY_FLAGS), /only 100/);
  // A legacy flag whose target the command lacks is unknown there.
  assert.throws(
    () => parseFlags(["--lr_scheduler_name", "constant"], flagList(FLAGS.out), LEGACY_FLAGS),
    /unknown flag --lr_scheduler_name/,
  );
  assert.match(helpText("u", train, LEGACY_FLAGS), /--log_to_wandb\s+no Weights & Biases/);
});

Deno.test("flags: the SAE training flags give config.ts's defaults untouched", () => {
  const cfg = saeConfigFrom(parseFlags([], SAE_TRAINING_FLAGS).values);
  // decoderInitNorm depends on the architecture: the flag sets it only when given.
  const { dIn: _d, kAux: _k, provenance: _p, decoderInitNorm: _n, ...defaults } = defaultSaeConfig(
    8,
  );
  assert.deepEqual(
    cfg,
    Object.fromEntries(Object.keys(cfg).map((k) => [k, defaults[k as keyof typeof defaults]])),
  );
  assert.equal(
    Object.keys(cfg).length,
    Object.keys(defaults).length - 4,
    "beta1, beta2, adamEps, thresholdMomentum have no flag",
  );
  const given = parseFlags(["--decoder_init_norm", "0.5"], SAE_TRAINING_FLAGS).values;
  assert.equal(saeConfigFrom(given).decoderInitNorm, 0.5);
});

async function help(cli: string): Promise<string> {
  const r = await runCliFile(cli, ["--help"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("train, extract and demo --help word their shared flags the same", async () => {
  const texts = await Promise.all(["train", "extract", "demo"].map(help));
  const flagLines = (t: string) =>
    new Map(
      t.split("\n").filter((l) => /^ {2}--\w/.test(l)).map((l) => {
        const name = l.trim().split(/\s+/)[0];
        // Defaults may differ per command; the wording may not.
        return [name, l.replace(/ \(default: [^)]*\)/, "")];
      }),
    );
  const [train, extract, demo] = texts.map(flagLines);
  let shared = 0;
  for (const [name, line] of train) {
    for (const other of [extract, demo]) {
      if (other.has(name)) {
        assert.equal(other.get(name), line, name);
        shared++;
      }
    }
  }
  assert.ok(shared >= 8, `only ${shared} shared flag lines`);
  for (const t of texts) assert.match(t, /--model .*\(also --model_name/);
});

Deno.test("a CLI answers an unknown flag in one line and exit 1", async () => {
  const r = await runCliFile("train", ["--hook_name", "x"]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    "error: unknown flag --hook_name; did you mean --hook? (deno task train --help lists the flags)",
  );
});

Deno.test("flags: --help lists every flag with its default", () => {
  assert.equal(parseFlags(["--help"], SPECS).help, true);
  const text = helpText("usage line", SPECS);
  for (const s of SPECS) assert.match(text, new RegExp(`--${s.name}`));
  assert.match(text, /\(default: -2\)/);
  assert.match(text, /\[relu\|topk\]/);
});

Deno.test("every command takes --adapter, with its choices checked", async () => {
  assert.match(
    await help("features"),
    /--adapter .*high-performance.*\[high-performance\|low-power\|fallback\]/,
  );
  const r = await runCliFile("train", ["--adapter", "gpu0"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--adapter must be one of high-performance, low-power, fallback/);
});
