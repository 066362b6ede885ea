// Runs body(thread, team_size) on up to num_threads OpenMP threads. Baseline code only.
// num_threads == 1 calls the body directly: no OpenMP team, so the kernels can be called from
// inside a caller's own parallel loop. The num_threads clause keeps the count out of OpenMP's
// global state (omp_set_num_threads is never called). The body must not throw.
#pragma once
#include <cstddef>

#if VCDFAST_OPENMP
#include <omp.h>
#endif

namespace vcdfast::kernels {

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
