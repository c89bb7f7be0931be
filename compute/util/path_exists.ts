/** Whether a path exists (any kind of entry); a permission error reads as absent too. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
