/**
 * Command-line flags shared by every `deno task`: snake_case (the earlier pipeline's names) and kebab-case
 * spellings, `--flag value` and `--flag=value`, `--no-<flag>` for booleans, aliases, typed values,
 * flags of the earlier Python pipeline answered in one line, unknown flags answered with the closest
 * known one, and `--help` generated from the spec. Each flag is declared once, in flag_registry.ts.
 */
import { EegSaeError } from "../util/errors.ts";

export class FlagError extends EegSaeError {}

export type FlagType = "string" | "number" | "int" | "boolean" | "list";

export interface FlagSpec {
  /** snake_case name; the kebab-case spelling is accepted too. */
  name: string;
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values for string flags, and for each item of a list flag. */
  choices?: readonly string[];
  /** What an absent flag means when that is not a fixed value ("the SAE's hook_name"). */
  defaultNote?: string;
  /** Other names of the same flag (e.g. the earlier pipeline's `model_name` for `model`). */
  aliases?: readonly string[];
}

/**
 * A flag of the earlier pipeline that has no flag of its own here. Its value (when it takes one)
 * is either passed to one of ours (`to`, translated by `value`) or dropped; `answer` is printed
 * either way, and listed in `--help`, so the user reads what became of it.
 */
export interface LegacyFlag {
  name: string;
  /** False for the earlier pipeline's store_true switches. */
  takesValue: boolean;
  /** Our flag that receives the value. */
  to?: string;
  /** The flag a command must have for this one to apply (default: `to`; none: every command). */
  with?: string;
  /** The value for `to`: a translation of the given one; throws a FlagError to refuse it. */
  value?: (given: string) => string;
  /** One line on what became of the flag. */
  answer: string;
}

export type FlagValue = string | number | boolean | string[] | undefined;
export type FlagValues = Record<string, FlagValue>;

export interface ParsedFlags {
  values: FlagValues;
  positionals: string[];
  help: boolean;
  /** Which flags were given on the command line (snake_case names). */
  given: ReadonlySet<string>;
  /** What became of the earlier pipeline's flags, one line each, for stderr. */
  notes: string[];
}

const snake = (s: string) => s.replaceAll("-", "_");
const BOOL_WORD = /^(true|false|1|0|yes|no)$/i;

/**
 * Parses argv against the spec. Booleans take an optional true/false/1/0/yes/no value and
 * `--no-<flag>` turns one off; a value flag takes the next argument even when it is a negative
 * number (`--block_layer -2`).
 */
export function parseFlags(
  args: string[],
  specs: readonly FlagSpec[],
  legacy: readonly LegacyFlag[] = [],
): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of [s.name, ...(s.aliases ?? [])]) byName.set(n, s);
  const legacyByName = new Map(applicableLegacy(specs, legacy).map((l) => [l.name, l]));
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  const notes: string[] = [];
  let help = false;
  const set = (spec: FlagSpec, v: string) => {
    const prior = spec.type === "list" ? raw.get(spec.name) ?? [] : [];
    raw.set(spec.name, [...prior, v]);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a === "-h") {
      help = true;
      continue;
    }
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const typed = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const inline = eq < 0 ? undefined : a.slice(eq + 1);
    const name = snake(typed);
    if (name === "help") {
      help = true;
      continue;
    }
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("--") && next !== "--")) {
        throw new FlagError(`--${typed} needs a value`);
      }
      i++;
      return next;
    };
    const takeBool = (): string => {
      if (inline !== undefined) return inline;
      const next = args[i + 1];
      if (next !== undefined && BOOL_WORD.test(next)) {
        i++;
        return next;
      }
      return "true";
    };
    const spec = byName.get(name);
    if (spec) {
      set(spec, spec.type === "boolean" ? takeBool() : takeValue());
      continue;
    }
    const negated = /^no_(.+)$/.exec(name);
    const negatedSpec = negated ? byName.get(negated[1]) : undefined;
    if (negatedSpec?.type === "boolean") {
      if (inline !== undefined) throw new FlagError(`--${typed} takes no value`);
      set(negatedSpec, "false");
      continue;
    }
    const old = legacyByName.get(name);
    if (old) {
      const given = old.takesValue ? takeValue() : takeBool();
      const value = old.value ? old.value(given) : given;
      const target = old.to === undefined ? undefined : byName.get(old.to);
      if (target) set(target, value);
      notes.push(`--${typed}: ${old.answer}`);
      continue;
    }
    throw new FlagError(unknownFlagMessage(typed, specs, [...legacyByName.keys()]));
  }
  const values: FlagValues = {};
  for (const s of specs) {
    const given = raw.get(s.name);
    values[s.name] = given === undefined
      ? s.default
      : convert(s, s.type === "list" ? given : given[given.length - 1]);
  }
  return { values, positionals, help, given: new Set(raw.keys()), notes };
}

