// Copyright (c) mmderain contributors. All rights reserved.
//
// Non-local stochastic sampling (NSS) of Rain2Avoid, one rain pixel at a
// time: the per-pixel algorithm shared by the CPU kernel (nss_cpu.cpp) and
// the CUDA kernel (nss_cuda.cu). It reproduces the official
// `Rain2Avoid(Single)/sdr.py` bit for bit:
//
//  * M = [L > 0] is "rain"; pixels with L > threshold are replaced.
//  * Similarity window: s = k, grown by 2 while the s x s window around the
//    pixel (clipped to the image) is all rain. A window of size s covers the
//    offsets [-s/2, s - s/2) (rows and columns); the all-rain test looks at
//    [-s/2, s/2] (the same for odd s).
//  * Candidates: pixels with M = 0 in the clipped window of radius
//    max(K, 3) / 2, in raster order.
//  * d = sum over the s x s x C patch of m * |Pc - Pn|, with the patches zero
//    outside the image and m = 1 - M inside the image, 1 outside. d is an
//    integer; the official float64 sum of integers is exact.
//  * w = float32(1 / max(pow(d, eta), 1e-4)) in float64, looked up in a table
//    filled on the host with the C library's pow (what NumPy's scalar power
//    calls), so CPU and CUDA agree with NumPy.
//  * p = w / sum(w) in float32, the sum as NumPy's float32 pairwise sum.
//  * NumPy's RandomState.choice(n, num, p): rejects p with a NaN or with a
//    Kahan sum (in float64) farther than atol from 1; cdf = cumsum(p) in
//    float64, cdf /= cdf[-1]; sample = searchsorted(cdf, u, side='right').
//    The official code reseeds before every pixel, so the uniforms u are the
//    same for every pixel: they are passed in, sorted, and one sweep over
//    the cdf places all of them.
//  * A pixel without candidates (or whose p the checks reject) keeps its
//    value: the official code swallows the exception.
//
// NSS_HD marks the functions __host__ __device__ for nvcc and is plain
// `inline` for the C++ compiler. Build without -ffast-math and without
// floating-point contraction (-ffp-contract=off, nvcc --fmad=false): the
// float32 sum, the Kahan sum and the cumulative sum must keep their order.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define NSS_HD __host__ __device__ __forceinline__
#else
#define NSS_HD inline
#endif

