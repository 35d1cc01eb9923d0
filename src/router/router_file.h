// The router file: a trained intent classifier, versioned binary, little-endian.
//
//   "RSROUTER"                        8-byte magic
//   u32 version (1 or 2), u32 backend (0 tfidf, 1 embedding, 2 language model: version 2 only)
//   u32 n_classes, u32 n_features, i32 oos_class, f32 temperature, f32 threshold
//   u32 hash_bits, word_ngram_max, char_ngram_min, char_ngram_max   (tfidf; zeros otherwise)
//   n_classes x (u32 length, bytes)   labels
//   u32 length, bytes                 embedder GGUF path (embedding; empty otherwise)
//   version 2: u32 length, bytes ×3   language model GGUF path, LoRA adapter path (may be
//                                     empty), prompt template (with {text}); u32 flags
//                                     (bit 0: length_norm); empty strings and 0 otherwise
//   tfidf: u32 buckets[n_features], f32 idf[n_features]
//   f32 weights[n_features][n_classes], f32 bias[n_classes]   (none for the language model:
//                                     n_features is 0 and there is no bias)
//   u64 FNV-1a of every byte before it
//
// Writing uses version 1 for the tfidf and embedding back ends (so older builds still read
// those files) and version 2 for the language model.
//
// Reading checks every size against the bytes that are left before allocating and every value
// against its range, so a truncated or corrupt file is an rs::Error that says what is wrong,
// never a crash or a huge allocation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "router/intent_classifier.h"

namespace rs::router {

inline constexpr uint32_t kRouterFileVersion = 2;  // the newest version read and written

std::vector<uint8_t> serialize_router(const ClassifierParts& parts);
// `name` is used in error messages (the file path).
ClassifierParts parse_router(std::span<const uint8_t> bytes, const std::string& name);

void write_router_file(const ClassifierParts& parts, const std::string& path);
ClassifierParts read_router_file(const std::string& path);

}  // namespace rs::router
