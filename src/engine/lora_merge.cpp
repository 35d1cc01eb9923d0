#include "engine/lora_merge.h"

#include <regex>

#include "core/error.h"
#include "formats/gguf.h"
#include "kernels/quant.h"

namespace rs {

WriteReport merge_lora(const Model& base, const LoraAdapter& adapter, const std::string& out_path,
                       const MergeOptions& opts) {
  const gguf::File* in = base.source().gguf();
  RS_CHECK(in,
           "{}: lora merge needs a GGUF base model (its metadata and tokenizer are copied); "
           "convert the Hugging Face folder to GGUF first",
           base.source().describe());
  RS_CHECK(adapter.n_layer() == base.hparams().n_layer, "the adapter was bound to another model");
  static const std::regex kName(R"(blk\.(\d+)\.(\w+)\.weight)");
  std::vector<TensorJob> jobs;
  int merged = 0;
  for (const auto& t : in->tensors()) {
    TensorJob j;
    j.plan = {t.name, t.ne, t.type, t.type, "", t.nbytes, 0};
    const LoraWeight* w = nullptr;
    std::smatch m;
    if (std::regex_match(t.name, m, kName)) {
      for (int ti = 0; ti < lora::kNumTargets && !w; ++ti)
        if (m[2] == std::string(lora::gguf_weight(static_cast<lora::Target>(ti))))
          w = adapter.get(std::stoll(m[1].str()), static_cast<lora::Target>(ti));
    }
    if (!w) {
      j.raw = {t.data, t.nbytes};
      jobs.push_back(std::move(j));
      continue;
    }
    RS_CHECK(t.ne.size() == 2 && t.ne[0] == w->n_in && t.ne[1] == w->n_out,
             "tensor '{}' does not match the adapter", t.name);
    RS_CHECK(kernels::is_supported(t.type), "tensor '{}' has type {}, which rightsize cannot read",
             t.name, dtype_name(t.type));
    DType to = opts.type == MergeType::F32   ? DType::F32
               : opts.type == MergeType::F16 ? DType::F16
                                             : t.type;
    j.plan.to = to;
    j.plan.note = "merged LoRA";
    const DType from = t.type;
    const uint8_t* data = t.data;
    const size_t in_row = row_bytes(dtype_info(from), static_cast<uint64_t>(w->n_in));
    j.row_values = [from, data, in_row, w](int64_t row, float* out) {
      kernels::dequantize_row(from, data + static_cast<size_t>(row) * in_row, out, w->n_in);
      thread_local std::vector<float> delta;
      delta.resize(static_cast<size_t>(w->n_in));
      LoraAdapter::delta_row(*w, row, delta.data());
      for (int64_t i = 0; i < w->n_in; ++i) out[i] += delta[static_cast<size_t>(i)];
    };
    jobs.push_back(std::move(j));
    ++merged;
  }
  RS_CHECK(merged > 0, "the adapter adapts none of the base model's tensors");
  gguf::Writer wr(in->alignment());
  for (const auto& [key, value] : in->metadata()) wr.set(key, value);
  wr.set("general.name",
         gguf::Value::of_string(in->get_string("general.name").value_or("model") + " + LoRA"));
  return write_converted(wr, std::move(jobs), out_path, opts.n_threads, opts.progress);
}

}  // namespace rs
