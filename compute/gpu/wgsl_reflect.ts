/**
 * What a compute entry point of a WGSL module needs from the device, read from its source: the
 * `@group(0) @binding(n)` variables it statically uses (as WebGPU's "auto" layout counts them),
 * its workgroup size and its workgroup memory. Parsed once per compiled shader text, so kernels
 * bind buffers by name and the runtime checks limits before compiling.
 */

import { EegSaeError } from "../util/errors.ts";

export class WgslReflectError extends EegSaeError {}

export type BindingKind = "uniform" | "storage-read" | "storage-read-write" | "texture";

/** One `@group(0) @binding(n) var<...> name: type;` declaration. */
export interface BindingDecl {
  name: string;
  binding: number;
  kind: BindingKind;
  /** The declared type, e.g. "array<f32>", "SaeParams", "texture_2d<f32>". */
  type: string;
  /** Scalar element type of a storage array ("f32", "u32", "i32"), else undefined. */
  scalar?: "f32" | "u32" | "i32";
}

export interface StructField {
  name: string;
  type: string;
}

export interface EntryReflection {
  entryPoint: string;
  /** Bindings of group 0 the entry point statically uses, in binding order. */
  bindings: BindingDecl[];
  workgroupSize: [number, number, number];
  /** Bytes of `var<workgroup>` memory the entry point statically uses. */
  workgroupBytes: number;
}

export interface ModuleReflection {
  /** Every binding declaration (several may share a number when entry points alias a slot). */
  declarations: BindingDecl[];
  structs: Map<string, StructField[]>;
  entry(name: string): EntryReflection;
}

interface FnInfo {
  name: string;
  attributes: string;
  /** Identifiers of the body less the names declared inside the function. */
  uses: Set<string>;
}

/** Removes `//` and `/* *\/` comments, keeping line structure. */
function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, "");
}

function matchingBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return i;
  }
  throw new WgslReflectError(`unbalanced braces from offset ${open}`);
}

// Identifiers, less member accesses and swizzles (`gid.x`).
const IDENT = /(?<![.\w])[A-Za-z_]\w*/g;

/** Splits the module into functions and the module-scope text between them. */
function parseFunctions(code: string): { fns: Map<string, FnInfo>; moduleScope: string } {
  const fns = new Map<string, FnInfo>();
  let moduleScope = "";
  let last = 0;
  const fnRe = /\bfn\s+([A-Za-z_]\w*)\s*\(/g;
  for (let m = fnRe.exec(code); m; m = fnRe.exec(code)) {
    const open = code.indexOf("{", m.index);
    const close = matchingBrace(code, open);
    const before = code.slice(last, m.index);
    // Attributes (@compute @workgroup_size(...)) sit between the previous item and `fn`.
    const boundary = Math.max(before.lastIndexOf(";"), before.lastIndexOf("}"));
    const attributes = before.slice(boundary + 1);
    moduleScope += before.slice(0, boundary + 1);
    const signature = code.slice(m.index + m[0].length, open);
    const body = code.slice(open, close + 1);
    const locals = new Set<string>();
    for (const p of signature.matchAll(/([A-Za-z_]\w*)\s*:/g)) locals.add(p[1]);
    for (const d of body.matchAll(/\b(?:let|var|const)\s+([A-Za-z_]\w*)/g)) locals.add(d[1]);
    const uses = new Set<string>();
    for (const id of body.matchAll(IDENT)) if (!locals.has(id[0])) uses.add(id[0]);
    fns.set(m[1], { name: m[1], attributes, uses });
    last = close + 1;
    fnRe.lastIndex = last;
  }
  moduleScope += code.slice(last);
  return { fns, moduleScope };
}

function scalarOf(type: string): BindingDecl["scalar"] {
  const m = /^array<\s*(?:atomic<\s*)?(?:vec[234]<\s*)?(f32|u32|i32)/.exec(type);
  return m ? m[1] as BindingDecl["scalar"] : undefined;
}

function parseBindings(scope: string): BindingDecl[] {
  const out: BindingDecl[] = [];
  const re =
    /@group\(\s*(\d+)\s*\)\s*@binding\(\s*(\d+)\s*\)\s*var(?:<\s*([\w\s,]+)>)?\s+([A-Za-z_]\w*)\s*:\s*([^;]+);/g;
  for (const m of scope.matchAll(re)) {
    if (m[1] !== "0") throw new WgslReflectError(`binding ${m[4]}: only @group(0) is supported`);
    const space = (m[3] ?? "").split(",").map((s) => s.trim());
    const type = m[5].replace(/\s+/g, "");
    let kind: BindingKind;
    if (space[0] === "uniform") kind = "uniform";
    else if (space[0] === "storage") {
      kind = space[1] === "read_write" ? "storage-read-write" : "storage-read";
    } else if (type.startsWith("texture_")) kind = "texture";
    else throw new WgslReflectError(`binding ${m[4]}: unsupported declaration var<${m[3]}>`);
    out.push({ name: m[4], binding: Number(m[2]), kind, type, scalar: scalarOf(type) });
  }
  return out;
}

function parseStructs(scope: string): Map<string, StructField[]> {
  const structs = new Map<string, StructField[]>();
  for (const m of scope.matchAll(/\bstruct\s+([A-Za-z_]\w*)\s*\{([^}]*)\}/g)) {
    const fields: StructField[] = [];
    for (const f of m[2].split(",")) {
      const fm = /^\s*([A-Za-z_]\w*)\s*:\s*(.+?)\s*$/.exec(f);
      if (fm) fields.push({ name: fm[1], type: fm[2].replace(/\s+/g, "") });
    }
    structs.set(m[1], fields);
  }
  return structs;
}

