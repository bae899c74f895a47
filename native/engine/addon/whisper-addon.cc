// The hub's binding over whisper.cpp 1.9.1. One `Model` loads a model once;
// each `transcribe` runs on a thread of its own with a whisper state taken
// from the model's pool (so several jobs share one model, on the CPU or one
// GPU), reports segments as whisper emits them, and can be aborted inside the
// run through whisper's abort callback. Segments carry words (token
// timestamps, or DTW alignment over the model's alignment heads when the
// model is loaded with `dtw`; joined into words here so multi-byte text is
// never split),
// their probabilities, the average log probability and the no-speech
// probability. The JS side is native/engine/whisper-cpp.ts; nothing here
// decides policy (which segments to keep): it reports what whisper says.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ggml-backend.h"
#include "whisper.h"

Napi::Function DefineVoiceEncoder(Napi::Env env);  // voice-encoder.cc: speaker embeddings

namespace {

struct Word {
  std::string text;
  int64_t t0 = 0, t1 = 0;  // centiseconds from the start of the audio
  double pSum = 0;
  int tokens = 0;
};

struct Segment {
  int64_t t0 = 0, t1 = 0;
  std::string text;
  float noSpeechProb = 0;
  double logprobSum = 0;
  int tokens = 0;
  std::vector<Word> words;
};

struct Options {
  int threads = 1;
  std::string language;  // empty: detect
  bool translate = false;
  int audioCtx = 0;
  int maxTokens = 0;
  float temperature = 0.0f;
  float temperatureInc = 0.2f;
  int beamSize = 0;  // 0 or 1: greedy
  int bestOf = 5;
  std::string prompt;
  bool tokenTimestamps = true;
  bool suppressNst = true;
  /** a further window over less audio than this after the last segment, holding no speech, is not run (0: always run it) */
  int quietTailMs = 2000;
};

/** Only errors reach stderr (whisper.cpp narrates every load and run otherwise), and not those our own stops cause. */
void quietLog(ggml_log_level level, const char* text, void*) {
  if (level != GGML_LOG_LEVEL_ERROR) return;
  if (std::strstr(text, "encoder_begin_callback returned false") || std::strstr(text, "failed to encode")) return;
  std::fputs(text, stderr);
}

/**
 * Whether samples[from..] hold no speech: every 20 ms frame more than 30 dB
 * below the loudest frame of the whole audio, or under -50 dBFS (the rule the
 * hub's snap-to-speech uses too).
 */
bool isQuiet(const std::vector<float>& samples, size_t from) {
  const size_t frame = WHISPER_SAMPLE_RATE / 50;
  auto rms = [&](size_t at) {
    double sum = 0;
    const size_t end = std::min(samples.size(), at + frame);
    for (size_t i = at; i < end; i++) sum += samples[i] * samples[i];
    return end > at ? std::sqrt(sum / static_cast<double>(end - at)) : 0.0;
  };
  double peak = 0;
  for (size_t at = 0; at < samples.size(); at += frame) peak = std::max(peak, rms(at));
  const double threshold = std::max(0.003, peak * 0.0316);
  for (size_t at = from; at < samples.size(); at += frame) {
    if (rms(at) >= threshold) return false;
  }
  return true;
}

/**
 * The alignment heads of the model in `path`, told by its shape (whisper.cpp
 * keeps the published heads per model; the shape is all a ggml file says of
 * which model it is). A shape no published model has gets the heads of the
 * top half of its text layers. Large v1 and v2 share a shape: v2's heads.
 */
struct Alignment {
  whisper_alignment_heads_preset preset = WHISPER_AHEADS_N_TOP_MOST;
  int nTop = 1;
};

Alignment alignmentOf(const std::string& path) {
  Alignment a;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return a;
  int32_t h[12] = {0};  // magic, n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
  const size_t read = std::fread(h, sizeof(int32_t), 12, f);
  std::fclose(f);
  if (read < 12) return a;
  const int vocab = h[1], state = h[3], textLayers = h[9], mels = h[10];
  const bool english = vocab == 51864;
  a.nTop = std::max(1, textLayers / 2);
  if (state == 384 && textLayers == 4) a.preset = english ? WHISPER_AHEADS_TINY_EN : WHISPER_AHEADS_TINY;
  else if (state == 512 && textLayers == 6) a.preset = english ? WHISPER_AHEADS_BASE_EN : WHISPER_AHEADS_BASE;
  else if (state == 768 && textLayers == 12) a.preset = english ? WHISPER_AHEADS_SMALL_EN : WHISPER_AHEADS_SMALL;
  else if (state == 1024 && textLayers == 24) a.preset = english ? WHISPER_AHEADS_MEDIUM_EN : WHISPER_AHEADS_MEDIUM;
  else if (state == 1280 && textLayers == 32) a.preset = mels == 128 ? WHISPER_AHEADS_LARGE_V3 : WHISPER_AHEADS_LARGE_V2;
  else if (state == 1280 && textLayers == 4 && mels == 128) a.preset = WHISPER_AHEADS_LARGE_V3_TURBO;
  return a;
}

Segment readSegment(whisper_context* ctx, whisper_state* state, int i, bool dtw) {
  Segment s;
  s.t0 = whisper_full_get_segment_t0_from_state(state, i);
  s.t1 = whisper_full_get_segment_t1_from_state(state, i);
  s.text = whisper_full_get_segment_text_from_state(state, i);
  s.noSpeechProb = whisper_full_get_segment_no_speech_prob_from_state(state, i);
  const whisper_token eot = whisper_token_eot(ctx);
  const int n = whisper_full_n_tokens_from_state(state, i);
  for (int j = 0; j < n; j++) {
    const whisper_token_data d = whisper_full_get_token_data_from_state(state, i, j);
    if (d.id >= eot) continue;  // timestamps and other special tokens
    const std::string piece = whisper_token_to_str(ctx, d.id);
    s.logprobSum += d.plog;
    s.tokens++;
    // A piece that opens with a space starts a word; punctuation and the rest of a word join the last one.
    if (s.words.empty() || (!piece.empty() && piece[0] == ' ')) {
      s.words.push_back(Word{piece, d.t0, d.t1, 0, 0});
    }
    Word& w = s.words.back();
    if (w.tokens > 0) w.text += piece;
    // DTW dates where each token starts: a word starts with its first token, and ends where the next one starts.
    if (dtw && d.t_dtw >= 0) {
      if (w.tokens == 0) {
        w.t0 = d.t_dtw;
        if (s.words.size() > 1) s.words[s.words.size() - 2].t1 = std::max(s.words[s.words.size() - 2].t0, d.t_dtw);
      }
    }
    w.t1 = std::max(w.t0, d.t1);
    w.pSum += d.p;
    w.tokens++;
  }
  return s;
}

Napi::Object segmentToJs(Napi::Env env, const Segment& s) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("t0", Napi::Number::New(env, static_cast<double>(s.t0)));
  out.Set("t1", Napi::Number::New(env, static_cast<double>(s.t1)));
  out.Set("text", Napi::String::New(env, s.text));
  out.Set("noSpeechProb", Napi::Number::New(env, s.noSpeechProb));
  out.Set("avgLogprob", Napi::Number::New(env, s.tokens ? s.logprobSum / s.tokens : 0));
  Napi::Array words = Napi::Array::New(env, s.words.size());
  for (size_t k = 0; k < s.words.size(); k++) {
    const Word& w = s.words[k];
    Napi::Object word = Napi::Object::New(env);
    word.Set("text", Napi::String::New(env, w.text));
    word.Set("t0", Napi::Number::New(env, static_cast<double>(w.t0)));
    word.Set("t1", Napi::Number::New(env, static_cast<double>(w.t1)));
    word.Set("p", Napi::Number::New(env, w.tokens ? w.pSum / w.tokens : 0));
    words.Set(k, word);
  }
  out.Set("words", words);
  return out;
}

