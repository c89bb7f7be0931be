/**
 * Peak resident memory of one stage of work run in this process, with the processes it starts
 * (the site's Astro build runs in a child Deno). On Linux the process's own peak is exact: writing
 * "5" to /proc/self/clear_refs resets VmHWM, which the kernel then keeps up to date. Children are
 * sampled (their VmRSS summed over the process tree every `intervalMs`). Elsewhere the stage's own
 * `Deno.memoryUsage().rss` is sampled instead; `method` says which was used. On a software adapter
 * the GPU's buffers are host memory, so they count here.
 */

export interface StagePeakMemory {
  /** This process's RSS when the stage began (what earlier work left resident is in every peak). */
  start_rss_bytes: number;
  /** This process's peak plus the largest sampled sum of its descendants' RSS. */
  peak_rss_bytes: number;
  self_peak_bytes: number;
  children_peak_bytes: number;
  method: string;
}

const KB = 1024;

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** A `VmHWM:`/`VmRSS:` line of /proc/PID/status in bytes, or null. */
export function statusBytes(status: string, field: "VmHWM" | "VmRSS"): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  return m ? Number(m[1]) * KB : null;
}

/** Pids of every descendant of `pid` (from /proc/PID/task/TID/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    let tasks: string[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${p}/task`)].map((e) => e.name);
    } catch {
      continue; // exited
    }
    for (const t of tasks) {
      for (const c of (readText(`/proc/${p}/task/${t}/children`) ?? "").split(/\s+/)) {
        if (c) {
          out.push(Number(c));
          stack.push(Number(c));
        }
      }
    }
  }
  return out;
}

function childrenRss(): number {
  let sum = 0;
  for (const pid of descendants(Deno.pid)) {
    const status = readText(`/proc/${pid}/status`);
    sum += status ? statusBytes(status, "VmRSS") ?? 0 : 0;
  }
  return sum;
}

function resetOwnPeak(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return statusBytes(readText("/proc/self/status") ?? "", "VmHWM") !== null;
  } catch {
    return false;
  }
}

/** Runs `work` and returns its result with the peak memory while it ran. */
export async function measureStageMemory<T>(
  work: () => Promise<T>,
  intervalMs = 100,
): Promise<{ result: T; memory: StagePeakMemory }> {
  const start = Deno.memoryUsage().rss;
  const exact = resetOwnPeak();
  let selfPeak = start;
  let childPeak = 0;
  const sample = () => {
    if (!exact) selfPeak = Math.max(selfPeak, Deno.memoryUsage().rss);
    if (exact) childPeak = Math.max(childPeak, childrenRss());
  };
  const timer = setInterval(sample, intervalMs);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
  }
  sample();
  if (exact) selfPeak = statusBytes(readText("/proc/self/status") ?? "", "VmHWM") ?? selfPeak;
  return {
    result,
    memory: {
      start_rss_bytes: start,
      peak_rss_bytes: selfPeak + childPeak,
      self_peak_bytes: selfPeak,
      children_peak_bytes: childPeak,
      method: exact
        ? `this process: VmHWM after resetting it (/proc/self/clear_refs); child processes: ` +
          `sum of VmRSS sampled every ${intervalMs} ms`
        : `Deno.memoryUsage().rss sampled every ${intervalMs} ms (child processes not counted)`,
    },
  };
}
