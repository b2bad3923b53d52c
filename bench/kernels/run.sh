#!/usr/bin/env bash
# Builds and runs the kernel micro-benchmark: Swift SIMD (baseline x86-64 and -target-cpu native)
# against the C kernels with runtime dispatch.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
clang -O3 -c Sources/CKernels/kernels.c -I Sources/CKernels/include -o "$out/kernels.o"
swiftc -O -import-objc-header Sources/CKernels/include/CKernels.h bench/kernels/main.swift "$out/kernels.o" -o "$out/kbench"
swiftc -O -target-cpu native -import-objc-header Sources/CKernels/include/CKernels.h bench/kernels/main.swift "$out/kernels.o" -o "$out/kbench-native" 2>/dev/null || true
echo "# swiftc -O (baseline x86-64, what a portable release binary gets)"
"$out/kbench"
if [ -x "$out/kbench-native" ]; then
  echo "# swiftc -O -target-cpu native (Swift SIMD row only; not portable)"
  "$out/kbench-native" | grep swift
fi
