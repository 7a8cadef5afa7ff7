#!/usr/bin/env bash
# GPU check in one call. The GPU machine has no .NET SDK and no network, so it runs in two halves:
#   scripts/gpu-check.sh pack   here: publish dsoup and pack the .NET runtime into .gpu/ (git-ignored, ~35 MiB)
#   scripts/gpu-check.sh        there (device tool, carry [".gpu"]): self-check every op family on CUDA against
#                               the CPU backend, GEMM GFLOP/s on the GPU (f16/bf16 on tensor cores against CUDA
#                               cores) and the CPU, NN ops (conv, fused attention, pointwise) at SD 1.5 shapes,
#                               SD 1.5 sampling at 512×512 (synthetic weights; UNet s/step with guidance, VAE
#                               decode, peak device memory), one SD 1.5 training step at 512×512 (bf16,
#                               checkpointing), the soup workflow (demo --quick: training, greedy soup, eval with
#                               images), merge throughput, TIES on the GPU against the CPU merger (bytes, speed,
#                               fraction of the host-to-device copy rate); summary in $OUT.
# Where an SDK is present it also builds and runs the CUDA op tests (DSOUP_TEST_DEVICES=cuda). Fits in about 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "pack" ]; then
    rm -rf .gpu && mkdir -p .gpu
    dotnet publish src/Cli -c Release -o .gpu/app > /dev/null || exit 1
    root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    runtime=$(ls -d "$root"/shared/Microsoft.NETCore.App/* | sort -V | tail -1)
    tar -C "$root" -cJf .gpu/dotnet.tar.xz dotnet host "shared/Microsoft.NETCore.App/$(basename "$runtime")"
    # CLIP's vocabulary for the sampling run (single files carry no tokenizer).
    [ -d ../shared/clip ] && cp -r ../shared/clip .gpu/clip
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    du -sh .gpu
    exit 0
fi

OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
log() { echo "$*" | tee -a "$summary"; }
log "== gpu-check $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$summary"
nproc | sed 's/^/cpu cores: /' | tee -a "$summary"
if ! nvidia-smi -L > /dev/null 2>&1 && [ ! -e /dev/nvidia0 ]; then
    log "no CUDA device here (nvidia-smi lists no GPU, no /dev/nvidia0): nothing to measure; run this on a GPU machine"
    exit 0
fi

if command -v dotnet > /dev/null && dotnet --list-sdks 2>/dev/null | grep -q .; then
    log "== build (SDK $(dotnet --version))"
    dotnet build Engine.sln -c Release > "$OUT/build.log" 2>&1 || { log "build FAILED"; tail -30 "$OUT/build.log" | tee -a "$summary"; exit 1; }
    DSOUP=(dotnet src/Cli/bin/Release/net10.0/dsoup.dll)
    log "== op, GEMM and PTX tests on cuda"
    DSOUP_TEST_DEVICES=cuda timeout 240 dotnet test tests/Engine.Tests -c Release --no-build \
        --filter "FullyQualifiedName~OpTests|FullyQualifiedName~GemmKernelTests|FullyQualifiedName~PtxCompilation" > "$OUT/tests.log" 2>&1
    grep -E "Passed!|Failed!|Failed " "$OUT/tests.log" | head -40 | tee -a "$summary"
elif [ -f .gpu/dotnet.tar.xz ]; then
    mkdir -p /tmp/dotnet && tar -C /tmp/dotnet -xJf .gpu/dotnet.tar.xz
    export DOTNET_ROOT=/tmp/dotnet
    DSOUP=(/tmp/dotnet/dotnet .gpu/app/dsoup.dll)
    log "== runtime $(/tmp/dotnet/dotnet --list-runtimes | head -1)"
else
    log "no .NET here: run 'scripts/gpu-check.sh pack' first and carry .gpu"; exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log "== devices"
"${DSOUP[@]}" devices 2>&1 | tee -a "$summary"
log "== self-check: every op family on cuda against the CPU backend"
timeout 180 "${DSOUP[@]}" devices --check --device cuda 2>&1 | tee -a "$summary"

log "== GEMM GFLOP/s (median of 5): cuda f32; f16 and bf16 on tensor cores and on CUDA cores; then the CPU"
timeout 90 "${DSOUP[@]}" bench gemm --device cuda --sizes 1024,4096,4096x320x320 --dtype f32 --repeat 5 2>&1 | tee -a "$summary"
timeout 60 "${DSOUP[@]}" bench gemm --device cuda --sizes 1024,4096,8192,4096x320x320 --dtype f16 --repeat 5 2>&1 | tee -a "$summary"
timeout 45 "${DSOUP[@]}" bench gemm --device cuda --sizes 4096 --dtype bf16 --repeat 5 2>&1 | tee -a "$summary"
timeout 90 "${DSOUP[@]}" bench gemm --device cpu --sizes 1024,4096x320x320 --dtype f32 --repeat 3 2>&1 | tee -a "$summary"

log "== NN ops at SD 1.5 shapes on cuda: conv 3×3, fused attention (self 4096², cross 4096×77) against its GEMMs alone, pointwise"
timeout 120 "${DSOUP[@]}" bench ops --device cuda --repeat 3 2>&1 | tee -a "$summary"

work=$(mktemp -d /dev/shm/dsoup-gpu-check-XXXX 2>/dev/null || mktemp -d)
clip=$( [ -d .gpu/clip ] && echo .gpu/clip || echo ../shared/clip )
log "== SD 1.5 sampling on cuda: synthetic weights, 512×512, 4 euler_a steps with guidance, f16 then f32"
"${DSOUP[@]}" synthesize "$work/sd15.safetensors" --family sd15 > /dev/null
for precision in f16 f32; do
    timeout 200 "${DSOUP[@]}" sample -m "$work/sd15.safetensors" --tokenizer "$clip" -p "a lighthouse at dusk" --steps 4 \
        --device cuda --precision $precision -o "$work/out-$precision" 2>&1 | grep -E "^loaded|^text encoder|error" | sed "s/^/$precision: /" | tee -a "$summary"
done
rm -rf "$work"/out-*

log "== one SD 1.5 training step at 512×512 on cuda: batch 1, bf16, gradient checkpointing (3 steps on 4 images; the rate includes the first step)"
timeout 240 "${DSOUP[@]}" train -m "$work/sd15.safetensors" --tokenizer "$clip" --data embedded --max-examples 4 --resolution 512 --steps 3 --precision bf16 \
    --gradient-checkpointing --checkpoint-every 1000 --device cuda -o "$work/run" 2>&1 | tr '\r' '\n' | grep -E "it/s|s/it|step 3|peak|error" | tail -3 | tee -a "$summary"
rm -rf "$work/sd15.safetensors" "$work/run"

log "== the Diffusion Soup workflow on cuda (demo --quick: autoencoder, UNet training, soups, greedy search, eval with images)"
timeout 240 "${DSOUP[@]}" demo --quick --device cuda 2>&1 | grep -E "^stages|^demo finished|error|failed" | tee -a "$summary"

log "== merge throughput (CPU streaming, f16 1 GiB inputs in /dev/shm), then peak memory of an 8-input soup"
for i in 1 2 3 4 5 6 7 8; do "${DSOUP[@]}" synthesize "$work/in$i.safetensors" --family flat --size 1GiB --variant $i --perturbation 0.1 > /dev/null; done
timeout 120 "${DSOUP[@]}" bench merge "$work"/in[1-4].safetensors 2>&1 | tee -a "$summary"
timeout 120 "${DSOUP[@]}" bench merge "$work"/in*.safetensors 2>&1 | tee -a "$summary"
/usr/bin/time -v "${DSOUP[@]}" soup "$work"/in*.safetensors -o "$work/soup.safetensors" --max-memory 256MiB 2>&1 \
    | grep -E "Maximum resident|Elapsed \(wall" | tee -a "$summary"
rm -rf "$work"/in*.safetensors "$work/soup.safetensors"

log "== TIES on cuda against the CPU merger: same bytes, and throughput (base + 3 inputs of 256 MiB f16)"
for i in 0 1 2 3; do "${DSOUP[@]}" synthesize "$work/t$i.safetensors" --family flat --size 256MiB --variant $i --perturbation 0.05 > /dev/null; done
timeout 150 "${DSOUP[@]}" soup "$work"/t[1-3].safetensors --base "$work/t0.safetensors" --method ties -o "$work/ties-cuda.safetensors" --device cuda 2>&1 | grep -E "wrote|error" | tee -a "$summary"
timeout 150 "${DSOUP[@]}" soup "$work"/t[1-3].safetensors --base "$work/t0.safetensors" --method ties -o "$work/ties-cpu.safetensors" --device cpu 2>&1 | grep -E "wrote|error" | tee -a "$summary"
if cmp -s "$work/ties-cuda.safetensors" "$work/ties-cpu.safetensors"; then log "ties: cuda and cpu outputs are identical"; else log "ties: cuda and cpu outputs DIFFER"; fi
timeout 120 "${DSOUP[@]}" bench merge "$work"/t[0-3].safetensors --method ties --device cuda --repeat 3 2>&1 | tee -a "$summary"
rm -rf "$work"
log "== done $(date -u +%FT%TZ)"
