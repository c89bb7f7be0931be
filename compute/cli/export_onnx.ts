/** `deno task export-onnx --model DIR --out FILE.onnx`: REVE's forward as an ONNX graph. */
import { bool, str } from "./flags.ts";
import { flagList, FLAGS } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { exportReveOnnx } from "../reve/onnx_export.ts";

await runCli({
  usage: "deno task export-onnx --model DIR --out FILE.onnx [--include_hidden]\n\n" +
    "Writes REVE's forward from DIR/config.json and DIR/model.safetensors as an ONNX graph\n" +
    "(opset 17). Inputs: eeg [batch, channels, samples] at 200 Hz and pos_embed\n" +
    "[batch, channels·patches, embed_dim]; output: final [batch, channels·patches, embed_dim].",
  flags: flagList(
    FLAGS.model,
    FLAGS.out,
    {
      name: "include_hidden",
      type: "boolean",
      help: "also output hidden.0 .. hidden.{depth-1} (the residual before each block)",
      default: false,
    },
  ),
  async main({ values }) {
    const out = str(values, "out");
    const bytes = await exportReveOnnx(str(values, "model"), out, {
      includeHidden: bool(values, "include_hidden"),
    });
    console.log(`wrote ${out} (${(bytes / 1e6).toFixed(1)} MB)`);
  },
});