/** Module-scope `const` expressions by name. */
function parseConstants(scope: string): Map<string, string> {
  const consts = new Map<string, string>();
  for (const m of scope.matchAll(/\bconst\s+([A-Za-z_]\w*)\s*(?::\s*\w+)?\s*=\s*([^;]+);/g)) {
    consts.set(m[1], m[2]);
  }
  return consts;
}

/** Evaluates an integer constant expression: literals, constants, + - * / %, min, max, parens. */
function evalConstExpr(
  expr: string,
  consts: ReadonlyMap<string, string>,
  depth = 0,
): number {
  if (depth > 32) throw new WgslReflectError(`constant expression nests too deep: ${expr}`);
  const tokens =
    expr.match(/0[xX][0-9a-fA-F]+[ui]?|\d+(?:\.\d+)?[uif]?|[A-Za-z_]\w*|[-+*/%(),]/g) ??
      [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const primary = (): number => {
    const t = next();
    if (t === undefined) throw new WgslReflectError(`incomplete constant expression: ${expr}`);
    if (t === "(") {
      const v = sum();
      next();
      return v;
    }
    if (t === "-") return -primary();
    if (/^[0-9]/.test(t)) return Number(t.replace(/[uif]$/, ""));
    if (t === "min" || t === "max") {
      next();
      const a = sum();
      next();
      const b = sum();
      next();
      return t === "min" ? Math.min(a, b) : Math.max(a, b);
    }
    const def = consts.get(t);
    if (def === undefined) throw new WgslReflectError(`constant ${t} has no value (in ${expr})`);
    return evalConstExpr(def, consts, depth + 1);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = next();
      const r = primary();
      v = op === "*" ? v * r : op === "/" ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") v = next() === "+" ? v + product() : v - product();
    return v;
  };
  return sum();
}

/** Size and alignment in bytes of a host-shareable WGSL type (scalars, vectors, fixed arrays). */
function typeLayout(type: string, consts: ReadonlyMap<string, string>): {
  size: number;
  align: number;
} {
  const t = type.replace(/\s+/g, "");
  if (/^(f32|u32|i32|atomic<(u32|i32)>)$/.test(t)) return { size: 4, align: 4 };
  const vec = /^vec([234])<(f32|u32|i32)>$/.exec(t);
  if (vec) {
    const n = Number(vec[1]);
    return { size: 4 * n, align: n === 2 ? 8 : 16 };
  }
  const arr = /^array<(.+),([^,<>]+|[^,]*\([^)]*\)[^,]*)>$/.exec(t);
  if (arr) {
    const el = typeLayout(arr[1], consts);
    const stride = Math.ceil(el.size / el.align) * el.align;
    return { size: stride * evalConstExpr(arr[2], consts), align: el.align };
  }
  throw new WgslReflectError(`cannot size workgroup type ${type}`);
}

const cache = new Map<string, ModuleReflection>();

/** Reflection of a complete WGSL module (header included), cached by its text. */
export function reflectModule(code: string): ModuleReflection {
  const hit = cache.get(code);
  if (hit) return hit;
  const clean = stripComments(code);
  const { fns, moduleScope } = parseFunctions(clean);
  const declarations = parseBindings(moduleScope);
  const structs = parseStructs(moduleScope);
  const consts = parseConstants(moduleScope);
  const workgroupVars = new Map<string, string>();
  for (const m of moduleScope.matchAll(/\bvar<\s*workgroup\s*>\s+([A-Za-z_]\w*)\s*:\s*([^;]+);/g)) {
    workgroupVars.set(m[1], m[2]);
  }
  const byName = new Map(declarations.map((d) => [d.name, d]));
  const entries = new Map<
    string,
    Omit<EntryReflection, "workgroupSize" | "workgroupBytes"> & {
      sizeExprs: string[];
      workgroupVars: string[];
    }
  >();
  for (const fn of fns.values()) {
    const size = /@workgroup_size\(([^)]*(?:\([^)]*\)[^)]*)*)\)/.exec(fn.attributes);
    if (!/@compute\b/.test(fn.attributes) || !size) continue;
    const used = new Set<string>();
    const seen = new Set<string>();
    const visit = (f: FnInfo) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      for (const id of f.uses) {
        const callee = fns.get(id);
        if (callee) visit(callee);
        else if (byName.has(id) || workgroupVars.has(id)) used.add(id);
      }
    };
    visit(fn);
    entries.set(fn.name, {
      entryPoint: fn.name,
      bindings: declarations.filter((d) => used.has(d.name)).sort((a, b) => a.binding - b.binding),
      sizeExprs: splitTopLevel(size[1]),
      workgroupVars: [...workgroupVars.keys()].filter((v) => used.has(v)),
    });
  }
  const evaluated = new Map<string, EntryReflection>();
  const reflection: ModuleReflection = {
    declarations,
    structs,
    entry(name: string): EntryReflection {
      const e = entries.get(name);
      if (!e) {
        throw new WgslReflectError(
          `no @compute entry point ${name} (has ${[...entries.keys()].join(", ") || "none"})`,
        );
      }
      let r = evaluated.get(name);
      if (!r) {
        const dims = e.sizeExprs.map((s) => evalConstExpr(s, consts));
        const workgroupBytes = e.workgroupVars.reduce(
          (sum, v) => sum + typeLayout(workgroupVars.get(v)!, consts).size,
          0,
        );
        r = {
          entryPoint: name,
          bindings: e.bindings,
          workgroupSize: [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1],
          workgroupBytes,
        };
        evaluated.set(name, r);
      }
      return r;
    },
  };
  cache.set(code, reflection);
  return reflection;
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}
