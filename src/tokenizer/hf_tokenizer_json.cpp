// Tokenizers from Hugging Face files, converted the way llama.cpp's convert_hf_to_gguf.py would
// convert them, so they tokenize exactly like the GGUF it would write:
//  - tokenizer.json with a byte-level BPE model (merges as "a b" strings or [a, b] pairs; the
//    pre-tokenizer's Split regex names the llama.cpp pre-tokenizer, or is used as is), or with a
//    WordPiece model (tokens become "\u2581word" / "piece" as llama.cpp stores them);
//  - OpenAI-style encoder.json + vocab.bpe with a named pre-tokenizer (Llama 3: the 256 special
//    tokens <|begin_of_text|> = 128000 ... follow the 128000 regular ones).
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "tokenizer/bpe_pretokenize.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace rs {
namespace {

using nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read {}", path);
  return ss.str();
}

json parse_json(const std::string& path) {
  try {
    return json::parse(read_text(path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

// token -> id object to a dense table; gaps are filled like the converter does ("[PAD<id>]").
void dense_vocab(const json& vocab, const std::string& path, std::vector<std::string>& tokens,
                 std::vector<int32_t>& types) {
  if (!vocab.is_object()) fail("{}: the vocabulary is not a JSON object of token -> id", path);
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 24))
      fail("{}: token \"{}\" has a bad id", path, tok);
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (max_id < 0) fail("{}: the vocabulary is empty", path);
  tokens.assign(static_cast<size_t>(max_id + 1), std::string());
  types.assign(tokens.size(), static_cast<int32_t>(TokenType::Normal));
  for (const auto& [tok, id] : vocab.items()) {
    auto& slot = tokens[id.get<size_t>()];
    if (!slot.empty()) fail("{}: id {} is used by two tokens", path, id.get<int64_t>());
    slot = tok;
  }
}

void fill_gaps(std::vector<std::string>& tokens, std::vector<int32_t>& types) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].empty()) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = static_cast<int32_t>(TokenType::Unused);
    }
  }
}

// Added tokens (id, content, special) placed into the table.
void add_added_tokens(const json& root, const std::string& path, std::vector<std::string>& tokens,
                      std::vector<int32_t>& types) {
  if (!root.contains("added_tokens") || !root["added_tokens"].is_array()) return;
  for (const json& t : root["added_tokens"]) {
    if (!t.contains("id") || !t.contains("content")) continue;
    const int64_t id = t["id"].get<int64_t>();
    if (id < 0 || id > (1 << 24)) fail("{}: added token with bad id {}", path, id);
    if (static_cast<size_t>(id) >= tokens.size()) {
      tokens.resize(static_cast<size_t>(id) + 1);
      types.resize(tokens.size(), static_cast<int32_t>(TokenType::Unused));
    }
    tokens[id] = t["content"].get<std::string>();
    const bool special = t.value("special", false);
    types[id] = static_cast<int32_t>(special ? TokenType::Control : TokenType::UserDefined);
  }
}

int64_t find_token(const std::vector<std::string>& tokens,
                   std::initializer_list<const char*> names) {
  for (const char* n : names)
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == n) return static_cast<int64_t>(i);
  return -1;
}

// Special tokens a TemplateProcessing / BertProcessing post-processor puts around one sequence.
void template_specials(const json& root, const std::vector<std::string>& tokens,
                       tok::VocabSpec& spec) {
  if (!root.contains("post_processor") || !root["post_processor"].is_object()) return;
  const json& pp = root["post_processor"];
  const std::string type = pp.value("type", "");
  auto id_of = [&](const std::string& name) {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == name) return static_cast<int64_t>(i);
    return int64_t{-1};
  };
  if (type == "TemplateProcessing" && pp.contains("single") && pp["single"].is_array()) {
    const json& single = pp["single"];
    bool seen_sequence = false;
    for (const json& item : single) {
      if (item.contains("Sequence")) {
        seen_sequence = true;
      } else if (item.contains("SpecialToken")) {
        const int64_t id = id_of(item["SpecialToken"].value("id", ""));
        if (id < 0) continue;
        if (!seen_sequence)
          spec.bos = id;
        else
          spec.eos = id;
      }
    }
    spec.add_bos = !single.empty() && single.front().contains("SpecialToken");
    spec.add_eos = !single.empty() && single.back().contains("SpecialToken");
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    if (pp.contains("cls") && pp["cls"].is_array() && pp["cls"].size() == 2)
      spec.bos = pp["cls"][1].get<int64_t>();
    if (pp.contains("sep") && pp["sep"].is_array() && pp["sep"].size() == 2)
      spec.sep = pp["sep"][1].get<int64_t>();
  } else if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
    json inner = root;
    for (const json& p : pp["processors"]) {
      inner["post_processor"] = p;
      template_specials(inner, tokens, spec);
    }
  }
}

