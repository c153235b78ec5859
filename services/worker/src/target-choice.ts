// Which of a route's targets a request starts on, for a route whose health picks by latency: the
// power of two choices. Two targets are drawn at random among those whose breaker is not open, and
// the one with the lower shared first-token estimate goes first; the others follow in the route's
// order, as its fallbacks. Drawing two, not taking the fastest of all, keeps many workers reading
// the same estimates from all piling onto one target at once. A target never measured counts as
// fastest, so each target gets measured. A pure function: target-choice.test.ts covers it.

export interface TargetStanding {
  /** Its breaker is open: it is not drawn. */
  open: boolean;
  /** Its shared first-token estimate in ms; undefined before its first answer. */
  firstTokenMs: number | undefined;
}

/**
 * The targets in the order a request tries them: the chosen one first, then the others in the
 * route's order. random() gives numbers in [0, 1) (Math.random in the worker, fixed in tests).
 */
export function latencyFirst<T>(
  targets: readonly T[],
  standingOf: (target: T) => TargetStanding,
  random: () => number,
): T[] {
  const drawable = targets.map((_, index) => index).filter((index) => !standingOf(targets[index] as T).open);
  if (drawable.length < 2) return [...targets];
  const first = drawable.splice(Math.floor(random() * drawable.length), 1)[0] as number;
  const second = drawable[Math.floor(random() * drawable.length)] as number;
  const estimate = (index: number) => standingOf(targets[index] as T).firstTokenMs ?? 0;
  // Equal estimates: the one earlier in the route.
  const [low, high] = first < second ? [first, second] : [second, first];
  const chosen = estimate(high) < estimate(low) ? high : low;
  return [targets[chosen] as T, ...targets.filter((_, index) => index !== chosen)];
}
