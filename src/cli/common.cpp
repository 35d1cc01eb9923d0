#include "cli/common.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/utf8.h"

namespace rs::cli {

void add_kv_type_option(CLI::App& cmd, KvType& type) {
  const std::map<std::string, KvType> names{{"f16", KvType::F16}, {"f32", KvType::F32}};
  cmd.add_option("--kv-type", type,
                 "KV cache type: f16 (half the memory and attention reads, as llama.cpp's "
                 "default) or f32 (exact)")
      ->transform(CLI::CheckedTransformer(names))
      ->default_str(kv_type_name(type));
}

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i == text.size()) break;
    int32_t v = 0;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
    RS_CHECK(ec == std::errc() && p != text.data() + i,
             "--ids expects comma-separated token ids like 1,2,3; cannot read '{}'",
             text.substr(i, 16));
    ids.push_back(v);
    i = static_cast<size_t>(p - text.data());
    RS_CHECK(i == text.size() || text[i] == ',' || text[i] == ' ',
             "--ids expects comma-separated token ids like 1,2,3; cannot read '{}'",
             text.substr(i, 16));
  }
  RS_CHECK(!ids.empty(), "--ids is empty");
  return ids;
}

void require_utf8(const std::string& text, const char* what) {
  if (auto bad = utf8::find_invalid(text))
    fail("the {} is not valid UTF-8 (bad byte 0x{:02x} at offset {}); re-encode it as UTF-8", what,
         static_cast<unsigned char>(text[*bad]), *bad);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RS_CHECK(in.good(), "cannot open prompt file '{}'", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace rs::cli
