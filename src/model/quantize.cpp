#include "model/quantize.h"

#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "core/error.h"
#include "formats/gguf.h"
#include "kernels/quant.h"

namespace rs {
namespace {

// Drops the pages of [p, p + n) from this process's mapping once a tensor has been read: the
// kernel keeps them in the page cache, but the process's resident size no longer grows to the
// whole input while it is quantized. Only whole pages inside the range are released.
void release_pages(const uint8_t* p, size_t n) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const auto end = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // a hint
}

bool is_float_type(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

// <arch>.block_count, or one more than the highest "blk.<i>." in the tensor names.
int64_t layer_count(const gguf::File& f) {
  if (auto arch = f.get_string("general.architecture"))
    if (auto n = f.get_uint(*arch + ".block_count")) return static_cast<int64_t>(*n);
  int64_t n = 0;
  for (const auto& t : f.tensors()) {
    if (t.name.rfind("blk.", 0) != 0) continue;
    int64_t v = 0;
    if (std::from_chars(t.name.data() + 4, t.name.data() + t.name.size(), v).ec == std::errc())
      n = std::max(n, v + 1);
  }
  return n;
}

}  // namespace

WriteReport quantize_model(const std::string& in_path, const std::string& out_path,
                           const QuantizeOptions& opts) {
  std::error_code ec;
  RS_CHECK(std::filesystem::exists(in_path, ec), "input model '{}' not found", in_path);
  const auto in = gguf::File::open(in_path);
  RS_CHECK(!in->tensors().empty(), "{}: has no tensors to quantize", in_path);

  std::vector<std::string> names;
  for (const auto& t : in->tensors()) names.push_back(t.name);
  const QuantModelInfo info = quant_model_info(names, layer_count(*in),
                                               in->get_string("general.architecture").value_or(""));

  // Plan every tensor and refuse what cannot be done before writing a byte.
  std::vector<TensorJob> jobs;
  for (const auto& t : in->tensors()) {
    const TypeChoice c = choose_tensor_type(t.name, t.ne, t.type, opts.mix, opts.pure, info);
    TensorJob j;
    j.plan = {t.name, t.ne, t.type, c.type, c.note, t.nbytes, 0};
    if (c.type == t.type) {
      j.raw = {t.data, t.nbytes};
    } else {
      RS_CHECK(is_float_type(t.type) || opts.allow_requantize,
               "{}: tensor '{}' is already quantized ({}); re-quantizing it to {} loses precision "
               "twice. "
               "Quantize the F32/F16/BF16 original instead, or pass --allow-requantize",
               in_path, t.name, dtype_name(t.type), dtype_name(c.type));
      RS_CHECK(kernels::is_supported(t.type),
               "{}: tensor '{}' has type {}, which rightsize cannot read yet", in_path, t.name,
               dtype_name(t.type));
      const DType from = t.type;
      const uint8_t* data = t.data;
      const int64_t n = t.ne[0];
      const size_t in_row = row_bytes(dtype_info(from), static_cast<uint64_t>(n));
      j.row_values = [from, data, n, in_row](int64_t row, float* out) {
        kernels::dequantize_row(from, data + static_cast<size_t>(row) * in_row, out, n);
      };
    }
    j.release = [data = t.data, n = t.nbytes] { release_pages(data, n); };
    jobs.push_back(std::move(j));
  }

  gguf::Writer w(in->alignment());
  for (const auto& [key, value] : in->metadata()) w.set(key, value);
  w.set("general.quantization_version", gguf::Value::of_u32(2));
  w.set("general.file_type", gguf::Value::of_u32(quant_mix_info(opts.mix).file_type));
  // A split model's pieces would be rejoined here; the output is one file.
  for (const char* key : {"split.no", "split.count", "split.tensors.count"}) w.remove(key);

  WriteReport r = write_converted(w, std::move(jobs), out_path, opts.n_threads, opts.progress);
  return r;
}

}  // namespace rs
