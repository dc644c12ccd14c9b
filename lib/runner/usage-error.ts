// The one error type that means "the user asked for something impossible": the CLI prints its
// message and the usage text and exits 2, never a stack trace.
export class UsageError extends Error {
  override name = 'UsageError';
}
