#!/usr/bin/env bash
# Build-time bundling of resources the appliance serves offline.
#   iPXE binaries from Debian's `ipxe` package → .cache/resources/ipxe/ (+ manifest.json with sha256, size,
#   source path). That folder is the TFTP root and what HTTP serves under /ipxe/*.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${RACKSEED_IPXE_DIR:-.cache/resources/ipxe}"
node --import tsx -e "
  const { bundleIpxeResources } = await import('./netboot/http/resources.ts');
  const m = await bundleIpxeResources(process.argv[1]);
  for (const f of m.files) console.log('bundled', f.name, f.size, f.sha256.slice(0, 16), 'from', f.source);
" "$dest"
