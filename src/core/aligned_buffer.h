// An owned, uninitialised, 64-byte aligned byte buffer. Buffers of several MiB are placed on 2 MiB
// boundaries and advised to the kernel as huge-page candidates (MADV_HUGEPAGE): weights read once
// per token then cost a TLB miss per 2 MiB instead of one per 4 KiB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rs {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n);  // throws rs::Error when memory runs out
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace rs
