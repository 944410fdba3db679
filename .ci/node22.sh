#!/usr/bin/env bash
# Puts a Node.js >= 22.13 first on PATH. Sourced by .ci/run: when the system
# Node is older, Node 22 is installed from the npm registry (node-<os>-<arch>
# packages carry the official binaries) into a cache outside the clone.
need_major=22
need_minor=13
node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v; v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  [ "$major" -gt "$need_major" ] || { [ "$major" -eq "$need_major" ] && [ "$minor" -ge "$need_minor" ]; }
}
if ! node_ok; then
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; exit 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "unsupported arch $(uname -m)" >&2; exit 1 ;; esac
  prefix="${CONFIG_SIDECAR_NODE_CACHE:-$HOME/.cache/config-sidecar/node22}"
  pkg="node-$os-$arch"
  if [ ! -x "$prefix/node_modules/$pkg/bin/node" ]; then
    echo "system node $(node --version 2>/dev/null || echo none) is older than 22.13; installing $pkg@22 from the npm registry" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$pkg@22" >&2 || exit 1
  fi
  export PATH="$prefix/node_modules/$pkg/bin:$PATH"
  node_ok || { echo "could not provide Node >= 22.13" >&2; exit 1; }
fi