Options readOptions(const Napi::Object& o) {
  Options r;
  auto num = [&](const char* key, double fallback) { return o.Has(key) && o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().DoubleValue() : fallback; };
  auto str = [&](const char* key) { return o.Has(key) && o.Get(key).IsString() ? o.Get(key).As<Napi::String>().Utf8Value() : std::string(); };
  r.threads = static_cast<int>(num("threads", 1));
  r.language = str("language");
  r.translate = o.Has("translate") && o.Get("translate").ToBoolean();
  r.audioCtx = static_cast<int>(num("audioCtx", 0));
  r.maxTokens = static_cast<int>(num("maxTokens", 0));
  r.temperature = static_cast<float>(num("temperature", 0));
  r.temperatureInc = static_cast<float>(num("temperatureInc", 0.2));
  r.beamSize = static_cast<int>(num("beamSize", 0));
  r.bestOf = static_cast<int>(num("bestOf", 5));
  r.prompt = str("prompt");
  if (o.Has("tokenTimestamps")) r.tokenTimestamps = o.Get("tokenTimestamps").ToBoolean();
  if (o.Has("suppressNst")) r.suppressNst = o.Get("suppressNst").ToBoolean();
  r.quietTailMs = static_cast<int>(num("quietTailMs", 2000));
  return r;
}

