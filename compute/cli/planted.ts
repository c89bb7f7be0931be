/**
 * Writes planted-dictionary activations (compute/sae/planted.ts) to a `.npy` for
 * `deno task train --activations FILE.npy`, and the dictionary beside it:
 *   deno run -A compute/cli/planted.ts --out runs/planted.npy [--atoms 512 --d_in 64 ...]
 */
import { num, str } from "./flags.ts";
import { runCli } from "./run_cli.ts";
import { f32, writeNpy } from "../io/npy.ts";
import { plantedDictionary, type PlantedOptions } from "../sae/planted.ts";

await runCli({
  usage:
    "deno run -A compute/cli/planted.ts --out FILE.npy [--atoms 512 --d_in 64 --tokens 200000]",
  flags: [
    {
      name: "out",
      type: "string",
      help: "output .npy [tokens, d_in] (the dictionary goes to FILE.dict.npy)",
    },
    { name: "d_in", type: "int", help: "activation width", default: 64 },
    { name: "atoms", type: "int", help: "dictionary size", default: 512 },
    { name: "tokens", type: "int", help: "number of tokens", default: 200000 },
    { name: "min_active", type: "int", help: "fewest atoms per token", default: 3 },
    { name: "max_active", type: "int", help: "most atoms per token", default: 5 },
    { name: "noise", type: "number", help: "Gaussian noise std per element", default: 0.01 },
    { name: "seed", type: "int", help: "random seed", default: 0 },
  ],
  main: async ({ values }) => {
    const out = str(values, "out");
    const o: PlantedOptions = {
      dIn: num(values, "d_in"),
      atoms: num(values, "atoms"),
      tokens: num(values, "tokens"),
      minActive: num(values, "min_active"),
      maxActive: num(values, "max_active"),
      noise: num(values, "noise"),
      seed: num(values, "seed"),
    };
    const p = plantedDictionary(o);
    await writeNpy(out, f32(p.activations, [o.tokens, o.dIn]));
    await writeNpy(out.replace(/\.npy$/, "") + ".dict.npy", f32(p.dictionary, [o.atoms, o.dIn]));
    console.log(`wrote ${out} [${o.tokens}, ${o.dIn}] and its dictionary [${o.atoms}, ${o.dIn}]`);
  },
});
