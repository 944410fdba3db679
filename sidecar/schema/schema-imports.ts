// Where a schema module's `zod` and `config-sidecar` imports come from when
// nothing next to the module provides them: this installation of the sidecar.
// A global install (`npm i -g`, as the service units run it) has no
// node_modules above /etc/app/config.schema.mjs, so without this such a
// module cannot import zod or `config-sidecar/validators` at all.
// Only those two packages, and only when the module's own resolution fails:
// a project that has its own zod beside its schema keeps using it.
import module from 'node:module';

// Resolving from this file finds the installation's zod (its node_modules) and,
// by self-reference, the subpaths named in its package.json "exports".
const INSTALLATION_URL = import.meta.url;

/** `zod`, `config-sidecar` and their subpaths (`zod/mini`, `config-sidecar/validators`...). */
export function isInstallationSpecifier(specifier: string): boolean {
  return /^(?:zod|config-sidecar)(?:\/|$)/.test(specifier);
}

/** Node's "not found" for a bare specifier: ERR_MODULE_NOT_FOUND from import, MODULE_NOT_FOUND from require. */
export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * The error to throw when the installation could not resolve `specifier`
 * either: the importer's own when the package is missing from both, else the
 * installation's (the package is here but the subpath is not one it exports).
 */
export function fallbackFailure(own: unknown, fallback: unknown): unknown {
  return isNotFound(fallback) ? own : fallback;
}

/** The parent a failed resolution is retried from. */
export function fromInstallation<C extends { parentURL?: string | undefined }>(context: C): C {
  return { ...context, parentURL: INSTALLATION_URL };
}

const resolveSync: module.ResolveHookSync = (specifier, context, nextResolve) => {
  try {
    return nextResolve(specifier, context);
  } catch (own) {
    if (!isInstallationSpecifier(specifier) || !isNotFound(own)) throw own;
    try {
      return nextResolve(specifier, fromInstallation(context));
    } catch (fallback) {
      throw fallbackFailure(own, fallback);
    }
  }
};

let installed = false;

/**
 * Installs the fallback for every module loaded from now on (once per
 * process). Synchronous in-thread hooks (`module.registerHooks`, Node >= 22.15)
 * where Node has them; on 22.13 and 22.14 the same rule as asynchronous hooks
 * on Node's loader thread (`module.register`, schema-import-hooks.ts).
 */
export function installSchemaImportFallback(): void {
  if (installed) return;
  installed = true;
  if (typeof module.registerHooks === 'function') module.registerHooks({ resolve: resolveSync });
  else module.register('./schema-import-hooks.js', import.meta.url);
}
