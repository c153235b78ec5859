// The tests' one chat request body: the mock upstream's model and one user message, with whatever
// a test adds or replaces (stream, the mock's per-request `mock` options, tools, …).
export function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "mock-model", messages: [{ role: "user", content: "Hello" }], ...overrides };
}
