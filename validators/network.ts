// Where to listen or connect: a TCP port, a URL with an allowed scheme.
import { z } from 'zod';

/** An integer TCP/UDP port, 1–65535 (0, "any free port", only when allowed). */
export function port(options: { allowZero?: boolean } = {}) {
  const min = options.allowZero ? 0 : 1;
  return z.number().superRefine((value, ctx) => {
    if (!Number.isInteger(value) || value < min || value > 65535) {
      ctx.addIssue({ code: 'custom', message: `${value} is not a port: expected an integer from ${min} to 65535`, input: value });
    }
  });
}

/** An absolute URL whose scheme is one of `protocols` (default http and https). */
export function url(options: { protocols?: readonly string[] } = {}) {
  const protocols = options.protocols ?? ['http', 'https'];
  return z.string().superRefine((value, ctx) => {
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
  });
}
