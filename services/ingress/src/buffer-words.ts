// Buffer words (ElevenLabs' "Buffer Words Optimization"): when a slow upstream has not produced its
// first token after a route's delay, the client hears a short filler such as "... " at once, so
// the voice agent does not go silent. Sent at most once, and never after a real token.
//
// Sending it also sends the SSE headers: from then on a failure can only end in-stream (or with the
// route's fallback sentence), which is the price of speaking early.
export interface BufferWordsOptions {
  /** 0: at once. */
  afterMs: number;
  /** Kept exactly, trailing space included. */
  text: string;
}

export interface BufferWordsTarget {
  /** True once a real token (or the end) was written: the filler is no longer wanted. */
  readonly hasOutput: boolean;
  writeBufferWords(deltaJson: string): void;
}

/** Arms the filler; returns a function that disarms it (call it on the first token and at the end). */
export function armBufferWords(target: BufferWordsTarget, options: BufferWordsOptions): () => void {
  const deltaJson = JSON.stringify({ content: options.text });
  const send = () => {
    if (!target.hasOutput) target.writeBufferWords(deltaJson);
  };
  if (options.afterMs === 0) {
    send();
    return () => {};
  }
  const timer = setTimeout(send, options.afterMs);
  return () => clearTimeout(timer);
}