class Model;

/** One transcription: its audio, its state while it runs, what it found. */
struct Run {
  Model* model = nullptr;
  Napi::ObjectReference modelRef;  // the model outlives every run of it
  std::vector<float> samples;
  Options options;
  std::shared_ptr<std::atomic<bool>> aborted;
  int encodes = 0;
  bool tailSkipped = false;
  Napi::ThreadSafeFunction tsfn;
  Napi::Promise::Deferred deferred;
  bool hasSegmentCallback = false;
  whisper_state* state = nullptr;
  int code = 0;
  std::string language;
  std::vector<Segment> segments;
  std::string error;
  explicit Run(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  /** the audio positions this run's encoder uses */
  int AudioCtx() const;
};

/** What the run's thread hands to the JS thread: a new segment, or the end. */
struct Message {
  Run* run = nullptr;  // set on the last message
  Segment segment;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model", {
      InstanceMethod("transcribe", &Model::Transcribe),
      InstanceMethod("close", &Model::Close),
      InstanceAccessor("multilingual", &Model::Multilingual, nullptr),
      InstanceAccessor("type", &Model::Type, nullptr),
      InstanceAccessor("states", &Model::States, nullptr),
    });
  }

  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Model(path, options?)");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    whisper_context_params params = whisper_context_default_params();
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("useGpu")) params.use_gpu = o.Get("useGpu").ToBoolean();
      if (o.Has("gpuDevice") && o.Get("gpuDevice").IsNumber()) params.gpu_device = o.Get("gpuDevice").As<Napi::Number>().Int32Value();
      if (o.Has("flashAttn")) params.flash_attn = o.Get("flashAttn").ToBoolean();
      if (o.Has("dtw") && o.Get("dtw").ToBoolean()) {
        // whisper.cpp computes DTW from the attention weights, which flash attention never forms.
        const Alignment a = alignmentOf(path);
        params.flash_attn = false;
        params.dtw_token_timestamps = true;
        params.dtw_aheads_preset = a.preset;
        params.dtw_n_top = a.nTop;
        dtw_ = true;
      }
    }
    ctx_ = whisper_init_from_file_with_params_no_state(path.c_str(), params);
    if (!ctx_) throw Napi::Error::New(env, "cannot load the model " + path + " (not a whisper.cpp ggml model, or unreadable)");
  }

  ~Model() override { Free(); }

  /**
   * A state for a run whose encoder uses `ctx` audio positions. With flash
   * attention whisper.cpp's encoder attends over ctx rounded up to 256
   * positions, unmasked; the rounding's positions hold whatever an earlier,
   * wider encode on the same state left there (another audio's keys). So a
   * state that ever encoded past `ctx` is not reused for this run: it is
   * replaced by a fresh one (zeros there), and the same audio always gives
   * the same text, whatever ran before (docs/decisions.md).
   */
  whisper_state* Acquire(int ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = free_.size(); i-- > 0;) {
      if (free_[i].widest > ctx) continue;
      whisper_state* s = free_[i].state;
      free_.erase(free_.begin() + static_cast<long>(i));
      return s;
    }
    if (!free_.empty()) {  // keep the pool's size: a stale state makes room for the fresh one
      whisper_free_state(free_.front().state);
      free_.erase(free_.begin());
    }
    whisper_state* s = whisper_init_state(ctx_);
    if (s) created_++;
    return s;
  }

  /** `widest`: the widest audio context any encode on `s` has used. */
  void Release(whisper_state* s, int widest) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back({s, widest});
  }

  whisper_context* ctx() const { return ctx_; }
  bool dtw() const { return dtw_; }

 private:
  whisper_context* ctx_ = nullptr;
  bool dtw_ = false;
  std::mutex mu_;
  struct Pooled {
    whisper_state* state;
    int widest;
  };
  std::vector<Pooled> free_;
  int created_ = 0;
  int running_ = 0;

  void Free() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Pooled& p : free_) whisper_free_state(p.state);
    free_.clear();
    if (ctx_) whisper_free(ctx_);
    ctx_ = nullptr;
  }

  Napi::Value Multilingual(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ctx_ && whisper_is_multilingual(ctx_)); }
  Napi::Value Type(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ctx_ ? whisper_model_type_readable(ctx_) : ""); }
  Napi::Value States(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), created_); }

  /** Frees the model now (its idle states too); refused while a run is going on. */
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (running_ > 0) throw Napi::Error::New(info.Env(), "the model is still transcribing");
    Free();
    return info.Env().Undefined();
  }

  /** transcribe(samples: Float32Array, options, onSegment?) → { done: Promise, abort() } */
  Napi::Value Transcribe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!ctx_) throw Napi::Error::New(env, "the model is closed");
    if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "transcribe(samples: Float32Array, options, onSegment?)");
    }
    Napi::Float32Array input = info[0].As<Napi::Float32Array>();
    auto* run = new Run(env);
    run->model = this;
    run->modelRef = Napi::Persistent(Value());
    run->samples.assign(input.Data(), input.Data() + input.ElementLength());
    run->options = readOptions(info[1].As<Napi::Object>());
    run->aborted = std::make_shared<std::atomic<bool>>(false);
    run->hasSegmentCallback = info.Length() > 2 && info[2].IsFunction();
    Napi::Function onSegment = run->hasSegmentCallback ? info[2].As<Napi::Function>() : Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
    run->tsfn = Napi::ThreadSafeFunction::New(env, onSegment, "whisper-run", 0, 1);
    running_++;
    std::thread([run] { Work(run); }).detach();

    Napi::Object job = Napi::Object::New(env);
    job.Set("done", run->deferred.Promise());
    std::shared_ptr<std::atomic<bool>> flag = run->aborted;
    job.Set("abort", Napi::Function::New(env, [flag](const Napi::CallbackInfo& i) {
      flag->store(true);
      return i.Env().Undefined();
    }));
    return job;
  }

  /** On the run's own thread. */
  static void Work(Run* run) {
    run->state = run->model->Acquire(run->AudioCtx());
    if (!run->state) {
      run->error = "could not allocate a whisper state (out of memory?)";
    } else {
      whisper_full_params p = whisper_full_default_params(run->options.beamSize > 1 ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
      const Options& o = run->options;
      p.n_threads = o.threads;
      p.language = o.language.empty() ? "auto" : o.language.c_str();
      p.translate = o.translate;
      p.audio_ctx = o.audioCtx;
      p.max_tokens = o.maxTokens;
      p.temperature = o.temperature;
      p.temperature_inc = o.temperatureInc;
      p.greedy.best_of = o.bestOf;
      if (o.beamSize > 1) p.beam_search.beam_size = o.beamSize;
      p.initial_prompt = o.prompt.empty() ? nullptr : o.prompt.c_str();
      p.token_timestamps = o.tokenTimestamps;
      p.suppress_nst = o.suppressNst;  // no "(wind howling)" or music notes: OpenAI's default suppress_tokens=-1
      p.print_progress = p.print_realtime = p.print_timestamps = p.print_special = false;
      p.abort_callback = [](void* data) { return static_cast<std::atomic<bool>*>(data)->load(); };
      p.abort_callback_user_data = run->aborted.get();
      // Before each window: stop if aborted; skip a window over a short tail. whisper.cpp 1.9.1 runs
      // another full 30 s window whenever 100 ms remain after the last timestamp, which doubles the
      // cost of a 30 s chunk for the half second of (mostly) silence the chunk planner cut it at.
      p.encoder_begin_callback = [](whisper_context*, whisper_state* state, void* data) {
        Run* r = static_cast<Run*>(data);
        if (r->aborted->load()) return false;
        if (r->encodes++ == 0 || r->options.quietTailMs <= 0) return true;
        const int n = whisper_full_n_segments_from_state(state);
        if (n == 0) return true;
        const size_t from = static_cast<size_t>(whisper_full_get_segment_t1_from_state(state, n - 1)) * WHISPER_SAMPLE_RATE / 100;
        if (from >= r->samples.size() || (r->samples.size() - from) * 1000 / WHISPER_SAMPLE_RATE >= static_cast<size_t>(r->options.quietTailMs)) return true;
        if (!isQuiet(r->samples, from)) return true;  // a word may be in it: let whisper hear it
        r->tailSkipped = true;
        return false;
      };
      p.encoder_begin_callback_user_data = run;
      if (run->hasSegmentCallback) {
        p.new_segment_callback = [](whisper_context* ctx, whisper_state* state, int nNew, void* data) {
          Run* r = static_cast<Run*>(data);
          const int n = whisper_full_n_segments_from_state(state);
          for (int i = n - nNew; i < n; i++) {
            auto* m = new Message{nullptr, readSegment(ctx, state, i, r->model->dtw())};
            r->tsfn.NonBlockingCall(m, Deliver);
          }
        };
        p.new_segment_callback_user_data = run;
      }
      whisper_context* ctx = run->model->ctx();
      run->code = whisper_full_with_state(ctx, run->state, p, run->samples.data(), static_cast<int>(run->samples.size()));
      if (run->tailSkipped && !run->aborted->load()) run->code = 0;  // stopped on purpose: what was decoded stands
      if (run->code == 0 && !run->aborted->load()) {
        const int n = whisper_full_n_segments_from_state(run->state);
        for (int i = 0; i < n; i++) run->segments.push_back(readSegment(ctx, run->state, i, run->model->dtw()));
        const int lang = whisper_full_lang_id_from_state(run->state);
        run->language = lang >= 0 ? whisper_lang_str(lang) : "";
      }
      run->model->Release(run->state, run->AudioCtx());
    }
    Napi::ThreadSafeFunction tsfn = run->tsfn;
    tsfn.BlockingCall(new Message{run, {}}, Finish);
    tsfn.Release();
  }

  static void Deliver(Napi::Env env, Napi::Function onSegment, Message* m) {
    std::unique_ptr<Message> own(m);
    if (env != nullptr && onSegment != nullptr) onSegment.Call({segmentToJs(env, m->segment)});
  }

  /** Back on the JS thread: the promise settles, the run is freed. */
  static void Finish(Napi::Env env, Napi::Function, Message* m) {
    std::unique_ptr<Message> own(m);
    std::unique_ptr<Run> run(m->run);
    if (env == nullptr) {  // the environment is going away: nothing to settle
      run->modelRef.SuppressDestruct();
      return;
    }
    run->model->running_--;
    const bool aborted = run->aborted->load();
    if (!run->error.empty() || (run->code != 0 && !aborted)) {
      const std::string why = !run->error.empty() ? run->error : "whisper_full failed (code " + std::to_string(run->code) + ")";
      run->deferred.Reject(Napi::Error::New(env, why).Value());
      return;
    }
    Napi::Object result = Napi::Object::New(env);
    Napi::Array segments = Napi::Array::New(env, run->segments.size());
    for (size_t i = 0; i < run->segments.size(); i++) segments.Set(i, segmentToJs(env, run->segments[i]));
    result.Set("segments", segments);
    result.Set("language", Napi::String::New(env, run->language));
    result.Set("aborted", Napi::Boolean::New(env, aborted));
    run->deferred.Resolve(result);
  }
};

