// One upstream call of a job, read in two phases. Until its first useful chunk nothing of it is
// relayed, so a hedged call can race it and the loser is closed without the client hearing a
// byte of it; after that the handler relays the chunks read so far (`head`) and the rest.
import type { ChunkDelta } from "@switchboard/protocol";
import type { Provider, UpstreamChunk } from "@switchboard/providers";
import type { UpstreamCallTelemetry } from "./job-telemetry.ts";
import { timedUpstream, type TimedUpstreamOptions } from "./timed-upstream.ts";

/**
 * Does this delta answer? Text, a refusal or a tool call. Reasoning is not (a voice agent does not
 * speak it), nor are the role-only, empty, keep-alive and usage-only chunks the provider drops.
 */
export function isUseful(delta: ChunkDelta | undefined): boolean {
  if (!delta) return false;
  return Boolean(delta.content) || Boolean(delta.refusal) || (delta.tool_calls?.length ?? 0) > 0;
}

/** How the first phase ended: a useful chunk, or the stream's end without one (an empty answer). */
export type FirstChunk = "useful" | "ended";

export interface UpstreamAttemptOptions extends Omit<TimedUpstreamOptions, "signal"> {
  /** The job's stop signal: aborts this call too. */
  signal: AbortSignal;
  provider: Provider;
  call: UpstreamCallTelemetry;
  /** Its routing-table key and model, e.g. for first-token samples. */
  targetKey: string;
  providerKey: string;
  targetIndex: number;
  retry: number;
  hedge: boolean;
}

export class UpstreamAttempt {
  readonly options: UpstreamAttemptOptions;
  readonly startedAt = performance.now();
  /** Chunks read in the first phase, the useful one last; relayed by the winner. */
  readonly head: UpstreamChunk[] = [];
  private readonly controller = new AbortController();
  private readonly iterator: AsyncIterator<UpstreamChunk>;
  private readonly forward: () => void;

  constructor(options: UpstreamAttemptOptions) {
    this.options = options;
    this.forward = () => this.controller.abort(options.signal.reason);
    if (options.signal.aborted) this.forward();
    else options.signal.addEventListener("abort", this.forward, { once: true });
    this.iterator = timedUpstream({ ...options, signal: this.controller.signal })[Symbol.asyncIterator]();
  }

  get call(): UpstreamCallTelemetry {
    return this.options.call;
  }

  get providerName(): string {
    return this.options.provider.name;
  }

  get providerKey(): string {
    return this.options.providerKey;
  }

  get targetKey(): string {
    return this.options.targetKey;
  }

  get targetIndex(): number {
    return this.options.targetIndex;
  }

  get retry(): number {
    return this.options.retry;
  }

  get hedge(): boolean {
    return this.options.hedge;
  }

  /** Read until the first useful chunk or the end; rejects with the call's failure. */
  async first(): Promise<FirstChunk> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return "ended";
      this.head.push(next.value);
      if (isUseful(next.value.delta)) return "useful";
    }
  }

  /** The chunks after the head. */
  async *rest(): AsyncGenerator<UpstreamChunk> {
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }

  /** Close this call alone (its upstream socket with it): it lost a hedge race. */
  abort(reason: string): void {
    this.controller.abort(reason);
    this.release();
  }

  /** Stop following the job's stop signal, once the call is over. */
  release(): void {
    this.options.signal.removeEventListener("abort", this.forward);
  }
}
