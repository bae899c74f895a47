// Speaker embeddings for diarization: resemblyzer's GE2E voice encoder (a
// 3-layer LSTM over 40-band mel frames, then a linear layer, ReLU and L2
// normalisation, 256 values), run the way resemblyzer runs it: each region's
// volume raised to -30 dBFS (never lowered), a power mel spectrogram (25 ms
// periodic Hann windows every 10 ms, centred, zero-padded), partial windows
// of 1.6 s at 1.3 per second, their embeddings averaged and normalised. The
// weights come from the JS side (native/models/voice-encoder.ts reads and
// checks the converted file); the work runs off the JS thread, regions in
// parallel.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace {

constexpr int kFft = 400;
constexpr int kHop = 160;
constexpr int kBins = kFft / 2 + 1;
constexpr int kMels = 40;
constexpr int kHidden = 256;
constexpr int kGates = 4 * kHidden;
constexpr int kEmbed = 256;
constexpr int kPartialFrames = 160;
constexpr int kFrameStep = 77;  // round(16000 / 1.3 / 160): 1.3 partials per second
constexpr double kMinCoverage = 0.75;
constexpr int kLayers = 3;

struct Layer {
  std::vector<float> wih, whh, bias;  // [gates][in], [gates][hidden], b_ih + b_hh
  int in = 0;
};

struct Weights {
  Layer layers[kLayers];
  std::vector<float> linW, linB;  // [embed][hidden], [embed]
  std::vector<float> mel;         // [mels][bins]
  std::vector<float> cosT, sinT;  // [bins][fft], Hann folded in
};

inline float Dot(const float* a, const float* b, int n) {
  // Eight running sums: the compiler keeps them in one vector register.
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
  float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; i++) total += a[i] * b[i];
  return total;
}

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Power mel frames of `x` (n samples), centred windows: 1 + n / hop frames of kMels.
std::vector<float> MelFrames(const Weights& w, const float* x, int n) {
  const int frames = 1 + n / kHop;
  std::vector<float> out(static_cast<size_t>(frames) * kMels);
  std::vector<float> window(kFft), power(kBins);
  for (int t = 0; t < frames; t++) {
    const int start = t * kHop - kFft / 2;
    for (int j = 0; j < kFft; j++) {
      const int at = start + j;
      window[j] = at >= 0 && at < n ? x[at] : 0.0f;
    }
    for (int k = 0; k < kBins; k++) {
      const float re = Dot(&w.cosT[static_cast<size_t>(k) * kFft], window.data(), kFft);
      const float im = Dot(&w.sinT[static_cast<size_t>(k) * kFft], window.data(), kFft);
      power[k] = re * re + im * im;
    }
    for (int m = 0; m < kMels; m++) out[static_cast<size_t>(t) * kMels + m] = Dot(&w.mel[static_cast<size_t>(m) * kBins], power.data(), kBins);
  }
  return out;
}

// The final hidden state of the last layer for each partial (B partials of kPartialFrames frames).
std::vector<float> Lstm(const Weights& w, const std::vector<float>& input, int batch) {
  std::vector<float> seq = input;  // [b][t][in]
  std::vector<float> h(static_cast<size_t>(batch) * kHidden), c(h.size()), gates(kGates);
  for (int l = 0; l < kLayers; l++) {
    const Layer& layer = w.layers[l];
    std::vector<float> next(static_cast<size_t>(batch) * kPartialFrames * kHidden);
    std::fill(h.begin(), h.end(), 0.0f);
    std::fill(c.begin(), c.end(), 0.0f);
    for (int b = 0; b < batch; b++) {
      float* hb = &h[static_cast<size_t>(b) * kHidden];
      float* cb = &c[static_cast<size_t>(b) * kHidden];
      for (int t = 0; t < kPartialFrames; t++) {
        const float* xt = &seq[(static_cast<size_t>(b) * kPartialFrames + t) * layer.in];
        for (int g = 0; g < kGates; g++) {
          gates[g] = layer.bias[g] + Dot(&layer.wih[static_cast<size_t>(g) * layer.in], xt, layer.in) + Dot(&layer.whh[static_cast<size_t>(g) * kHidden], hb, kHidden);
        }
        // PyTorch's gate order: input, forget, cell, output.
        for (int j = 0; j < kHidden; j++) {
          const float i = Sigmoid(gates[j]), f = Sigmoid(gates[kHidden + j]), g = std::tanh(gates[2 * kHidden + j]), o = Sigmoid(gates[3 * kHidden + j]);
          cb[j] = f * cb[j] + i * g;
          hb[j] = o * std::tanh(cb[j]);
        }
        std::memcpy(&next[(static_cast<size_t>(b) * kPartialFrames + t) * kHidden], hb, kHidden * sizeof(float));
      }
    }
    seq.swap(next);
  }
  return h;
}