namespace mmderain {
namespace nss {

struct Params {
  int64_t height;
  int64_t width;
  int64_t channels;
  int64_t radius;      // candidate window radius: max(K, 3) / 2
  int64_t sim_window;  // initial similarity window k
  int64_t threshold;   // pixels with L > threshold are replaced
  int64_t num;         // number of references
  int64_t table_size;  // entries of the weight table (max d + 1)
  double atol;         // tolerance of choice's "p sums to 1" check
};

// Whether the clipped window of radius r around (j, i) is all rain.
NSS_HD bool window_all_rain(const uint8_t* ldgp, const Params& p, int64_t j,
                            int64_t i, int64_t r) {
  const int64_t y0 = j - r < 0 ? 0 : j - r;
  const int64_t y1 = j + r > p.height - 1 ? p.height - 1 : j + r;
  const int64_t x0 = i - r < 0 ? 0 : i - r;
  const int64_t x1 = i + r > p.width - 1 ? p.width - 1 : i + r;
  for (int64_t y = y0; y <= y1; ++y) {
    for (int64_t x = x0; x <= x1; ++x) {
      if (ldgp[y * p.width + x] == 0) return false;
    }
  }
  return true;
}

// The adaptive similarity window size s of pixel (j, i). Only called for
// pixels with a candidate, so the loop ends (at the latest once the window
// reaches the candidate); the bound guards against misuse.
NSS_HD int64_t similarity_window(const uint8_t* ldgp, const Params& p,
                                 int64_t j, int64_t i) {
  int64_t s = p.sim_window;
  const int64_t limit = 2 * (p.height + p.width) + p.sim_window;
  while (s < limit && window_all_rain(ldgp, p, j, i, s / 2)) s += 2;
  return s;
}

// m-weighted L1 distance between the s x s patches around the centre (j, i)
// and the candidate (nj, ni); an exact integer.
NSS_HD int64_t patch_distance(const uint8_t* image, const uint8_t* ldgp,
                              const Params& p, int64_t j, int64_t i,
                              int64_t nj, int64_t ni, int64_t s) {
  const int64_t lo = -(s / 2);
  const int64_t hi = s - s / 2;
  const int64_t C = p.channels;
  int64_t d = 0;
  for (int64_t dy = lo; dy < hi; ++dy) {
    const int64_t cy = j + dy;
    const int64_t ny = nj + dy;
    const bool cy_in = cy >= 0 && cy < p.height;
    const bool ny_in = ny >= 0 && ny < p.height;
    for (int64_t dx = lo; dx < hi; ++dx) {
      const int64_t cx = i + dx;
      const int64_t nx = ni + dx;
      const bool c_in = cy_in && cx >= 0 && cx < p.width;
      if (c_in && ldgp[cy * p.width + cx] != 0) continue;  // m = 0
      const bool n_in = ny_in && nx >= 0 && nx < p.width;
      const uint8_t* pc = c_in ? image + (cy * p.width + cx) * C : nullptr;
      const uint8_t* pn = n_in ? image + (ny * p.width + nx) * C : nullptr;
      for (int64_t ch = 0; ch < C; ++ch) {
        const int a = pc != nullptr ? pc[ch] : 0;
        const int b = pn != nullptr ? pn[ch] : 0;
        d += a > b ? a - b : b - a;
      }
    }
  }
  return d;
}

// NumPy's float32 add.reduce of a contiguous array: pairwise summation
// (numpy/core/src/umath/loops_utils.h.src, PW_BLOCKSIZE 128).
NSS_HD float pairwise_sum(const float* a, int64_t n) {
  if (n < 8) {
    float res = -0.0f;
    for (int64_t t = 0; t < n; ++t) res += a[t];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (int t = 0; t < 8; ++t) r[t] = a[t];
    int64_t t = 8;
    for (; t < n - (n % 8); t += 8) {
      for (int q = 0; q < 8; ++q) r[q] += a[t + q];
    }
    float res = ((r[0] + r[1]) + (r[2] + r[3])) +
                ((r[4] + r[5]) + (r[6] + r[7]));
    for (; t < n; ++t) res += a[t];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// Visits the candidates of (j, i) in raster order: fn(index, y, x); returns
// their number.
template <typename Fn>
NSS_HD int64_t for_each_candidate(const uint8_t* ldgp, const Params& p,
                                  int64_t j, int64_t i, Fn fn) {
  const int64_t r = p.radius;
  const int64_t y0 = j - r < 0 ? 0 : j - r;
  const int64_t y1 = j + r > p.height - 1 ? p.height - 1 : j + r;
  const int64_t x0 = i - r < 0 ? 0 : i - r;
  const int64_t x1 = i + r > p.width - 1 ? p.width - 1 : i + r;
  int64_t n = 0;
  for (int64_t y = y0; y <= y1; ++y) {
    for (int64_t x = x0; x <= x1; ++x) {
      if (ldgp[y * p.width + x] == 0) fn(n++, y, x);
    }
  }
  return n;
}

// Replaces pixel (j, i) (which has L > threshold) in the num references.
//   image:   H x W x C, uint8
//   ldgp:    H x W, uint8 (the raw mask; M = [L > 0])
//   table:   p.table_size float32 weights, table[d] = w(d)
//   u_sorted, u_order: the num uniforms in ascending order and their
//            reference indices
//   w:       scratch for (2 * radius + 1)^2 floats
//   out:     num x H x W x C, holding copies of the image
//   fused:   H x W x C rounded mean of the references, or nullptr; holds the
//            image value (left as is when the pixel is kept)
// Returns the number of candidates (0: the pixel is kept).
NSS_HD int64_t replace_pixel(const uint8_t* image, const uint8_t* ldgp,
                             const float* table, const double* u_sorted,
                             const int64_t* u_order, const Params& p,
                             int64_t j, int64_t i, float* w, uint8_t* out,
                             uint8_t* fused) {
  const int64_t n = for_each_candidate(
      ldgp, p, j, i, [](int64_t, int64_t, int64_t) {});
  if (n == 0) return 0;
  const int64_t s = similarity_window(ldgp, p, j, i);
  bool table_ok = true;
  for_each_candidate(ldgp, p, j, i, [&](int64_t c, int64_t y, int64_t x) {
    const int64_t d = patch_distance(image, ldgp, p, j, i, y, x, s);
    if (d < p.table_size) {
      w[c] = table[d];
    } else {
      table_ok = false;
    }
  });
  if (!table_ok) return 0;  // unreachable: the host sizes the table
  // p = w / sum(w) in float32, stored over w
  const float total_w = pairwise_sum(w, n);
  for (int64_t c = 0; c < n; ++c) w[c] = w[c] / total_w;
  // choice's checks: no NaN, Kahan sum (float64) within atol of 1
  double ksum = static_cast<double>(w[0]);
  double comp = 0.0;
  for (int64_t c = 0; c < n; ++c) {
    if (w[c] != w[c]) return 0;  // NaN
    if (c == 0) continue;
    const double y = static_cast<double>(w[c]) - comp;
    const double t = ksum + y;
    comp = (t - ksum) - y;
    ksum = t;
  }
  if (!(fabs(ksum - 1.0) <= p.atol)) return 0;
  // cdf = cumsum(p) / cumsum(p)[-1] (float64); place the sorted uniforms
  double last = 0.0;
  for (int64_t c = 0; c < n; ++c) last += static_cast<double>(w[c]);
  const int64_t hwc = p.height * p.width * p.channels;
  const int64_t pix = (j * p.width + i) * p.channels;
  const int64_t C = p.channels;
  int64_t t = 0;
  double cum = 0.0;
  for_each_candidate(ldgp, p, j, i, [&](int64_t c, int64_t y, int64_t x) {
    cum += static_cast<double>(w[c]);
    const double cdf = cum / last;
    const uint8_t* src = image + (y * p.width + x) * C;
    // searchsorted(side='right'): the first c with cdf[c] > u; the last
    // candidate takes any u left over (none: cdf[-1] == 1 > u)
    while (t < p.num && (u_sorted[t] < cdf || c == n - 1)) {
      uint8_t* dst = out + u_order[t] * hwc + pix;
      for (int64_t ch = 0; ch < C; ++ch) dst[ch] = src[ch];
      ++t;
    }
  });
  if (fused != nullptr) {
    // the mean of the references, rounded half to even (cv2.imwrite of the
    // float64 mean: cvRound) ; the sum is exact
    for (int64_t ch = 0; ch < C; ++ch) {
      int64_t sum = 0;
      for (int64_t k = 0; k < p.num; ++k) sum += out[k * hwc + pix + ch];
      const double mean = rint(static_cast<double>(sum) /
                               static_cast<double>(p.num));
      fused[pix + ch] = static_cast<uint8_t>(mean > 255.0 ? 255.0 : mean);
    }
  }
  return n;
}

// ---- host-only helpers ----------------------------------------------------

// The largest similarity window a pixel with a candidate can reach.
inline int64_t max_similarity_window(int64_t sim_window, int64_t radius) {
  const int64_t grow = radius - sim_window / 2;
  return sim_window + (grow > 0 ? 2 * grow : 0);
}

// The number of weight-table entries: max d + 1.
inline int64_t weight_table_size(int64_t channels, int64_t sim_window,
                                 int64_t radius) {
  const int64_t s = max_similarity_window(sim_window, radius);
  return 255 * channels * s * s + 1;
}

// table[d] = float32(1 / max(pow(d, eta), 1e-4)), computed in float64 with
// the C library's pow, as NumPy's `np.float64(d) ** eta` does (NumPy's
// array power and sqrt differ from it in the last bit for some d).
inline void fill_weight_table(double eta, int64_t size, float* table) {
  for (int64_t d = 0; d < size; ++d) {
    const double pw = std::pow(static_cast<double>(d), eta);
    const double den = pw < 1e-4 ? 1e-4 : pw;  // Python's max(pw, 1e-4)
    table[d] = static_cast<float>(1.0 / den);
  }
}

// atol of RandomState.choice for a float32 p:
// max(sqrt(eps(float64)), sqrt(eps(float32))), the latter in float32.
inline double choice_atol() {
  const double a = std::sqrt(2.220446049250313e-16);
  const double b = static_cast<double>(std::sqrt(1.1920929e-07f));
  return a > b ? a : b;
}

}  // namespace nss
}  // namespace mmderain
