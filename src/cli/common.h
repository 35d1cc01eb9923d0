// Helpers shared by the subcommands: common flags, prompt input checks, JSON output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/kv_cache.h"

namespace CLI {
class App;
}

namespace rs::cli {

// Parses "1,2,3" (spaces allowed) into token ids; rs::Error on anything else.
std::vector<int32_t> parse_ids(const std::string& text);

// rs::Error naming the byte offset when `text` is not valid UTF-8.
void require_utf8(const std::string& text, const char* what);

// Adds --kv-type f16|f32 (the KV cache's element type) writing to `type`.
void add_kv_type_option(CLI::App& cmd, KvType& type);

// Reads a whole file (the -f/--file prompt); rs::Error when it cannot.
std::string read_text_file(const std::string& path);

}  // namespace rs::cli
