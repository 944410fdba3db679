#!/usr/bin/env bash
# Puts a Node.js >= 22.13 first on PATH. Sourced by .ci/run: when the system
# Node is older, Node 22 is installed from the npm registry (node-<os>-<arch>
# packages carry the official binaries) into a cache outside the clone.
# Sourced from an interactive shell it must never close that shell, so every
# failure returns a status; only a direct run (`bash .ci/node22.sh`) exits.

node22_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v; v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 13 ]; }
}

node22_provide() {
  node22_ok && return 0
  local os arch prefix pkg
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; return 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "unsupported arch $(uname -m)" >&2; return 1 ;; esac
  prefix="${CONFIG_SIDECAR_NODE_CACHE:-$HOME/.cache/config-sidecar/node22}"
  pkg="node-$os-$arch"
  if [ ! -x "$prefix/node_modules/$pkg/bin/node" ]; then
    echo "system node $(node --version 2>/dev/null || echo none) is older than 22.13; installing $pkg@22 from the npm registry" >&2
    mkdir -p "$prefix" || return 1
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$pkg@22" >&2 || return 1
  fi
  export PATH="$prefix/node_modules/$pkg/bin:$PATH"
  node22_ok || { echo "could not provide Node >= 22.13" >&2; return 1; }
}

node22_provide
node22_status=$?
unset -f node22_ok node22_provide
# `return` only works when sourced; a direct run falls through to `exit`.
return "$node22_status" 2>/dev/null || exit "$node22_status"
