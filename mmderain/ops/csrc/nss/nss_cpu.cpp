// Copyright (c) mmderain contributors. All rights reserved.
//
// NSS (Rain2Avoid's non-local stochastic sampling) on the CPU: the
// per-pixel algorithm of nss.h over the pixels to replace, split over
// PyTorch's intra-op threads with dynamic scheduling (the cost of a pixel
// varies a lot with its similarity window). Every pixel is independent:
// the references only copy values of the input image.
#include <ATen/Parallel.h>
#include <torch/extension.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "nss.h"
#include "nss_host.h"

namespace {

using mmderain::nss::Params;

// Returns {references (num x H x W x C), fused (H x W x C) or undefined}.
std::vector<at::Tensor> nss_forward(const at::Tensor& image,
                                    const at::Tensor& ldgp,
                                    const at::Tensor& u, double eta,
                                    int64_t threshold, int64_t window,
                                    int64_t sim_window, bool with_fused) {
  TORCH_CHECK(image.device().is_cpu(), "nss (CPU): image must be on the CPU");
  const auto prep = mmderain::nss::prepare(image, ldgp, u, eta, threshold,
                                           window, sim_window);
  const Params& p = prep.params;
  // a copy of the image per reference (repeat always copies)
  at::Tensor out = image.unsqueeze(0).repeat({p.num, 1, 1, 1});
  at::Tensor fused = with_fused ? image.clone() : at::Tensor();

  const uint8_t* img = image.data_ptr<uint8_t>();
  const uint8_t* mask = ldgp.data_ptr<uint8_t>();
  std::vector<int64_t> todo;
  for (int64_t k = 0; k < p.height * p.width; ++k) {
    if (static_cast<int64_t>(mask[k]) > p.threshold) todo.push_back(k);
  }
  const int64_t total = static_cast<int64_t>(todo.size());
  if (total == 0) return {out, fused};

  const float* table = prep.table->data();
  const double* u_sorted = prep.u_sorted.data_ptr<double>();
  const int64_t* u_order = prep.u_order.data_ptr<int64_t>();
  uint8_t* out_ptr = out.data_ptr<uint8_t>();
  uint8_t* fused_ptr = with_fused ? fused.data_ptr<uint8_t>() : nullptr;
  const int64_t side = 2 * p.radius + 1;
  const int64_t chunk = 16;
  const int64_t tasks = std::max<int64_t>(
      1, std::min<int64_t>(at::get_num_threads(),
                           (total + chunk - 1) / chunk));
  std::atomic<int64_t> next{0};
  at::parallel_for(0, tasks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> w(side * side);
    for (int64_t task = begin; task < end; ++task) {
      for (;;) {
        const int64_t start = next.fetch_add(chunk);
        if (start >= total) break;
        const int64_t stop = std::min(start + chunk, total);
        for (int64_t t = start; t < stop; ++t) {
          const int64_t j = todo[t] / p.width;
          const int64_t i = todo[t] % p.width;
          mmderain::nss::replace_pixel(img, mask, table, u_sorted, u_order, p,
                                       j, i, w.data(), out_ptr, fused_ptr);
        }
      }
    }
  });
  return {out, fused};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("nss", &nss_forward,
        "Rain2Avoid NSS on the CPU: (references, fused or None)",
        py::arg("image"), py::arg("ldgp"), py::arg("u"), py::arg("eta"),
        py::arg("threshold"), py::arg("window"), py::arg("sim_window"),
        py::arg("with_fused"), py::call_guard<py::gil_scoped_release>());
}
