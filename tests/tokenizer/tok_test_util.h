// Helpers for the tokenizer tests: llama.cpp's .inp/.out vector files and hex strings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace rs::test {

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

// Reads <vocab>.inp / <vocab>.out as llama.cpp's test-tokenizer-0 does: inputs are separated by
// "\n__ggml_vocab_test__\n" (the file ends with one), outputs are one line of ids per input.
inline std::vector<VocabCase> read_vocab_cases(const std::filesystem::path& inp,
                                               const std::filesystem::path& out) {
  const std::string raw = read_file(inp);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream lines(read_file(out));
  std::vector<VocabCase> cases;
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line)) {
    VocabCase c;
    c.text = i < texts.size() ? texts[i] : std::string();
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) c.ids.push_back(id);
    cases.push_back(std::move(c));
    ++i;
  }
  EXPECT_EQ(texts.size(), cases.size()) << inp << " and " << out << " disagree on the count";
  return cases;
}

inline std::string to_hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h += digits[c >> 4];
    h += digits[c & 15];
  }
  return h;
}

inline std::string escape(const std::string& s) {
  std::string e;
  for (unsigned char c : s) {
    if (c == '\n')
      e += "\\n";
    else if (c == '\t')
      e += "\\t";
    else if (c == '\r')
      e += "\\r";
    else if (c < 0x20)
      e.append("\\x").append(to_hex(std::string(1, static_cast<char>(c))));
    else
      e += static_cast<char>(c);
  }
  return e;
}

inline std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

// Keeps the parsed GGUF alive as long as the tokenizer test needs it.
struct LoadedTokenizer {
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<Tokenizer> tok;
};

inline LoadedTokenizer load_gguf_tokenizer(const std::filesystem::path& path) {
  LoadedTokenizer t;
  t.file = gguf::File::open(path.string());
  t.tok = Tokenizer::from_gguf(*t.file);
  return t;
}

}  // namespace rs::test
