/**
 * Electrode names and positions: the BCIC2a montage and exact-name lookup in the REVE position
 * bank (`data/reve_positions.json`, metres). An unknown name is an error listing near matches:
 * a channel is never dropped silently.
 */
import { EegSaeError } from "../util/errors.ts";

/** BCIC2a's classes by label index (GDF events 769–772). */
export const BCIC2A_CLASS_NAMES: readonly string[] = ["left_hand", "right_hand", "feet", "tongue"];

/** BCIC2a's 22 EEG channels in the order of the competition files (docs/ARCHITECTURE.md). */
export const BCIC2A_CHANNELS: readonly string[] = [
  "Fz",
  "FC3",
  "FC1",
  "FCz",
  "FC2",
  "FC4",
  "C5",
  "C3",
  "C1",
  "Cz",
  "C2",
  "C4",
  "C6",
  "CP3",
  "CP1",
  "CPz",
  "CP2",
  "CP4",
  "P1",
  "Pz",
  "P2",
  "POz",
];

/** BCIC2a's sampling rate in the raw competition files. */
export const BCIC2A_SFREQ = 250;

export class UnknownChannelError extends EegSaeError {
  constructor(readonly channel: string, readonly nearMatches: string[]) {
    super(
      `electrode "${channel}" is not in the position bank data/reve_positions.json` +
        (nearMatches.length ? `; near matches: ${nearMatches.join(", ")}` : ""),
    );
  }
}

export class PositionBankError extends EegSaeError {}

const BANK_URL = new URL("../../data/reve_positions.json", import.meta.url);
let bank: Map<string, [number, number, number]> | undefined;

/** The position bank: electrode name → xyz in metres (loaded once). */
export function positionBank(): Map<string, [number, number, number]> {
  if (bank) return bank;
  const raw: unknown = JSON.parse(Deno.readTextFileSync(BANK_URL));
  if (typeof raw !== "object" || raw === null) {
    throw new PositionBankError(`${BANK_URL.pathname}: expected an object of name → [x, y, z]`);
  }
  const loaded = new Map<string, [number, number, number]>();
  for (const [name, xyz] of Object.entries(raw)) {
    if (!Array.isArray(xyz) || xyz.length !== 3 || xyz.some((v) => typeof v !== "number")) {
      throw new PositionBankError(`${BANK_URL.pathname}: "${name}" must be [x, y, z] numbers`);
    }
    loaded.set(name, [xyz[0], xyz[1], xyz[2]]);
  }
  bank = loaded;
  return bank;
}

/**
 * The bank's name for a channel label, ignoring case, an `EEG` prefix (`EEG-C3`, `EEG C3`) and
 * trailing dots (PhysioNet's `C3..`); the exact spelling wins, then the 10-05 one (`Cz` over
 * `CZ`). Undefined when the bank does not know it.
 */
export function bankName(label: string): string | undefined {
  const b = positionBank();
  const bare = label.trim().replace(/^EEG[-_ ]?/i, "").replace(/\.+$/, "");
  if (b.has(bare)) return bare;
  const lower = bare.toLowerCase();
  const matches = [...b.keys()].filter((k) => k.toLowerCase() === lower);
  return matches.find((k) => /[a-z]/.test(k)) ?? matches[0];
}

/** Positions `[C,3]` (row-major xyz, metres) of the named electrodes, by exact name. */
export function lookupPositions(names: string[]): Float32Array {
  const b = positionBank();
  const out = new Float32Array(names.length * 3);
  names.forEach((name, c) => {
    const xyz = b.get(name);
    if (!xyz) throw new UnknownChannelError(name, nearMatches(name, [...b.keys()]));
    out.set(xyz, c * 3);
  });
  return out;
}

/**
 * Up to five bank names closest to `name`: the same name in another case first, then a name
 * that is one part of it (`EEG-C3` → `C3`), then small edit distances.
 */
export function nearMatches(name: string, candidates: string[], limit = 5): string[] {
  const lower = name.toLowerCase();
  const parts = new Set(lower.split(/[^a-z0-9]+/));
  const distance = (c: string) => {
    const cl = c.toLowerCase();
    if (cl === lower) return 0;
    if (parts.has(cl)) return 1;
    return 1 + editDistance(lower, cl);
  };
  return candidates
    .map((c) => ({ c, d: distance(c) }))
    .filter((x) => x.d <= 3)
    .sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : a.c > b.c ? 1 : 0))
    .slice(0, limit)
    .map((x) => x.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
