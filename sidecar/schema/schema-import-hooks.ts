// The asynchronous resolve hook that module.register loads on Node's loader
// thread where `module.registerHooks` is missing (Node 22.13 and 22.14): the
// same rule as schema-imports.ts, which says why.
import type { ResolveHook } from 'node:module';
import { fallbackFailure, fromInstallation, isInstallationSpecifier, isNotFound } from './schema-imports.js';

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (own) {
    if (!isInstallationSpecifier(specifier) || !isNotFound(own)) throw own;
    try {
      return await nextResolve(specifier, fromInstallation(context));
    } catch (fallback) {
      throw fallbackFailure(own, fallback);
    }
  }
};
