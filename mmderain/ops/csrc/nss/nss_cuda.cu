// Copyright (c) mmderain contributors. All rights reserved.
//
// NSS (Rain2Avoid's non-local stochastic sampling) on CUDA: one thread per
// pixel to replace, running the per-pixel algorithm of nss.h (the same code
// as the CPU kernel, so the results are identical). Build with
// --fmad=false and without --use_fast_math.
//
// Compile only the kernel (no PyTorch headers), as the tests do:
//   nvcc -c -DNSS_KERNEL_ONLY -I mmderain/ops/csrc/nss \
//       mmderain/ops/csrc/nss/nss_cuda.cu -o /tmp/nss_cuda.o
#include <cstdint>

#include "nss.h"

namespace mmderain {
namespace nss {

// Up to a 15 x 15 candidate window (window <= 15) on the GPU.
constexpr int64_t kCudaMaxSide = 15;

__global__ void nss_kernel(const uint8_t* __restrict__ image,
                           const uint8_t* __restrict__ ldgp,
                           const float* __restrict__ table,
                           const double* __restrict__ u_sorted,
                           const int64_t* __restrict__ u_order,
                           const int64_t* __restrict__ todo, int64_t total,
                           Params p, uint8_t* out, uint8_t* fused) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x +
                    threadIdx.x;
  if (t >= total) return;
  float w[kCudaMaxSide * kCudaMaxSide];
  const int64_t k = todo[t];
  replace_pixel(image, ldgp, table, u_sorted, u_order, p, k / p.width,
                k % p.width, w, out, fused);
}

}  // namespace nss
}  // namespace mmderain

#ifndef NSS_KERNEL_ONLY

// c10 only: ATen/cuda/CUDAContext.h would need the cuBLAS/cuSPARSE headers
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/extension.h>

#include <vector>

#include "nss_host.h"

namespace {

using mmderain::nss::Params;

// Returns {references (num x H x W x C), fused (H x W x C) or undefined}.
std::vector<at::Tensor> nss_forward(const at::Tensor& image,
                                    const at::Tensor& ldgp,
                                    const at::Tensor& u, double eta,
                                    int64_t threshold, int64_t window,
                                    int64_t sim_window, bool with_fused) {
  TORCH_CHECK(image.is_cuda(), "nss (CUDA): image must be a CUDA tensor");
  TORCH_CHECK(std::max<int64_t>(window, 3) <= mmderain::nss::kCudaMaxSide,
              "nss (CUDA): window must be <= ",
              mmderain::nss::kCudaMaxSide, ", got ", window,
              " (use the CPU kernel)");
  const c10::cuda::CUDAGuard guard(image.device());
  const auto prep = mmderain::nss::prepare(image, ldgp, u, eta, threshold,
                                           window, sim_window);
  const Params& p = prep.params;
  const auto dev = image.device();
  // a copy of the image per reference (repeat always copies)
  at::Tensor out = image.unsqueeze(0).repeat({p.num, 1, 1, 1});
  at::Tensor fused = with_fused ? image.clone() : at::Tensor();
  const at::Tensor todo =
      at::nonzero(ldgp.reshape({-1}).to(at::kLong) > p.threshold)
          .reshape({-1})
          .contiguous();
  const int64_t total = todo.numel();
  if (total == 0) return {out, fused};
  const at::Tensor table =
      at::from_blob(const_cast<float*>(prep.table->data()),
                    {p.table_size}, at::kFloat)
          .to(dev);
  const at::Tensor u_sorted = prep.u_sorted.to(dev);
  const at::Tensor u_order = prep.u_order.to(dev);
  const int threads = 128;
  const int64_t blocks = (total + threads - 1) / threads;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream();
  mmderain::nss::nss_kernel<<<blocks, threads, 0, stream>>>(
      image.data_ptr<uint8_t>(), ldgp.data_ptr<uint8_t>(),
      table.data_ptr<float>(), u_sorted.data_ptr<double>(),
      u_order.data_ptr<int64_t>(), todo.data_ptr<int64_t>(), total, p,
      out.data_ptr<uint8_t>(),
      with_fused ? fused.data_ptr<uint8_t>() : nullptr);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {out, fused};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("nss", &nss_forward,
        "Rain2Avoid NSS on CUDA: (references, fused or None)",
        py::arg("image"), py::arg("ldgp"), py::arg("u"), py::arg("eta"),
        py::arg("threshold"), py::arg("window"), py::arg("sim_window"),
        py::arg("with_fused"), py::call_guard<py::gil_scoped_release>());
}

#endif  // NSS_KERNEL_ONLY
