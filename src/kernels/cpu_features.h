// Run-time CPU feature checks shared by the kernel dispatchers.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace rs::kernels {

// AVX2 + FMA + F16C: what the AVX2 kernels are compiled for. F16C is read from CPUID (leaf 1,
// ECX bit 29) because clang 14's __builtin_cpu_supports does not know "f16c".
inline bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  return f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace rs::kernels
