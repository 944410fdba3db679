// Where to listen or connect: a TCP port, a URL with an allowed scheme.
import { z } from 'zod';

/**
 * An integer TCP/UDP port, 1–65535 (0, "any free port", only when allowed).
 * Built from zod's own checks, so the JSON Schema says `integer`, `minimum`
 * and `maximum` too; every failed check gives the same message.
 */
export function port(options: { allowZero?: boolean } = {}) {
  const min = options.allowZero ? 0 : 1;
  const error = (issue: { input?: unknown }) => `${String(issue.input)} is not a port: expected an integer from ${min} to 65535`;
  // abort: a non-integer below the range (-1.5) gets one message, not two.
  return z.number().int({ error, abort: true }).min(min, { error }).max(65535, { error });
}

/**
 * An absolute URL whose scheme is one of `protocols` (default http and https).
 * Described, not given a JSON Schema `format: uri`: the WHATWG parser used
 * here accepts strings RFC 3986 refuses (a space in a path), so an editor
 * would flag values the sidecar takes.
 */
export function url(options: { protocols?: readonly string[] } = {}) {
  const protocols = options.protocols ?? ['http', 'https'];
  return z
    .string()
    .superRefine((value, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(value);
      } catch {
        // URL's own error says only "Invalid URL": the message below says more.
        ctx.addIssue({ code: 'custom', message: `"${value}" is not an absolute URL`, input: value });
        return;
      }
      const scheme = parsed.protocol.replace(/:$/, '');
      if (!protocols.includes(scheme)) ctx.addIssue({ code: 'custom', message: `"${value}" uses ${scheme}:, not one of ${protocols.join(', ')}`, input: value });
    })
    .meta({ description: `an absolute URL (${protocols.map((scheme) => `${scheme}:`).join(', ')})` });
}
