// VALIDATION_FAILED's payload: each problem's dot path and message, the same
// from the sidecar (whole document) and from a typed client (one value).
import { formatPath } from './paths.js';

/** One problem a schema found. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** zod issues as the protocol carries them, with paths from the document root. */
export function toValidationIssues(at: readonly string[], issues: readonly { path: readonly PropertyKey[]; message: string }[]): ValidationIssue[] {
  return issues.map((issue) => ({ path: formatPath([...at, ...issue.path.map(String)]), message: issue.message }));
}

/** "invalid value: server.port: Too small…" / "2 problems: a: …; b: …". */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  const listed = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
  return `${issues.length === 1 ? 'invalid value' : `${issues.length} problems`}: ${listed}`;
}
