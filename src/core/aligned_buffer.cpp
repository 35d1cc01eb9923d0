#include "core/aligned_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <utility>

#include "core/error.h"

namespace rs {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

AlignedBuffer::AlignedBuffer(size_t n) : size_(n) {
  if (n == 0) return;
  const size_t align = n >= 4 * kHugePage ? kHugePage : 64;
  data_ = static_cast<uint8_t*>(std::aligned_alloc(align, (n + align - 1) / align * align));
  RS_CHECK(data_, "out of memory: cannot allocate {} MiB", n >> 20);
  // Advice only: without transparent huge pages the buffer works the same on 4 KiB pages.
  if (align == kHugePage) ::madvise(data_, (n + align - 1) / align * align, MADV_HUGEPAGE);
}

AlignedBuffer::~AlignedBuffer() {
  std::free(data_);
}

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace rs
