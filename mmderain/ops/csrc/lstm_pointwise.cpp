// Copyright (c) mmderain contributors. All rights reserved.
//
// Fused ConvLSTM point-wise update on the CPU (inference):
//
//   c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
//   h' = sigmoid(o) * tanh(c')
//
// for pre-activation gates (i, f, g, o) concatenated along the channels.
// Every gate element is read once and h', c' are written once (the eager
// PyTorch version makes ~8 full passes). Works on any layout in which each
// block of 4 * inner elements holds `inner` elements of each gate in turn:
// NCHW (inner = C * H * W) and channels-last (inner = C). The loop is
// vectorised by the compiler (OpenMP SIMD + glibc's vector exp, enabled by
// -ffast-math) and split over PyTorch's intra-op threads (OpenMP).
#include <ATen/Parallel.h>
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace {

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// tanh(x) = 2 * sigmoid(2x) - 1: one exp, vectorises like sigmoid
template <typename T>
inline T tanh_(T x) {
  return T(2) / (T(1) + std::exp(T(-2) * x)) - T(1);
}

// One run of `len` consecutive elements of each gate (the hot loop).
template <typename T>
inline void lstm_run(const T* gi, const T* gf, const T* gg, const T* go,
                     const T* cc, T* ho, T* co, int64_t len) {
  if (cc != nullptr) {
#pragma omp simd
    for (int64_t t = 0; t < len; ++t) {
      const T cn = sigmoid(gf[t]) * cc[t] + sigmoid(gi[t]) * tanh_(gg[t]);
      co[t] = cn;
      ho[t] = sigmoid(go[t]) * tanh_(cn);
    }
  } else {
#pragma omp simd
    for (int64_t t = 0; t < len; ++t) {
      const T cn = sigmoid(gi[t]) * tanh_(gg[t]);
      co[t] = cn;
      ho[t] = sigmoid(go[t]) * tanh_(cn);
    }
  }
}

// float32: an AVX2+FMA clone (8-wide vector exp) picked at load time on
// CPUs that have it, and a baseline clone otherwise
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void lstm_run_float(const float* gi, const float* gf, const float* gg,
                    const float* go, const float* cc, float* ho, float* co,
                    int64_t len) {
  lstm_run<float>(gi, gf, gg, go, cc, ho, co, len);
}

template <typename T>
void lstm_pointwise_kernel(const T* gates, const T* c, T* h_out, T* c_out,
                           int64_t numel, int64_t inner) {
  at::parallel_for(0, numel, 16384, [&](int64_t begin, int64_t end) {
    int64_t k = begin;
    while (k < end) {
      const int64_t outer = k / inner;
      const int64_t j = k - outer * inner;
      const int64_t len = std::min(end - k, inner - j);
      const T* gi = gates + outer * 4 * inner + j;
      const T* cc = c != nullptr ? c + k : nullptr;
      if constexpr (std::is_same_v<T, float>) {
        lstm_run_float(gi, gi + inner, gi + 2 * inner, gi + 3 * inner, cc,
                       h_out + k, c_out + k, len);
      } else {
        lstm_run<T>(gi, gi + inner, gi + 2 * inner, gi + 3 * inner, cc,
                    h_out + k, c_out + k, len);
      }
      k += len;
    }
  });
}

// gates: (N, 4C, H, W) laid out with blocks of `inner`; c: None or
// (N, C, H, W) with the same layout as h_out / c_out (preallocated).
void lstm_pointwise(const at::Tensor& gates, const c10::optional<at::Tensor>& c,
                    at::Tensor& h_out, at::Tensor& c_out, int64_t inner) {
  TORCH_CHECK(gates.device().is_cpu(), "lstm_pointwise: CPU tensors only");
  TORCH_CHECK(h_out.numel() * 4 == gates.numel() && c_out.numel() == h_out.numel(),
              "lstm_pointwise: size mismatch");
  TORCH_CHECK(inner > 0 && h_out.numel() % inner == 0,
              "lstm_pointwise: bad inner size");
  const bool has_c = c.has_value() && c->defined();
  if (has_c) {
    TORCH_CHECK(c->numel() == h_out.numel() && c->scalar_type() == gates.scalar_type(),
                "lstm_pointwise: cell state mismatch");
  }
  AT_DISPATCH_FLOATING_TYPES(gates.scalar_type(), "lstm_pointwise", [&] {
    lstm_pointwise_kernel<scalar_t>(
        gates.const_data_ptr<scalar_t>(),
        has_c ? c->const_data_ptr<scalar_t>() : nullptr,
        h_out.mutable_data_ptr<scalar_t>(), c_out.mutable_data_ptr<scalar_t>(),
        h_out.numel(), inner);
  });
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("lstm_pointwise", &lstm_pointwise,
        "Fused ConvLSTM point-wise update (CPU): writes h_out and c_out",
        py::arg("gates"), py::arg("c"), py::arg("h_out"), py::arg("c_out"),
        py::arg("inner"));
}
