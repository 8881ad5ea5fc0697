// Depthwise convolution for batch-1-sized CPU inference on channels_last fp32
// tensors, with the bias and an optional clamp (ReLU, ReLU6) or sigmoid fused.
//
// Why: GhostNetV2 runs ~70 depthwise convs per forward, most on maps of 20x20
// pixels or fewer. oneDNN spends ~30 us per call setting up the primitive,
// several times the arithmetic; this kernel has no setup beyond the output
// allocation. Each worker owns whole output rows; within a row, 16 channels at
// a time (one AVX-512 register, or two AVX ones), every in-bounds tap is added
// over the run of output pixels it reaches, so the loops carry no bounds
// checks and the accumulations are independent.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace {

typedef float vec16 __attribute__((vector_size(64)));
typedef float vec4 __attribute__((vector_size(16)));

template <typename V>
inline V load(const float* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
inline void store(float* p, V v) {
  __builtin_memcpy(p, &v, sizeof(V));
}

// Activation codes (kept in sync with ghostnetv2_mm/deploy/ops/__init__.py).
constexpr int64_t kNone = 0, kClamp = 1, kSigmoid = 2;

struct Geometry {
  int64_t C, H, W, OW, KH, KW, stride_w, pad_w, dil_h, dil_w;
  int64_t out_pixel_stride, out_offset;  // the output's channels per pixel, and ours
  int64_t act;
  float lo, hi;
};

// Output channels [c0, c0 + lanes(V)) of one output row.
template <typename V>
void row_block(float* __restrict__ out_row, const float* __restrict__ x,
               const float* __restrict__ w, const float* __restrict__ b, int64_t c0,
               int64_t ih0, const Geometry& g) {
  constexpr int lanes = sizeof(V) / sizeof(float);
  const int64_t C = g.C, OS = g.out_pixel_stride;
  out_row += g.out_offset;
  const V bias = load<V>(b + c0);
  for (int64_t ow = 0; ow < g.OW; ++ow) store<V>(out_row + ow * OS + c0, bias);
  for (int64_t kh = 0; kh < g.KH; ++kh) {
    const int64_t ih = ih0 + kh * g.dil_h;
    if (ih < 0 || ih >= g.H) continue;
    const float* x_row = x + ih * g.W * C + c0;
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      const V weight = load<V>(w + (kh * g.KW + kw) * C + c0);
      const int64_t offset = kw * g.dil_w - g.pad_w;  // iw = ow * stride_w + offset
      const int64_t first = offset < 0 ? (-offset + g.stride_w - 1) / g.stride_w : 0;
      const int64_t last = g.W - 1 - offset < 0
                               ? 0
                               : std::min(g.OW, (g.W - 1 - offset) / g.stride_w + 1);
      for (int64_t ow = first; ow < last; ++ow) {
        float* o = out_row + ow * OS + c0;
        store<V>(o, load<V>(o) + load<V>(x_row + (ow * g.stride_w + offset) * C) * weight);
      }
    }
  }
  if (g.act == kClamp) {
    V lo, hi;
    for (int i = 0; i < lanes; ++i) lo[i] = g.lo, hi[i] = g.hi;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* o = out_row + ow * OS + c0;
      V v = load<V>(o);
      v = v < lo ? lo : v;
      store<V>(o, v > hi ? hi : v);
    }
  } else if (g.act == kSigmoid) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* o = out_row + ow * OS + c0;
      V v = load<V>(o);
      for (int i = 0; i < lanes; ++i) v[i] = 1.f / (1.f + std::exp(-v[i]));
      store<V>(o, v);
    }
  }
}

// One channel of one output row (for fewer than 4 channels left).
void row_channel(float* out_row, const float* x, const float* w, const float* b, int64_t c,
                 int64_t ih0, const Geometry& g) {
  const int64_t C = g.C;
  for (int64_t ow = 0; ow < g.OW; ++ow) {
    float acc = b[c];
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = ih0 + kh * g.dil_h;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dil_w;
        if (iw < 0 || iw >= g.W) continue;
        acc += x[(ih * g.W + iw) * C + c] * w[(kh * g.KW + kw) * C + c];
      }
    }
    if (g.act == kClamp) acc = std::min(std::max(acc, g.lo), g.hi);
    else if (g.act == kSigmoid) acc = 1.f / (1.f + std::exp(-acc));
    out_row[g.out_offset + ow * g.out_pixel_stride + c] = acc;
  }
}

// Multiplies one output row by its row of a half-size gate, nearest-resized
// (each gate pixel covers 2x2 output pixels): DFC attention, applied in place.
void gate_row(float* __restrict__ out_row, const float* __restrict__ gate_row_ptr,
              int64_t OW, int64_t OC) {
  for (int64_t ow = 0; ow < OW; ++ow) {
    float* o = out_row + ow * OC;
    const float* gp = gate_row_ptr + (ow / 2) * OC;
    int64_t c = 0;
    for (; c + 16 <= OC; c += 16) store<vec16>(o + c, load<vec16>(o + c) * load<vec16>(gp + c));
    for (; c < OC; ++c) o[c] *= gp[c];
  }
}

}  // namespace

