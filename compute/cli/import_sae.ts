/** `deno task import-sae`: an SAE saved by the earlier Python pipeline or SAELens, as our folder. */
import { optNum, optStr, str } from "./flags.ts";
import { flagList, FLAGS, withDefaults } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { importSae } from "../sae/import_sae.ts";

await runCli({
  usage: "deno task import-sae --from PATH --out DIR [--d_in N --hook NAME --block_layer L]\n\n" +
    "PATH is the earlier pipeline's checkpoint (sae_latest.pt from torch.save, or a .pkl.gz),\n" +
    "a SAELens 5 or 6 folder, or a bare sae_weights.safetensors (then give --hook, and --d_in to\n" +
    "check the width). DIR gets cfg.json and sae_weights.safetensors with the weights bit for bit\n" +
    "and the hook under our name; what the old config held is listed as kept or not mapped.\n" +
    "Every --sae flag also takes PATH directly.",
  flags: flagList(
    {
      name: "from",
      type: "string",
      help: "the SAE to import (.pt, .pkl.gz, folder, .safetensors)",
    },
    FLAGS.out,
    { name: "d_in", type: "int", help: "width of the activations, checked against W_enc" },
    withDefaults([FLAGS.hook, FLAGS.block_layer], {
      hook: { note: "the one the old config records" },
      block_layer: { note: "the one the old config records" },
    }),
  ),
  async main({ values }) {
    const from = str(values, "from");
    const out = str(values, "out");
    const sae = await importSae(from, out, {
      dIn: optNum(values, "d_in"),
      hook: optStr(values, "hook"),
      blockLayer: optNum(values, "block_layer"),
    });
    const c = sae.cfg;
    console.log(
      `imported ${sae.format} ${from} → ${out}: d_in ${c.d_in}, d_sae ${c.d_sae}, ` +
        `${c.architecture}, hook ${c.hook_name}`,
    );
    console.log(`kept: ${sae.kept.join(", ") || "nothing"}`);
    console.log(
      `not mapped (kept in cfg.json's source_config): ${sae.unmapped.join(", ") || "nothing"}`,
    );
  },
});
