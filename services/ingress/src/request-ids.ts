// Request ids: 12 random bytes as base64url (16 characters). They double as BullMQ job ids and
// Redis hash tags, so never digits only (BullMQ reserves those for its own ids).
//
// The bytes come from the CSPRNG a block at a time: one randomBytes call per id was 3 % of the
// ingress's CPU under the throughput benchmark (docs/performance.md), one per 256 ids is noise.
import { randomBytes } from "node:crypto";

const idBytes = 12;
const blockBytes = idBytes * 256;
let block = Buffer.alloc(0);
let offset = 0;

export function newRequestId(): string {
  for (;;) {
    if (offset + idBytes > block.length) {
      block = randomBytes(blockBytes);
      offset = 0;
    }
    const id = block.toString("base64url", offset, (offset += idBytes));
    if (!/^\d+$/.test(id)) return id;
  }
}
