// Request ids double as BullMQ job ids and as Redis hash tags: no ':' and never digits only.
export function isRequestId(value: string): boolean {
  return /^[A-Za-z0-9_-]{8,64}$/.test(value) && !/^\d+$/.test(value);
}

export function completionId(requestId: string): string {
  return `chatcmpl-${requestId}`;
}
