/**
 * Command-line flags shared by every `deno task`: snake_case (the seed's names) and kebab-case
 * spellings, `--flag value` and `--flag=value`, typed values, and `--help` generated from the spec.
 */
import { parseArgs } from "node:util";
import { EegSaeError } from "../util/errors.ts";

export class FlagError extends EegSaeError {}

export type FlagType = "string" | "number" | "int" | "boolean" | "list";

export interface FlagSpec {
  /** snake_case name; the kebab-case spelling is accepted too. */
  name: string;
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Allowed values for string flags. */
  choices?: readonly string[];
}

export type FlagValue = string | number | boolean | string[] | undefined;
export type FlagValues = Record<string, FlagValue>;

export interface ParsedFlags {
  values: FlagValues;
  positionals: string[];
  help: boolean;
}

const kebab = (s: string) => s.replaceAll("_", "-");

/** Parses argv against the spec. Booleans take an optional true/false/1/0/yes/no value. */
export function parseFlags(args: string[], specs: readonly FlagSpec[]): ParsedFlags {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
  };
  for (const s of specs) {
    options[s.name] = { type: "string", multiple: s.type === "list" };
    if (kebab(s.name) !== s.name) options[kebab(s.name)] = options[s.name];
  }
  // Booleans given bare (`--use_ghost_grads`) become "true" so every flag parses as a string.
  const boolNames = new Set(
    specs.filter((s) => s.type === "boolean").flatMap((s) => [s.name, kebab(s.name)]),
  );
  const valueNames = new Set(
    specs.filter((s) => s.type !== "boolean").flatMap((s) => [s.name, kebab(s.name)]),
  );
  const normalised: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith("--") && !a.includes("=") ? a.slice(2) : "";
    // `--block_layer -2` (the seed's spelling): a negative number is the value, not a flag.
    if (valueNames.has(name) && /^-\d|^-\.\d/.test(args[i + 1] ?? "")) {
      normalised.push(`${a}=${args[++i]}`);
      continue;
    }
    normalised.push(a);
    if (boolNames.has(name)) {
      const next = args[i + 1];
      if (next === undefined || !/^(true|false|1|0|yes|no)$/i.test(next)) normalised.push("true");
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: normalised, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  const values: FlagValues = {};
  const raw = parsed.values as Record<string, string | string[] | boolean | undefined>;
  for (const s of specs) {
    const given = raw[s.name] ?? raw[kebab(s.name)];
    values[s.name] = given === undefined ? s.default : convert(s, given as string | string[]);
  }
  return { values, positionals: parsed.positionals, help: raw.help === true };
}

function convert(s: FlagSpec, v: string | string[]): FlagValue {
  const flag = `--${s.name}`;
  switch (s.type) {
    case "list":
      return (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(",")).filter((x) => x !== "");
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

/** `--help` text: every flag with its default. */
export function helpText(usage: string, specs: readonly FlagSpec[]): string {
  const lines = [usage, "", "Flags (snake_case or kebab-case):"];
  for (const s of specs) {
    const def = s.default === undefined ? "" : ` (default: ${JSON.stringify(s.default)})`;
    const choices = s.choices ? ` [${s.choices.join("|")}]` : "";
    lines.push(`  --${s.name.padEnd(28)} ${s.help}${choices}${def}`);
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
