// Bytes to text: a cut message ends on a whole character, and invalid UTF-8
// is decoded as U+FFFD and counted rather than refused (a device with a
// broken charset still needs to be heard).

import { isUtf8 } from 'node:buffer';

const REPLACEMENT = '\uFFFD';
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT, 'utf8');

/**
 * The length of `bytes` without a UTF-8 sequence cut short at its end, so
 * that a truncated message ends on a whole character instead of a
 * replacement character that was never in the input.
 */
export function wholeCharacterLength(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= 4 && back <= end; back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const needed = byte < 0x80 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return back < needed ? end - back : end;
  }
  return end; // no lead byte in the last four: invalid anyway, decoded as such
}

export interface DecodedText {
  text: string;
  invalidSequences: number;
}

/** UTF-8 decoding that never throws: invalid sequences become U+FFFD and are counted. */
export function decodeUtf8(bytes: Buffer): DecodedText {
  const text = bytes.toString('utf8');
  if (isUtf8(bytes)) return { text, invalidSequences: 0 };
  return { text, invalidSequences: countOccurrences(text, REPLACEMENT) - countBytes(bytes, REPLACEMENT_BYTES) };
}

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

/** U+FFFD already present in the input (encoded correctly) is not an error. */
function countBytes(haystack: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) count++;
  return count;
}
