/** Electrode lookup in the position bank: exact names, near matches for unknown ones. */
import assert from "node:assert/strict";
import {
  BCIC2A_CHANNELS,
  lookupPositions,
  nearMatches,
  UnknownChannelError,
} from "../compute/data/montage.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";

const BANK = JSON.parse(
  Deno.readTextFileSync(new URL("../data/reve_positions.json", import.meta.url)),
) as Record<string, number[]>;

Deno.test("montage: BCIC2a's 22 channels resolve to the bank's xyz in order", () => {
  const pos = lookupPositions([...BCIC2A_CHANNELS]);
  assert.equal(pos.length, 66);
  BCIC2A_CHANNELS.forEach((name, c) => {
    assert.deepEqual(Array.from(pos.subarray(c * 3, c * 3 + 3)), BANK[name].map(Math.fround));
  });
  // C3 is on the left (x < 0), C4 on the right, Cz on top.
  const x = (name: string) => pos[BCIC2A_CHANNELS.indexOf(name) * 3];
  assert.ok(x("C3") < 0 && x("C4") > 0 && Math.abs(x("Cz")) < 0.01);
});

Deno.test("montage: an unknown name is an error listing near matches", () => {
  const e = throwsWith(
    () => lookupPositions(["Cz", "EEG-C3"]),
    UnknownChannelError,
    `electrode "EEG-C3" is not in the position bank`,
  ) as UnknownChannelError;
  assert.equal(e.channel, "EEG-C3");
  assert.equal(e.nearMatches[0], "C3");
  // Other spellings of the name come first (the bank holds both Cz and CZ).
  assert.deepEqual(nearMatches("cZ", Object.keys(BANK)).slice(0, 2), ["CZ", "Cz"]);
  assert.deepEqual(nearMatches("Qwertyuiop", Object.keys(BANK)), []);
});
