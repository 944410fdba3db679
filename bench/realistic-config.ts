// A large configuration shaped like a real one: named sections, each with
// many keys mixing URLs, labels, numbers and small nested objects (an
// upstream with host, port, TLS settings and tags). Sized by its pretty
// JSON text, which is what the sidecar writes on every commit.

/** The kinds of key a section holds, in rotation; index 1 is a number, index 2 a string. */
const KINDS = ['url', 'timeoutMs', 'label', 'retries', 'upstream'] as const;

export function sectionName(index: number): string {
  return `service${String(index).padStart(2, '0')}`;
}

export function keyName(entry: number): string {
  return `${KINDS[entry % KINDS.length]}${String(entry).padStart(4, '0')}`;
}

function valueFor(section: number, entry: number): unknown {
  switch (KINDS[entry % KINDS.length]) {
    case 'url':
      return `https://svc-${section}-${entry}.internal.example.com:8443/api/v2/resources/${entry}`;
    case 'timeoutMs':
      return 250 + ((section * 7919 + entry * 104729) % 9750);
    case 'label':
      return `Service ${section} entry ${entry}: routing policy for the ${entry % 3 === 0 ? 'primary' : 'secondary'} region`;
    case 'retries':
      return (section + entry) % 7;
    default:
      return {
        host: `10.${section}.${entry % 256}.${(entry * 13) % 256}`,
        port: 8000 + (entry % 1000),
        weight: (entry % 10) / 10,
        tls: { enabled: entry % 2 === 0, verify: true, serverName: `svc-${section}.example.com` },
        tags: ['prod', `zone-${entry % 4}`, `tier-${section % 3}`],
      };
  }
}

/**
 * Builds `sections` sections whose pretty JSON adds up to about `targetBytes`.
 * Returns them in order; the document is `{[sectionName(i)]: sections[i]}`.
 */
export function buildSections(sections: number, targetBytes: number): Record<string, unknown>[] {
  const perSection = targetBytes / sections;
  const out: Record<string, unknown>[] = [];
  for (let s = 0; s < sections; s++) {
    const section: Record<string, unknown> = {};
    // Each entry sits two levels deep in the file: 4 spaces of indent on each of its lines.
    let bytes = 0;
    for (let entry = 0; bytes < perSection; entry++) {
      const key = keyName(entry);
      const value = valueFor(s, entry);
      const text = JSON.stringify(value, null, 2);
      const lines = text.split('\n').length;
      bytes += key.length + 4 + 4 + text.length + lines * 4;
      section[key] = value;
    }
    out.push(section);
  }
  return out;
}
