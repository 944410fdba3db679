// The package's own relative imports resolved as URLs, without Node's
// file-system checks: a `get` resolves ~75 of them, and the default
// resolver's realpath and path-to-URL work on each makes Node's path functions
// hot enough for V8 to start its optimising compiler: ~6 MiB of the peak and
// a few ms of a `get` (bench/results/cli-startup.md; docs/decisions.md, "CLI").

// Built-ins through getBuiltinModule, not ES imports: see arguments.ts.
const module = process.getBuiltinModule('node:module');

/** The package's compiled tree (dist/), the only place whose imports are taken as written. */
const OWN_TREE = new URL('../', import.meta.url).href;

/**
 * Installs the resolve hook for this process (Node 22.15+; earlier Nodes keep the default
 * resolver). A specifier `./x.js` or `../x.js` from a module of this package, naming a file of
 * it, becomes that file's URL; everything else (built-ins, dependencies) goes to Node's resolver.
 * Files inside dist/ are never symbolic links and the entry point's URL is already the real path,
 * so the URL is the one the default resolver would give.
 */
export function resolveOwnModulesDirectly(): void {
  if (typeof module.registerHooks !== 'function') return;
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if ((specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js') && context.parentURL?.startsWith(OWN_TREE) === true) {
        const url = new URL(specifier, context.parentURL).href;
        if (url.startsWith(OWN_TREE)) return { url, format: 'module', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
