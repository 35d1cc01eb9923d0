// Text helpers shared by the metrics. sacrebleu is written against Python's str methods, so to
// give the same numbers we split and lowercase exactly as str.split() and str.lower() do; and every
// metric reads "one segment per line" files the same way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rs::eval {

// Python's str.isspace() for one code point (ASCII whitespace, U+001C..U+001F, U+0085, U+00A0,
// the Unicode space separators, U+2028/U+2029).
bool is_py_space(uint32_t cp);

// Python's str.split() with no arguments: runs of is_py_space() separate the fields, and no field
// is empty. Works on UTF-8; bytes that are not valid UTF-8 never count as whitespace.
std::vector<std::string> split_ws(std::string_view s);

// Python's str.rstrip() with no arguments.
std::string_view rstrip_ws(std::string_view s);

// Python's str.lower(): the full Unicode lowercase mapping (including U+0130 -> "i" + U+0307 and
// a final capital sigma -> U+03C2). ASCII-only input never leaves the fast path.
std::string py_lower(std::string_view s);

// Decodes UTF-8 into code points (invalid bytes become U+FFFD).
std::u32string to_u32(std::string_view s);
std::string to_utf8(std::u32string_view s);

// Reads a text file as one segment per line: "\n" ends a line, a "\r" before it is dropped, and
// a last line without "\n" still counts (so a file without a trailing newline loses nothing).
// rs::Error when the file cannot be read or a line is not valid UTF-8 (the message names the file,
// the line and the byte).
std::vector<std::string> read_lines(const std::string& path);

}  // namespace rs::eval
