// A read-only memory map of a whole file. Model weights stay mapped (never copied), so the OS page
// cache is the only copy and several processes share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace rs {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws rs::Error with the path and errno text
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  void reset();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Tells the OS that the pages wholly inside [p, p + n), memory of a MappedFile, will not be read
// again soon: they leave this process's resident set (the page cache keeps them, and a later read
// maps them back in, so the bytes never change). Used once weights were copied into another
// layout, so that the copy does not count twice. Never call it on other memory: anonymous pages
// would read back as zeros.
void release_mapped_pages(const void* p, size_t n);

}  // namespace rs