void Normalize(float* v, int n) {
  const float norm = std::sqrt(Dot(v, v, n));
  if (norm > 0) for (int i = 0; i < n; i++) v[i] /= norm;
}

// One region's embedding (kEmbed values) from its samples.
void Embed(const Weights& w, const float* samples, int n, float* out) {
  std::vector<float> wav(samples, samples + n);
  // Volume to -30 dBFS, only ever raised.
  double sum = 0;
  for (float v : wav) sum += static_cast<double>(v) * v;
  const double rms = std::sqrt(sum / std::max(1, n));
  if (rms > 1e-6) {
    const double change = -30.0 - 20.0 * std::log10(rms);
    if (change > 0) {
      const float gain = static_cast<float>(std::pow(10.0, change / 20.0));
      for (float& v : wav) v *= gain;
    }
  }
  // Partial windows (resemblyzer's compute_partial_slices), the audio zero-padded to the last one's end.
  const int nFrames = (n + 1 + kHop - 1) / kHop;
  const int steps = std::max(1, nFrames - kPartialFrames + kFrameStep + 1);
  std::vector<int> starts;
  for (int i = 0; i < steps; i += kFrameStep) starts.push_back(i);
  if (starts.size() > 1 && static_cast<double>(n - starts.back() * kHop) / (kHop * kPartialFrames) < kMinCoverage) starts.pop_back();
  const int padded = std::max(n, (starts.back() + kPartialFrames) * kHop);
  wav.resize(padded, 0.0f);
  const std::vector<float> mel = MelFrames(w, wav.data(), padded);
  const int batch = static_cast<int>(starts.size());
  std::vector<float> input(static_cast<size_t>(batch) * kPartialFrames * kMels);
  for (int b = 0; b < batch; b++) std::memcpy(&input[static_cast<size_t>(b) * kPartialFrames * kMels], &mel[static_cast<size_t>(starts[b]) * kMels], kPartialFrames * kMels * sizeof(float));
  const std::vector<float> h = Lstm(w, input, batch);
  std::fill(out, out + kEmbed, 0.0f);
  std::vector<float> e(kEmbed);
  for (int b = 0; b < batch; b++) {
    for (int k = 0; k < kEmbed; k++) e[k] = std::max(0.0f, w.linB[k] + Dot(&w.linW[static_cast<size_t>(k) * kHidden], &h[static_cast<size_t>(b) * kHidden], kHidden));
    Normalize(e.data(), kEmbed);
    for (int k = 0; k < kEmbed; k++) out[k] += e[k] / batch;
  }
  Normalize(out, kEmbed);
}

class EmbedWorker : public Napi::AsyncWorker {
 public:
  EmbedWorker(Napi::Env env, std::shared_ptr<const Weights> weights, std::vector<float> samples, std::vector<int32_t> regions, int threads)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), weights_(std::move(weights)), samples_(std::move(samples)), regions_(std::move(regions)), threads_(threads) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    const int count = static_cast<int>(regions_.size() / 2);
    out_.assign(static_cast<size_t>(count) * kEmbed, 0.0f);
#pragma omp parallel for num_threads(threads_) schedule(dynamic)
    for (int r = 0; r < count; r++) {
      const int start = regions_[2 * r], end = regions_[2 * r + 1];
      Embed(*weights_, samples_.data() + start, end - start, &out_[static_cast<size_t>(r) * kEmbed]);
    }
  }

  void OnOK() override {
    Napi::Float32Array result = Napi::Float32Array::New(Env(), out_.size());
    std::memcpy(result.Data(), out_.data(), out_.size() * sizeof(float));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<const Weights> weights_;
  std::vector<float> samples_;
  std::vector<int32_t> regions_;
  int threads_;
  std::vector<float> out_;
};

