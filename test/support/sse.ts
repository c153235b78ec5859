// Reads a raw SSE response the way a strict client would, keeping every event for inspection.
export interface SseEvent {
  data: string;
  json?: Record<string, unknown>;
}

export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      return data === "[DONE]" ? { data } : { data, json: JSON.parse(data) as Record<string, unknown> };
    });
}

export function chatBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "mock-model", messages: [{ role: "user", content: "Hello" }], ...overrides };
}
