// Copyright (c) mmderain contributors. All rights reserved.
//
// Host-side preparation shared by the CPU and CUDA NSS wrappers: input
// checks, the parameters, the weight table and the sorted uniforms.
#pragma once

#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <vector>

#include "nss.h"

namespace mmderain {
namespace nss {

using Table = std::shared_ptr<const std::vector<float>>;

// The weight table of eta with at least `size` entries. The last one is
// kept: filling it (~40k pow calls) costs more than NSS on a small image.
inline Table weight_table(double eta, int64_t size) {
  static std::mutex mutex;
  static Table cached;
  static double cached_eta = 0.0;
  const std::lock_guard<std::mutex> lock(mutex);
  if (!cached || cached_eta != eta ||
      static_cast<int64_t>(cached->size()) < size) {
    auto table = std::make_shared<std::vector<float>>(size);
    fill_weight_table(eta, size, table->data());
    cached = table;
    cached_eta = eta;
  }
  return cached;
}

struct Prepared {
  Params params;
  Table table;          // float32, >= params.table_size entries
  at::Tensor u_sorted;  // float64 [num], CPU, ascending
  at::Tensor u_order;   // int64 [num], CPU: reference index of u_sorted[t]
};

inline Prepared prepare(const at::Tensor& image, const at::Tensor& ldgp,
                        const at::Tensor& u, double eta, int64_t threshold,
                        int64_t window, int64_t sim_window) {
  TORCH_CHECK(image.dim() == 3 && image.scalar_type() == at::kByte,
              "nss: image must be an H x W x C uint8 tensor, got ",
              image.scalar_type(), " of shape ", image.sizes());
  TORCH_CHECK(ldgp.dim() == 2 && ldgp.scalar_type() == at::kByte,
              "nss: ldgp must be an H x W uint8 tensor, got ",
              ldgp.scalar_type(), " of shape ", ldgp.sizes());
  TORCH_CHECK(ldgp.size(0) == image.size(0) && ldgp.size(1) == image.size(1),
              "nss: ldgp ", ldgp.sizes(), " does not match image ",
              image.sizes());
  TORCH_CHECK(image.device() == ldgp.device(),
              "nss: image and ldgp must be on the same device");
  TORCH_CHECK(image.is_contiguous() && ldgp.is_contiguous(),
              "nss: image and ldgp must be contiguous");
  TORCH_CHECK(image.size(2) >= 1, "nss: image has no channel");
  TORCH_CHECK(u.dim() == 1 && u.scalar_type() == at::kDouble &&
                  u.device().is_cpu() && u.numel() >= 1,
              "nss: u must be a non-empty 1-D float64 CPU tensor");
  TORCH_CHECK(window >= 1 && sim_window >= 1,
              "nss: window and sim_window must be >= 1, got ", window, ", ",
              sim_window);
  TORCH_CHECK(std::isfinite(eta), "nss: eta must be finite, got ", eta);
  Prepared prep;
  Params& p = prep.params;
  p.height = image.size(0);
  p.width = image.size(1);
  p.channels = image.size(2);
  p.radius = std::max<int64_t>(window, 3) / 2;
  p.sim_window = sim_window;
  p.threshold = threshold;
  p.num = u.numel();
  p.table_size = weight_table_size(p.channels, sim_window, p.radius);
  p.atol = choice_atol();
  prep.table = weight_table(eta, p.table_size);
  const at::Tensor uc = u.contiguous();
  const double* uu = uc.data_ptr<double>();
  std::vector<int64_t> order(p.num);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [uu](int64_t a, int64_t b) { return uu[a] < uu[b]; });
  prep.u_sorted = at::empty({p.num}, at::kDouble);
  prep.u_order = at::empty({p.num}, at::kLong);
  for (int64_t t = 0; t < p.num; ++t) {
    prep.u_sorted.data_ptr<double>()[t] = uu[order[t]];
    prep.u_order.data_ptr<int64_t>()[t] = order[t];
  }
  return prep;
}

}  // namespace nss
}  // namespace mmderain