class VoiceEncoder : public Napi::ObjectWrap<VoiceEncoder> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "VoiceEncoder", {InstanceMethod("embed", &VoiceEncoder::EmbedRegions)}); }

  // new VoiceEncoder(weights: Float32Array (the file's tensors in order), melFilters: Float32Array (40 x 201))
  explicit VoiceEncoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VoiceEncoder>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "VoiceEncoder(weights, melFilters) takes two Float32Arrays");
    Napi::Float32Array all = info[0].As<Napi::Float32Array>(), mel = info[1].As<Napi::Float32Array>();
    auto w = std::make_shared<Weights>();
    size_t at = 0;
    auto take = [&](std::vector<float>& into, size_t count) {
      if (at + count > all.ElementLength()) throw Napi::RangeError::New(env, "the voice encoder's weights are too short");
      into.assign(all.Data() + at, all.Data() + at + count);
      at += count;
    };
    for (int l = 0; l < kLayers; l++) {
      Layer& layer = w->layers[l];
      layer.in = l == 0 ? kMels : kHidden;
      std::vector<float> bih, bhh;
      take(layer.wih, static_cast<size_t>(kGates) * layer.in);
      take(layer.whh, static_cast<size_t>(kGates) * kHidden);
      take(bih, kGates);
      take(bhh, kGates);
      layer.bias.resize(kGates);
      for (int g = 0; g < kGates; g++) layer.bias[g] = bih[g] + bhh[g];
    }
    take(w->linW, static_cast<size_t>(kEmbed) * kHidden);
    take(w->linB, kEmbed);
    if (at != all.ElementLength()) throw Napi::RangeError::New(env, "the voice encoder's weights are longer than the network");
    if (mel.ElementLength() != static_cast<size_t>(kMels) * kBins) throw Napi::RangeError::New(env, "the mel filters must be 40 x 201");
    w->mel.assign(mel.Data(), mel.Data() + mel.ElementLength());
    w->cosT.resize(static_cast<size_t>(kBins) * kFft);
    w->sinT.resize(w->cosT.size());
    for (int k = 0; k < kBins; k++) {
      for (int j = 0; j < kFft; j++) {
        const double hann = 0.5 - 0.5 * std::cos(2 * M_PI * j / kFft);  // periodic
        const double angle = 2 * M_PI * k * j / kFft;
        w->cosT[static_cast<size_t>(k) * kFft + j] = static_cast<float>(hann * std::cos(angle));
        w->sinT[static_cast<size_t>(k) * kFft + j] = static_cast<float>(-hann * std::sin(angle));
      }
    }
    weights_ = w;
  }

 private:
  // embed(samples: Float32Array, regions: Int32Array of [start, end) sample pairs, threads) → Promise<Float32Array> (256 per region)
  Napi::Value EmbedRegions(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "embed(samples, regions, threads)");
    Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
    Napi::Int32Array regions = info[1].As<Napi::Int32Array>();
    const int threads = std::max(1, info[2].As<Napi::Number>().Int32Value());
    const int64_t n = static_cast<int64_t>(samples.ElementLength());
    if (regions.ElementLength() % 2 != 0) throw Napi::RangeError::New(env, "regions come in [start, end) pairs");
    for (size_t i = 0; i < regions.ElementLength(); i += 2) {
      if (regions[i] < 0 || regions[i + 1] > n || regions[i + 1] - regions[i] < kHop) throw Napi::RangeError::New(env, "a region lies outside the samples or is shorter than 10 ms");
    }
    auto* worker = new EmbedWorker(env, weights_, std::vector<float>(samples.Data(), samples.Data() + n), std::vector<int32_t>(regions.Data(), regions.Data() + regions.ElementLength()), threads);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  std::shared_ptr<const Weights> weights_;
};

}  // namespace

Napi::Function DefineVoiceEncoder(Napi::Env env) { return VoiceEncoder::Define(env); }
