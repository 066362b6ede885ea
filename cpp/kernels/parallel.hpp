// OpenMP helpers for the similarity kernels. Baseline code only.
#pragma once
#include <cstddef>

#if VCDFAST_OPENMP
#include <omp.h>
#endif

namespace vcdfast::kernels {

// Threads worth starting: at most the request, the processor count (the kernels are
// compute-bound, and a huge request must not exhaust threads or scratch memory) and `units`.
inline std::size_t team_size(int requested, std::size_t units) noexcept {
  if (requested <= 1 || units <= 1) return 1;  // no omp_get_num_procs() syscall on the latency path
  std::size_t n = static_cast<std::size_t>(requested);
#if VCDFAST_OPENMP
  const auto procs = static_cast<std::size_t>(omp_get_num_procs());
  if (n > procs) n = procs;
#else
  n = 1;
#endif
  return n > units ? units : n;
}

// Runs body(thread, team) on up to num_threads threads (the team may be smaller; the body must
// split work by `team`). num_threads == 1 calls the body directly: no OpenMP team, so the kernels
// can be called from inside a caller's own parallel loop. The num_threads clause keeps the count
// out of OpenMP's global state (omp_set_num_threads is never called). The body must not throw.
template <class Body>
void run_threads(std::size_t num_threads, const Body& body) noexcept {
#if VCDFAST_OPENMP
  if (num_threads > 1) {
#pragma omp parallel num_threads(static_cast<int>(num_threads))
    body(static_cast<std::size_t>(omp_get_thread_num()), static_cast<std::size_t>(omp_get_num_threads()));
    return;
  }
#endif
  body(std::size_t{0}, std::size_t{1});
}

}  // namespace vcdfast::kernels