// Split regexes and whether the pre-tokenizer is byte level.
void collect_pre(const json& pre, std::vector<std::string>& regexes, bool& byte_level,
                 bool& byte_level_regex) {
  if (!pre.is_object()) return;
  const std::string type = pre.value("type", "");
  if (type == "Sequence" && pre.contains("pretokenizers")) {
    for (const json& p : pre["pretokenizers"])
      collect_pre(p, regexes, byte_level, byte_level_regex);
  } else if (type == "Split" && pre.contains("pattern")) {
    const json& pat = pre["pattern"];
    if (pat.contains("Regex")) regexes.push_back(pat["Regex"].get<std::string>());
  } else if (type == "ByteLevel") {
    byte_level = true;
    byte_level_regex = byte_level_regex || pre.value("use_regex", true);
  }
}

std::unique_ptr<Tokenizer> bpe_from_json(const json& root, const std::string& path) {
  const json& model = root["model"];
  tok::VocabSpec spec;
  spec.source = path;
  spec.model = "gpt2";
  if (!model.contains("vocab")) fail("{}: BPE model without a vocab", path);
  dense_vocab(model["vocab"], path, spec.tokens, spec.types);
  add_added_tokens(root, path, spec.tokens, spec.types);
  fill_gaps(spec.tokens, spec.types);
  if (!model.contains("merges") || !model["merges"].is_array())
    fail("{}: BPE model without a merges list", path);
  for (const json& m : model["merges"]) {
    if (m.is_string()) {
      spec.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      spec.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      fail("{}: a merge is neither \"a b\" nor [\"a\", \"b\"]", path);
    }
  }

  std::vector<std::string> regexes;
  bool byte_level = false, byte_level_regex = false;
  if (root.contains("pre_tokenizer"))
    collect_pre(root["pre_tokenizer"], regexes, byte_level, byte_level_regex);
  if (root.contains("decoder") && root["decoder"].is_object() &&
      root["decoder"].value("type", "") == "ByteLevel")
    byte_level = true;
  if (!byte_level)
    fail(
        "{}: only byte-level BPE tokenizer.json files are supported (no ByteLevel "
        "pre-tokenizer or decoder found)",
        path);
  if (regexes.size() == 1 && tok::pre_name_for_regex(regexes[0])) {
    spec.pre = *tok::pre_name_for_regex(regexes[0]);
  } else if (regexes.empty()) {
    spec.pre = "gpt-2";  // ByteLevel with use_regex: GPT-2's own split
  } else {
    spec.pre = "default";
    spec.custom_regexes = regexes;
    if (byte_level_regex)
      spec.custom_regexes.push_back(
          R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
  }

  template_specials(root, spec.tokens, spec);
  if (!spec.bos) {
    const int64_t b = find_token(spec.tokens, {"<|begin_of_text|>", "<s>", "<|endoftext|>"});
    if (b >= 0) spec.bos = b;
  }
  if (!spec.eos) {
    const int64_t e =
        find_token(spec.tokens, {"<|end_of_text|>", "<|endoftext|>", "</s>", "<|im_end|>"});
    if (e >= 0) spec.eos = e;
  }
  return tok::make_tokenizer(spec);
}

std::unique_ptr<Tokenizer> wordpiece_from_json(const json& root, const std::string& path) {
  const json& model = root["model"];
  tok::VocabSpec spec;
  spec.source = path;
  spec.model = "bert";
  if (!model.contains("vocab")) fail("{}: WordPiece model without a vocab", path);
  dense_vocab(model["vocab"], path, spec.tokens, spec.types);
  add_added_tokens(root, path, spec.tokens, spec.types);
  fill_gaps(spec.tokens, spec.types);
  const std::string prefix = model.value("continuing_subword_prefix", "##");
  for (std::string& t : spec.tokens) {
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') continue;
    if (!prefix.empty() && t.compare(0, prefix.size(), prefix) == 0 && t.size() > prefix.size()) {
      t.erase(0, prefix.size());
    } else {
      t = "\xE2\x96\x81" + t;
    }
  }
  template_specials(root, spec.tokens, spec);
  auto by_name = [&](const char* name) -> std::optional<int64_t> {
    const int64_t id = find_token(spec.tokens, {name});
    return id >= 0 ? std::optional<int64_t>(id) : std::nullopt;
  };
  if (!spec.bos) spec.bos = by_name("[CLS]");
  if (!spec.sep) spec.sep = spec.eos ? spec.eos : by_name("[SEP]");
  spec.eos.reset();
  spec.add_eos.reset();
  spec.unk = by_name(model.value("unk_token", "[UNK]").c_str());
  spec.pad = by_name("[PAD]");
  spec.mask = by_name("[MASK]");
  return tok::make_tokenizer(spec);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& path) {
  const json root = parse_json(path);
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    fail("{}: not a tokenizer.json (no \"model\" object)", path);
  const json& model = root["model"];
  std::string type = model.value("type", "");
  if (type.empty()) type = model.contains("merges") ? "BPE" : "";
  if (type == "BPE") return bpe_from_json(root, path);
  if (type == "WordPiece") return wordpiece_from_json(root, path);
  fail("{}: unsupported tokenizer.json model type \"{}\" (supported: byte-level BPE, WordPiece)",
       path, type);
}

std::unique_ptr<Tokenizer> Tokenizer::from_encoder_json(const std::string& encoder_json,
                                                        const std::string& vocab_bpe,
                                                        const std::string& pre) {
  tok::VocabSpec spec;
  spec.source = encoder_json;
  spec.model = "gpt2";
  spec.pre = pre;
  dense_vocab(parse_json(encoder_json), encoder_json, spec.tokens, spec.types);
  fill_gaps(spec.tokens, spec.types);

  std::istringstream lines(read_text(vocab_bpe));
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first && line.rfind("#version", 0) == 0) {
      first = false;
      continue;
    }
    first = false;
    if (line.empty()) continue;
    spec.merges.push_back(line);
  }
  if (spec.merges.empty()) fail("{}: no merges", vocab_bpe);

  const auto p = tok::pre_tokenizer_for(pre);  // validates the name
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3") {
    const size_t base = spec.tokens.size();
    std::vector<std::string> special = {"<|begin_of_text|>",
                                        "<|end_of_text|>",
                                        "<|reserved_special_token_0|>",
                                        "<|reserved_special_token_1|>",
                                        "<|finetune_right_pad_id|>",
                                        "<|reserved_special_token_2|>",
                                        "<|start_header_id|>",
                                        "<|end_header_id|>",
                                        "<|eom_id|>",
                                        "<|eot_id|>",
                                        "<|python_tag|>"};
    for (int k = 3; k <= 247; ++k)
      special.push_back(fmt::format("<|reserved_special_token_{}|>", k));
    for (auto& s : special) {
      spec.tokens.push_back(std::move(s));
      spec.types.push_back(static_cast<int32_t>(TokenType::Control));
    }
    spec.bos = static_cast<int64_t>(base);
    spec.eos = static_cast<int64_t>(base + 1);
    spec.add_bos = true;
  } else {
    const int64_t eot = find_token(spec.tokens, {"<|endoftext|>"});
    if (eot >= 0) {
      spec.types[eot] = static_cast<int32_t>(TokenType::Control);
      spec.bos = spec.eos = eot;
    }
    spec.add_bos = p.add_bos.value_or(false);
  }
  return tok::make_tokenizer(spec);
}

}  // namespace rs