// x: (N, C, H, W) channels_last fp32; weight: (KH, KW, C) contiguous; bias: (C).
// With keep_input the result is cat([x, conv(x)], dim=1) (a Ghost module's
// output, written in one pass instead of a conv and a concat); the conv must
// then keep the input's size. An optional gate (N, C_out, OH / 2, OW / 2),
// channels_last, multiplies the result, resized by repetition (GhostNetV2's
// DFC attention with nearest upsampling, for even output sizes).
at::Tensor depthwise_conv_nhwc(const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias, int64_t stride_h, int64_t stride_w,
                               int64_t pad_h, int64_t pad_w, int64_t dil_h, int64_t dil_w,
                               int64_t act, double lo, double hi, bool keep_input,
                               const c10::optional<at::Tensor>& gate) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 &&
                  x.is_contiguous(at::MemoryFormat::ChannelsLast),
              "depthwise_conv_nhwc: x must be a channels_last float32 CPU tensor");
  TORCH_CHECK(weight.dim() == 3 && weight.is_contiguous() && weight.scalar_type() == at::kFloat &&
                  weight.size(2) == x.size(1),
              "depthwise_conv_nhwc: weight must be a contiguous (KH, KW, C) float32 tensor");
  TORCH_CHECK(bias.dim() == 1 && bias.is_contiguous() && bias.size(0) == x.size(1) &&
                  bias.scalar_type() == at::kFloat,
              "depthwise_conv_nhwc: bias must be a contiguous (C,) float32 tensor");
  TORCH_CHECK(stride_h > 0 && stride_w > 0 && dil_h > 0 && dil_w > 0 && pad_h >= 0 && pad_w >= 0,
              "depthwise_conv_nhwc: bad stride / padding / dilation");
  TORCH_CHECK(act == kNone || act == kClamp || act == kSigmoid,
              "depthwise_conv_nhwc: unknown activation code");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t KH = weight.size(0), KW = weight.size(1);
  const int64_t OH = (H + 2 * pad_h - dil_h * (KH - 1) - 1) / stride_h + 1;
  const int64_t OW = (W + 2 * pad_w - dil_w * (KW - 1) - 1) / stride_w + 1;
  TORCH_CHECK(OH > 0 && OW > 0, "depthwise_conv_nhwc: input smaller than the kernel");
  TORCH_CHECK(!keep_input || (OH == H && OW == W),
              "depthwise_conv_nhwc: keep_input needs a conv that keeps the size");
  const int64_t OC = keep_input ? 2 * C : C;
  const float* gp = nullptr;
  if (gate.has_value()) {
    const at::Tensor& gt = *gate;
    TORCH_CHECK(gt.scalar_type() == at::kFloat && gt.dim() == 4 &&
                    gt.is_contiguous(at::MemoryFormat::ChannelsLast) && gt.size(0) == N &&
                    gt.size(1) == OC && 2 * gt.size(2) == OH && 2 * gt.size(3) == OW,
                "depthwise_conv_nhwc: gate must be a channels_last float32 tensor of the "
                "output's batch and channels and half its (even) height and width");
    gp = gt.data_ptr<float>();
  }
  auto out = at::empty({N, OC, OH, OW}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (out.numel() == 0) return out;
  const Geometry g{C, H, W, OW, KH, KW, stride_w, pad_w, dil_h, dil_w, OC, keep_input ? C : 0,
                   act, static_cast<float>(lo), static_cast<float>(hi)};
  const float* xp = x.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  const float* bp = bias.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // rows per task: enough multiply-adds (~64k) that a second thread pays off
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, OW * C * KH * KW));
  at::parallel_for(0, N * OH, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / OH, oh = r % OH;
      const float* xn = xp + n * H * W * C;
      float* out_row = op + r * OW * OC;
      const int64_t ih0 = oh * stride_h - pad_h;
      if (keep_input) {
        const float* x_row = xn + oh * W * C;
        for (int64_t ow = 0; ow < OW; ++ow)
          std::copy(x_row + ow * C, x_row + (ow + 1) * C, out_row + ow * OC);
      }
      int64_t c0 = 0;
      if (C >= 16) {
        for (; c0 + 16 <= C; c0 += 16) row_block<vec16>(out_row, xn, wp, bp, c0, ih0, g);
        // the channels left: one more block ending at C (recomputes a few, same values)
        if (c0 < C) row_block<vec16>(out_row, xn, wp, bp, C - 16, ih0, g);
      } else {
        for (; c0 + 4 <= C; c0 += 4) row_block<vec4>(out_row, xn, wp, bp, c0, ih0, g);
        for (; c0 < C; ++c0) row_channel(out_row, xn, wp, bp, c0, ih0, g);
      }
      if (gp) gate_row(out_row, gp + (n * (OH / 2) + oh / 2) * (OW / 2) * OC, OW, OC);
    }
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("depthwise_conv_nhwc", &depthwise_conv_nhwc,
        "depthwise conv + bias (+ clamp or sigmoid), channels_last fp32");
}