/** The legacy flags a command answers: not its own, and their target (if any) among its flags. */
function applicableLegacy(
  specs: readonly FlagSpec[],
  legacy: readonly LegacyFlag[],
): LegacyFlag[] {
  const known = new Set(specs.flatMap((s) => [s.name, ...(s.aliases ?? [])]));
  return legacy.filter((l) => {
    const needs = l.with ?? l.to;
    return !known.has(l.name) && (needs === undefined || known.has(needs));
  });
}

/** "unknown flag --hook_name; did you mean --hook?" */
export function unknownFlagMessage(
  typed: string,
  specs: readonly FlagSpec[],
  others: readonly string[] = [],
): string {
  const closest = closestName(snake(typed), [...specs.map((s) => s.name), ...others]);
  return `unknown flag --${typed}` + (closest ? `; did you mean --${closest}?` : "");
}

/**
 * The known name a mistyped one most likely meant: a known name the typed one starts with
 * (`hook_name` → `hook`), else the nearest by edit distance when it is close enough.
 */
function closestName(typed: string, known: readonly string[]): string | undefined {
  const prefix = known.filter((k) => typed.startsWith(k + "_") || k.startsWith(typed + "_"))
    .sort((a, b) => b.length - a.length)[0];
  if (prefix) return prefix;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(typed, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(
        Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)),
      );
    }
    prev = row;
  }
  return prev[b.length];
}

function convert(s: FlagSpec, v: string | string[]): FlagValue {
  const flag = `--${s.name}`;
  switch (s.type) {
    case "list": {
      const items = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(",")).filter((x) =>
        x !== ""
      );
      const bad = items.find((x) => s.choices && !s.choices.includes(x));
      if (bad !== undefined) {
        throw new FlagError(`${flag} takes items of ${s.choices!.join(", ")}; got "${bad}"`);
      }
      return items;
    }
    case "boolean": {
      const x = String(v).toLowerCase();
      if (["true", "1", "yes"].includes(x)) return true;
      if (["false", "0", "no"].includes(x)) return false;
      throw new FlagError(`${flag} expects true or false, got "${v}"`);
    }
    case "number":
    case "int": {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
        throw new FlagError(
          `${flag} expects ${s.type === "int" ? "an integer" : "a number"}, got "${v}"`,
        );
      }
      return n;
    }
    case "string": {
      const x = String(v);
      if (s.choices && !s.choices.includes(x)) {
        throw new FlagError(`${flag} must be one of ${s.choices.join(", ")}; got "${x}"`);
      }
      return x;
    }
  }
}

/** `--help` text: every flag with its other names, choices and default, then the earlier pipeline's flags. */
export function helpText(
  usage: string,
  specs: readonly FlagSpec[],
  legacy: readonly LegacyFlag[] = [],
): string {
  const lines = [usage, "", "Flags (snake_case or kebab-case; --no-<flag> turns a boolean off):"];
  for (const s of specs) {
    const def = s.default !== undefined
      ? ` (default: ${JSON.stringify(s.default)})`
      : s.defaultNote
      ? ` (default: ${s.defaultNote})`
      : "";
    const choices = s.choices ? ` [${s.choices.join("|")}]` : "";
    const aliases = s.aliases?.length ? ` (also --${s.aliases.join(", --")})` : "";
    lines.push(`  --${s.name.padEnd(28)} ${s.help}${choices}${def}${aliases}`);
  }
  const old = applicableLegacy(specs, legacy);
  if (old.length) {
    lines.push("", "Flags of the earlier Python pipeline, accepted:");
    for (const l of old) lines.push(`  --${l.name.padEnd(28)} ${l.answer}`);
  }
  return lines.join("\n");
}

/** Typed accessors that fail with the flag's name when a required value is missing. */
export function str(v: FlagValues, name: string): string {
  const x = v[name];
  if (typeof x !== "string" || x === "") throw new FlagError(`--${name} is required`);
  return x;
}
export function optStr(v: FlagValues, name: string): string | undefined {
  const x = v[name];
  return typeof x === "string" && x !== "" ? x : undefined;
}
export function num(v: FlagValues, name: string): number {
  const x = v[name];
  if (typeof x !== "number") throw new FlagError(`--${name} is required`);
  return x;
}
export function optNum(v: FlagValues, name: string): number | undefined {
  const x = v[name];
  return typeof x === "number" ? x : undefined;
}
export function bool(v: FlagValues, name: string): boolean {
  return v[name] === true;
}
export function list(v: FlagValues, name: string): string[] {
  const x = v[name];
  return Array.isArray(x) ? x : [];
}
