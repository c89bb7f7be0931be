/// <reference lib="dom" />
/** The trial page's channel inspector: choose a channel, see its top SAE features. */
import type { FeatureAct } from "../../../schema/run_folder.ts";

/** `top[c]`: channel `c`'s `[feature id, summed activation]`, highest first. */
export function attachChannelInspector(root: Document, top: FeatureAct[][], base: string): void {
  const select = root.getElementById("channel-select") as HTMLSelectElement | null;
  const body = root.getElementById("channel-features");
  if (!select || !body) return;
  const show = () => {
    const rows = top[Number(select.value)] ?? [];
    body.replaceChildren(...rows.map(([id, sum]) => {
      const tr = root.createElement("tr");
      const a = root.createElement("a");
      a.href = `${base}features/${id}/`;
      a.textContent = String(id);
      const td1 = root.createElement("td");
      td1.append(a);
      const td2 = root.createElement("td");
      td2.className = "num";
      td2.textContent = sum.toPrecision(3);
      tr.append(td1, td2);
      return tr;
    }));
  };
  select.addEventListener("change", show);
  show();
}
