/** Command-line flags: the seed's snake_case and kebab-case, typed values, defaults, clear errors. */
import assert from "node:assert/strict";
import { FlagError, type FlagSpec, helpText, parseFlags } from "../compute/cli/flags.ts";

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
});

Deno.test("flags: --help lists every flag with its default", () => {
  assert.equal(parseFlags(["--help"], SPECS).help, true);
  const text = helpText("usage line", SPECS);
  for (const s of SPECS) assert.match(text, new RegExp(`--${s.name}`));
  assert.match(text, /\(default: -2\)/);
  assert.match(text, /\[relu\|topk\]/);
});