/** The compute devices ggml sees (the CPU, and each GPU of a CUDA build), with their memory. */
Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = ggml_backend_dev_count();
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    size_t freeBytes = 0, totalBytes = 0;
    ggml_backend_dev_memory(dev, &freeBytes, &totalBytes);
    const auto type = ggml_backend_dev_type(dev);
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", Napi::String::New(env, ggml_backend_dev_name(dev)));
    d.Set("description", Napi::String::New(env, ggml_backend_dev_description(dev)));
    d.Set("type", Napi::String::New(env, type == GGML_BACKEND_DEVICE_TYPE_GPU ? "gpu" : type == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : type == GGML_BACKEND_DEVICE_TYPE_IGPU ? "igpu" : "accel"));
    d.Set("memoryFree", Napi::Number::New(env, static_cast<double>(freeBytes)));
    d.Set("memoryTotal", Napi::Number::New(env, static_cast<double>(totalBytes)));
    out.Set(i, d);
  }
  return out;
}

int Run::AudioCtx() const {
  const int whole = whisper_model_n_audio_ctx(model->ctx());
  return options.audioCtx > 0 ? std::min(options.audioCtx, whole) : whole;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  whisper_log_set(quietLog, nullptr);
  exports.Set("Model", Model::Define(env));
  exports.Set("VoiceEncoder", DefineVoiceEncoder(env));
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("version", Napi::String::New(env, whisper_version()));
  exports.Set("backend", Napi::String::New(env, WHISPER_HUB_BACKEND));
  exports.Set("systemInfo", Napi::String::New(env, whisper_print_system_info()));
  return exports;
}

}  // namespace

NODE_API_MODULE(whisper_hub, Init)
