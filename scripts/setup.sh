#!/usr/bin/env bash
# Installs everything RackSeed needs on a fresh Debian/Ubuntu machine (run as root), idempotently.
#   scripts/setup.sh lab    — packages for the virtual rack + npm deps + UI + iPXE bundle + ramdisk (`npm run setup`)
#   scripts/setup.sh test   — the same plus the reference peers the tests talk to
#   scripts/setup.sh bench  — the same plus the reference servers the benchmarks compare against
# Services shipped by Debian packages (tftpd-hpa, kea, nginx, ironic) are never started by the install:
# a policy-rc.d refuses them, so nothing answers on the root namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-lab}"
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
# runs as root: no tsx compile cache in the shared /tmp (docs/SECURITY.md)
export TSX_DISABLE_CACHE=1

lab_pkgs=(qemu-system-x86 qemu-utils ipxe-qemu ipxe ovmf openipmi ipmitool iproute2 tcpdump cpio kmod
  busybox-static radvd dnsmasq-base procps curl openssl  # openssl: the lab Redfish BMCs' self-signed certificates
  gcc  # the ramdisk's rackseed-zero helper (agent/ramdisk/rackseed-zero.c, freestanding: no libc headers needed)
  xz-utils fdisk dosfstools mtools  # image library: xz -dc on import; sfdisk, mkfs.vfat, mmd/mcopy build its test images
  # lab images (lab/images): syslinux + GRUB boot code, mke2fs -d, debootstrap (lab-debian), genisoimage (config drives)
  debootstrap syslinux syslinux-common grub-pc-bin grub-efi-amd64-bin grub-common e2fsprogs genisoimage)
# ironic-*/python3-ironic*/python3-openstackclient: a real OpenStack Ironic (21.4) for the hand-off tests, run by the tests
# themselves (test/helpers/ironic.ts; the policy-rc.d below keeps Debian from starting it); ansible-core: ansible-inventory
# python3-sushy (the Redfish library Ironic uses) and redfishtool: conformance clients of the lab's Redfish BMC
test_pkgs=(udhcpc isc-dhcp-client dhcpcd-base tftp-hpa atftp chromium freeipmi-tools python3-pyghmi python3-sushy redfishtool
  ironic-api ironic-conductor python3-ironic python3-ironicclient python3-openstackclient ansible-core)
bench_pkgs=(kea-dhcp4-server tftpd-hpa nginx-light)
pkgs=("${lab_pkgs[@]}")
case "$what" in
  test) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "rackseed setup: missing Debian packages: ${missing[*]}" >&2
    echo "rackseed setup: run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "rackseed setup: installing ${missing[*]}"
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  if [ $had_policy = 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; fi
  trap '[ $had_policy = 0 ] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || apt-get update
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Dependencies whose install scripts must run (better-sqlite3's native addon, koffi's, esbuild's binary for tsx and
# vite, electron's binary download, skipped here by ELECTRON_SKIP_BINARY_DOWNLOAD) are approved in package.json's
# allowScripts: npm 11.16+ warns about unapproved ones, and npm 12 skips them (better-sqlite3 would then not load).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "rackseed setup: installing npm packages"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

# The precompiled daemon (dist/daemon: bin/daemon-dist.mjs, esbuild, ~3 s) when missing or older than its sources;
# bin/rackseed.mjs runs it instead of the TypeScript through tsx (~35 MB less RSS), and tsx when it is out of date.
node bin/daemon-dist.mjs build --if-stale

# The UI bundle the daemon serves at / (dist/renderer), when missing or older than its sources, and the iPXE
# binaries from Debian's ipxe package bundled into .cache/resources/ipxe (the TFTP root; scripts/build.sh).
node --import tsx scripts/ensure-ui.ts
bash scripts/build.sh

# The discovery ramdisk (kernel + initramfs) is built from Debian packages and cached under .cache/.
node --import tsx agent/build/cli.ts --if-missing

# The lab-tiny image (busybox + the same kernel, ~15 s; rebuilt only when an input changed) under .cache/images/.
# lab-debian (debootstrap from Debian's archive: minutes the first time, then cached) for the tests and benchmarks
# that deploy it (test/e2e/deploy-debian, lab-images-debian; bench deploy/image-serving); `npm run lab` builds it in
# the background when it is missing (lab/library.ts).
# lab-control (the seed's control node: lab-debian's debootstrap tree + Debian's Ironic, so it comes after lab-debian,
# whose tree it copies; ~3.5 min with downloads on a quiet machine, ~1 min from its cached package tree) for
# test/e2e/lab-seed and bench seed; `npm run lab -- --seed` builds it when it is missing (lab/seed.ts).
node --import tsx lab/images/cli.ts build --tiny
case "$what" in
  test|bench)
    for image in debian control; do
      started=$SECONDS
      node --import tsx lab/images/cli.ts build "--$image"
      echo "rackseed setup: lab-$image ready in $((SECONDS - started)) s"
    done ;;
esac
