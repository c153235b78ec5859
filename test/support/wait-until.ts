// For states that announce no event (a Redis key filled, a file written): poll a condition with a
// deadline instead of sleeping a fixed time.
/** Poll a condition until it holds, or fail after timeoutMs (for states that announce no event). */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  message: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${message} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
