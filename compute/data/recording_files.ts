/**
 * `--recordings PATH...`: files or folders of recordings, each format told from the file's first
 * bytes (GDF, EDF/EDF+, BDF, MAT level 5 in the BNCI layout), read and cut into trials, all the
 * files together as one trial source. A BCIC2a evaluation GDF takes its labels from a label file
 * beside it (`A01E.mat`, `.txt`, `.csv` or `_labels.txt`); in a folder one without is left out.
 */
import { basename, join } from "node:path";
import { parseBnciMat } from "./bnci_mat.ts";
import { parseEdf } from "./edf_reader.ts";
import { parseGdf } from "./gdf_reader.ts";
import { type Recording, RecordingError } from "./recording.ts";
import { RecordingSource, type RecordingSourceOptions } from "./recording_source.ts";
import type { Trial, TrialMeta, TrialSource } from "./trials.ts";

export type RecordingFormat = "GDF" | "EDF" | "BDF" | "MAT";

/** The format of a file from its first bytes, or undefined when it is none we read. */
export function detectFormat(head: Uint8Array): RecordingFormat | undefined {
  const text = new TextDecoder("latin1").decode(head.subarray(0, 20));
  if (text.startsWith("GDF")) return "GDF";
  if (head[0] === 0xff && text.slice(1, 8) === "BIOSEMI") return "BDF";
  if (text.startsWith("0       ")) return "EDF";
  if (text.startsWith("MATLAB") || (head[0] === 0x89 && text.slice(1, 4) === "HDF")) return "MAT";
  return undefined;
}

/** Reads one recording file, whatever its format. */
export async function readRecording(path: string): Promise<Recording> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new RecordingError(path, `cannot read: ${(e as Error).message}`);
  }
  switch (detectFormat(bytes)) {
    case "GDF":
      return parseGdf(bytes, path);
    case "EDF":
    case "BDF":
      return parseEdf(bytes, path);
    case "MAT":
      return parseBnciMat(bytes, path);
    default:
      throw new RecordingError(
        path,
        "not a recording we read (its first bytes are not GDF, EDF, BDF or a MAT-file)",
      );
  }
}

const LABEL_SUFFIXES = [".mat", ".txt", ".csv", "_labels.txt"];

/** A BCIC2a evaluation GDF's label file beside it, if any. */
export async function labelFileFor(gdf: string): Promise<string | undefined> {
  for (const ext of LABEL_SUFFIXES) {
    const candidate = gdf.replace(/\.gdf$/i, ext);
    if (await Deno.stat(candidate).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

/** The recording files a list of paths names: files as given, folders' recordings sorted. */
export async function listRecordings(
  paths: readonly string[],
): Promise<{ files: string[]; skipped: { key: string; reason: string }[] }> {
  const files: string[] = [];
  const skipped: { key: string; reason: string }[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      throw new RecordingError(path, `cannot read: ${(e as Error).message}`);
    }
    if (!info.isDirectory) {
      files.push(path);
      continue;
    }
    const inDir: string[] = [];
    for await (const e of Deno.readDir(path)) if (e.isFile) inDir.push(join(path, e.name));
    inDir.sort();
    const found: string[] = [];
    for (const f of inDir) {
      const head = await readHead(f);
      const format = detectFormat(head);
      if (!format) continue;
      // A MAT-file beside a GDF of the same name holds that GDF's labels, not a recording.
      if (
        format === "MAT" &&
        inDir.some((g) => /\.gdf$/i.test(g) && g.replace(/\.gdf$/i, ".mat") === f)
      ) {
        continue;
      }
      if (format === "GDF" && /E\.gdf$/i.test(f) && !(await labelFileFor(f))) {
        skipped.push({
          key: basename(f),
          reason: "evaluation session without a label file beside it",
        });
        continue;
      }
      found.push(f);
    }
    if (found.length === 0) {
      throw new RecordingError(path, "no recordings (GDF, EDF, BDF, MAT) in it");
    }
    files.push(...found);
  }
  return { files, skipped };
}

async function readHead(path: string): Promise<Uint8Array> {
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(20);
    const n = await f.read(buf);
    return buf.subarray(0, n ?? 0);
  } finally {
    f.close();
  }
}

/** Opens every recording the paths name as one trial source. */
export async function openRecordings(
  paths: readonly string[],
  options: RecordingSourceOptions = {},
): Promise<RecordingSetSource> {
  const { files, skipped } = await listRecordings(paths);
  const sources: RecordingSource[] = [];
  for (const file of files) {
    const rec = await readRecording(file);
    const labelFile = options.labelFile ??
      (rec.format === "GDF" && /E\.gdf$/i.test(file) ? await labelFileFor(file) : undefined);
    sources.push(await RecordingSource.open(rec, { ...options, labelFile }));
  }
  return new RecordingSetSource(sources, skipped);
}

/** Several recordings' trials in file order; they must agree on channels, rate and length. */
export class RecordingSetSource implements TrialSource {
  readonly description: string;
  readonly trials: readonly TrialMeta[];
  private readonly index: { source: number; trial: number }[];

  constructor(
    readonly sources: readonly RecordingSource[],
    readonly skippedFiles: readonly { key: string; reason: string }[],
  ) {
    const first = sources[0];
    for (const s of sources.slice(1)) {
      const why = s.sfreq !== first.sfreq
        ? `${s.sfreq} Hz, ${first.file} ${first.sfreq} Hz`
        : s.samples !== first.samples
        ? `${s.samples} samples per trial, ${first.file} ${first.samples}`
        : s.channels.join(",") !== first.channels.join(",")
        ? `channels ${s.channels.join(" ")}, ${first.file} ${first.channels.join(" ")}`
        : "";
      if (why) throw new RecordingError(s.file, `does not match the first recording: ${why}`);
    }
    // "recordings PATH,...": the first word names the kind of source in run.json.
    this.description = `recordings ${sources.map((s) => s.file).join(",")}`;
    this.index = sources.flatMap((s, i) => s.trials.map((_, t) => ({ source: i, trial: t })));
    this.trials = sources.flatMap((s) => s.trials);
  }

  get channels(): readonly string[] {
    return this.sources[0].channels;
  }
  get sfreq(): number {
    return this.sources[0].sfreq;
  }
  get samples(): number {
    return this.sources[0].samples;
  }

  read(index: number): Promise<Trial> {
    const at = this.index[index];
    if (!at) {
      throw new RecordingError(
        this.description,
        `trial index ${index} outside 0..${this.trials.length - 1}`,
      );
    }
    return this.sources[at.source].read(at.trial);
  }

  close(): void {}
}
