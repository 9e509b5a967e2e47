#!/usr/bin/env bash
# Checks the Arm64 (AdvSimd/NEON, KernelPath.Vector128) kernels under emulation: publishes the reference
# runner (tools/Embedded.Rnn.ReferenceRunner) self-contained for linux-arm64 and runs it under
# qemu-aarch64-static. The runner runs every PyTorch reference case in tests/refs on the default path (which
# it requires to be Vector128 with AdvSimd.IsSupported on Arm64) and on the scalar path.
# Ends with the runner's line "N passed, N failed" (one count per case x path) and exits with its code.
# A correctness check only: emulated run times say nothing about Arm performance, so none are reported.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

project=tools/Embedded.Rnn.ReferenceRunner/Embedded.Rnn.ReferenceRunner.csproj
out=artifacts/arm64-check                       # gitignored; all bin/obj of this build go there
runner=$out/publish/Embedded.Rnn.ReferenceRunner
sysroot=/usr/aarch64-linux-gnu                  # the arm64 loader, libc and libstdc++ from the cross packages
packages=(qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross)

fail_step() {
  echo "arm64-check: $1 failed"
  echo "0 passed, 1 failed"
  exit 1
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || fail_step "apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail_step "apt-get install ${missing[*]}"
fi
command -v qemu-aarch64-static >/dev/null 2>&1 || fail_step "finding qemu-aarch64-static"
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || fail_step "finding the arm64 loader in $sysroot"

# Restore pulls the linux-arm64 runtime and apphost packs from NuGet (the versions this SDK bundles: with SDK
# 10.0.401, runtime 10.0.12). DisableTransitiveFrameworkReferenceDownloads, as a global property, stops the
# runtime library's restore from fetching the unused ASP.NET Core arm64 pack too. The separate artifacts
# path keeps every bin/ and obj/ of this build apart from the solution's (and from concurrent x64 builds).
echo "== publish linux-arm64 self-contained (warnings are errors)"
dotnet publish "$project" -r linux-arm64 --self-contained -c Release -p:DisableTransitiveFrameworkReferenceDownloads=true \
  --artifacts-path "$out" -o "$runner" -warnaserror -v quiet -nologo \
  || fail_step "publish"
# ELF e_machine 0xb7 = AArch64: make sure what qemu is about to run really is an Arm64 binary.
[ "$(od -An -tx1 -j18 -N2 "$runner/Embedded.Rnn.ReferenceRunner" | tr -d ' \n')" = "b700" ] \
  || fail_step "checking that the published runner is an AArch64 ELF"

echo "== reference cases under qemu-aarch64-static"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
QEMU_LD_PREFIX=$sysroot DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  qemu-aarch64-static "$runner/Embedded.Rnn.ReferenceRunner" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}

counts=$(tail -n 1 "$log")
if ! grep -Eq '^[0-9]+ passed, [0-9]+ failed$' <<<"$counts"; then
  echo "arm64-check: the runner (exit code $code) reported no counts"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! grep -q 'process Arm64' "$log"; then
  # Cannot happen with an AArch64 ELF under qemu-aarch64, but the whole point is that Arm64 code ran.
  echo "arm64-check: the runner did not report an Arm64 process"
  read -r p _ f _ <<<"$counts"
  echo "$p passed, $((f + 1)) failed"
  exit 1
fi
exit "$code"
