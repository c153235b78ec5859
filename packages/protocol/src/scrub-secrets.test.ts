// The scrubber removes what is shaped like a credential and keeps the rest readable.
import { describe, expect, it } from "vitest";
import { elideQuoted, maxUpstreamDetailLength, redactUrl, scrubSecrets } from "./scrub-secrets.ts";

describe("scrubSecrets", () => {
  it.each([
    ["Incorrect API key provided: sk-proj-abcdefghijklmnop1234.", "sk-proj-abcdefghijklmnop1234"],
    ["callback to https://admin:hunter2@10.0.0.7:8443/hook failed", "admin:hunter2"],
    ["header Authorization: Bearer abc.def.ghi was refused", "abc.def.ghi"],
    ["retry with api_key=AbCdEf0123 later", "AbCdEf0123"],
    ['{"token": "plainwords"}', "plainwords"],
    ["org org-9f8e7d6c5b4a39281706aabbccdd is over quota", "9f8e7d6c5b4a39281706aabbccdd"],
    ["aws AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE"],
    ["groq gsk_0123456789abcdefABCDEF", "gsk_0123456789abcdefABCDEF"],
  ])("removes the secret from %j", (text, secret) => {
    const scrubbed = scrubSecrets(text);
    expect(scrubbed).not.toContain(secret);
    expect(scrubbed).toContain("[redacted]");
  });

  it("keeps an ordinary message as it is", () => {
    const text = "This model's maximum context length is 8192 tokens; your messages resulted in 9000 tokens.";
    expect(scrubSecrets(text)).toBe(text);
  });

  it("cuts long text", () => {
    expect(scrubSecrets("word ".repeat(10_000)).length).toBeLessThanOrEqual(maxUpstreamDetailLength + 1);
  });
});

describe("elideQuoted", () => {
  it("elides every quoted passage", () => {
    expect(elideQuoted(`cannot handle "my secret prompt" or 'another' or \`third\``)).toBe(
      `cannot handle "…" or '…' or \`…\``,
    );
  });
});

describe("redactUrl", () => {
  it.each([
    ["rediss://user:secret@cache.example:6380/0", "rediss://***@cache.example:6380/0"],
    ["redis://:secret@127.0.0.1:6379", "redis://***@127.0.0.1:6379"],
    ["redis://user:se/cr@et@cache.example:6379", "redis://***@cache.example:6379"],
    ["redis:/user:secret@cache.example", "redis:/***@cache.example"],
    ["my_user:secret@cache.example:6379", "***@cache.example:6379"],
    ["redis://cache.example:6379/0?password=secret&db=1", "redis://cache.example:6379/0?password=***&db=1"],
  ])("hides the credentials of %j", (url, redactedUrl) => {
    expect(redactUrl(url)).toBe(redactedUrl);
    expect(redactUrl(url)).not.toContain("secret");
  });

  it("keeps a URL without credentials as it is", () => {
    for (const url of ["redis://127.0.0.1:6379", "http://localhost:4318/v1/traces", "not a url"])
      expect(redactUrl(url)).toBe(url);
  });
});
