// bytes.h: a byte buffer that travels with its size, and checked reads from it.
//
// Every parser in native/ takes a ByteSpan, never a bare pointer with an
// implied size: a length field read from the input can only narrow the span
// (Sub), and a struct is only read after the span proved it holds that many
// bytes (ReadAt copies it out with memcpy, so unaligned input is fine too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tcpcensus {

class ByteSpan {
 public:
  constexpr ByteSpan() = default;
  constexpr ByteSpan(const uint8_t* data, size_t size) : data_(data), size_(data ? size : 0) {}
  template <typename C>
  explicit ByteSpan(const C& container)
      : ByteSpan(reinterpret_cast<const uint8_t*>(container.data()), container.size() * sizeof(*container.data())) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The bytes [offset, offset + length), or an empty span when they are not
  // all inside this one (ok() tells the two apart for a zero length).
  ByteSpan Sub(size_t offset, size_t length) const {
    if (offset > size_ || length > size_ - offset) return ByteSpan();
    return ByteSpan(data_ + offset, length);
  }
  // The bytes from offset to the end; empty when offset is past it.
  ByteSpan From(size_t offset) const {
    if (offset > size_) return ByteSpan();
    return ByteSpan(data_ + offset, size_ - offset);
  }
  bool Holds(size_t offset, size_t length) const { return offset <= size_ && length <= size_ - offset; }

  // Copies a trivially copyable T from offset; false when it does not fit.
  template <typename T>
  bool ReadAt(size_t offset, T* out) const {
    static_assert(std::is_trivially_copyable<T>::value, "ReadAt copies bytes");
    if (!Holds(offset, sizeof(T))) return false;
    std::memcpy(out, data_ + offset, sizeof(T));
    return true;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A writable buffer with its size, for readers that fill one (read, recvmsg,
// getdents64): the size handed to the kernel is always this one.
class MutableByteSpan {
 public:
  MutableByteSpan(uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename C>
  explicit MutableByteSpan(C& container)
      : MutableByteSpan(reinterpret_cast<uint8_t*>(container.data()), container.size() * sizeof(*container.data())) {}
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  // The first n bytes, as read: n is clamped to the size.
  ByteSpan Filled(size_t n) const { return ByteSpan(data_, n < size_ ? n : size_); }

 private:
  uint8_t* data_;
  size_t size_;
};

}  // namespace tcpcensus
