/// <reference lib="dom" />
/** The trial page's channel inspector island: choose a channel, see its top SAE features. */

interface InspectorData {
  channels: string[];
  /** Per channel: `[feature id, summed activation]`, highest first. */
  top: [number, number][][];
  base: string;
}

export function attachChannelInspector(root: Document): void {
  const select = root.getElementById("channel-select") as HTMLSelectElement | null;
  const body = root.getElementById("channel-features");
  const raw = root.getElementById("channel-data")?.textContent;
  if (!select || !body || !raw) return;
  const data = JSON.parse(raw) as InspectorData;
  const show = () => {
    const rows = data.top[Number(select.value)] ?? [];
    body.replaceChildren(...rows.map(([id, sum]) => {
      const tr = root.createElement("tr");
      const a = root.createElement("a");
      a.href = `${data.base}features/${id}/`;
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
