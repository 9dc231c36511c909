/** Response headers as a plain record, the form `CompletionResult` and `ProviderError` carry. */

/** Copies `headers` into a record with lower-cased names (empty when there are none). */
export function headersToRecord(headers: Headers | undefined | null): Record<string, string> {
  const record: Record<string, string> = {};
  headers?.forEach((value, name) => {
    record[name.toLowerCase()] = value;
  });
  return record;
}
