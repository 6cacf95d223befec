// InlineVector<T, N>: a vector of trivially copyable values that keeps up to N of them inside
// itself and moves to the heap only past that. `Shape` (tensor.h) is InlineVector<int64_t, 6>:
// making or copying the shape of a tensor of rank <= 6 allocates nothing, where a
// std::vector<int64_t> allocates each time, so a kernel's per-run shape arithmetic and every
// tensor a run makes stay off the heap. Its interface is std::vector's (the subset the code
// uses: iterators, data(), size(), [], at(), push_back, insert, erase, resize, reserve,
// comparison), and it converts to and from std::vector<T> (a copy; to a vector allocates).
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace tessera {

template <class T, size_t N>
class InlineVector {
  static_assert(std::is_trivially_copyable_v<T> && N > 0);

 public:
  using value_type = T;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  InlineVector() noexcept = default;
  explicit InlineVector(size_t n) { resize(n); }
  InlineVector(size_t n, const T& value) { assign(n, value); }
  InlineVector(std::initializer_list<T> values) { assign(values.begin(), values.end()); }
  template <std::input_iterator It>
  InlineVector(It first, It last) {
    assign(first, last);
  }
  InlineVector(const std::vector<T>& values) { assign(values.begin(), values.end()); }  // NOLINT: implicit
  InlineVector(const InlineVector& other) { assign(other.begin(), other.end()); }
  InlineVector(InlineVector&& other) noexcept { take(other); }
  InlineVector& operator=(const InlineVector& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  InlineVector& operator=(InlineVector&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  InlineVector& operator=(std::initializer_list<T> values) {
    assign(values.begin(), values.end());
    return *this;
  }
  ~InlineVector() { release(); }

  operator std::vector<T>() const { return std::vector<T>(begin(), end()); }  // NOLINT: implicit

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_t capacity() const noexcept { return heap_ ? capacity_ : N; }
  T* data() noexcept { return heap_ ? heap_ : inline_; }
  const T* data() const noexcept { return heap_ ? heap_ : inline_; }
  iterator begin() noexcept { return data(); }
  iterator end() noexcept { return data() + size_; }
  const_iterator begin() const noexcept { return data(); }
  const_iterator end() const noexcept { return data() + size_; }
  const_iterator cbegin() const noexcept { return begin(); }
  const_iterator cend() const noexcept { return end(); }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& at(size_t i) {
    if (i >= size_) throw std::out_of_range("InlineVector::at");
    return data()[i];
  }
  const T& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("InlineVector::at");
    return data()[i];
  }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }

  size_t max_size() const noexcept { return SIZE_MAX / sizeof(T); }
  // Throws std::length_error past max_size() (as std::vector does), std::bad_alloc when memory
  // runs out.
  void reserve(size_t n) {
    if (n <= capacity()) return;
    if (n > max_size()) throw std::length_error("InlineVector: more elements than memory can hold");
    T* grown = static_cast<T*>(::operator new(n * sizeof(T)));
    if (size_) std::memcpy(grown, data(), size_ * sizeof(T));
    release();
    heap_ = grown;
    capacity_ = n;
  }
  void clear() noexcept { size_ = 0; }
  void resize(size_t n) { resize(n, T()); }
  void resize(size_t n, const T& value) {
    reserve(n);
    std::fill(data() + std::min(n, size_), data() + n, value);
    size_ = n;
  }
  void assign(size_t n, const T& value) {
    clear();
    resize(n, value);
  }
  template <std::input_iterator It>
  void assign(It first, It last) {
    clear();
    if constexpr (std::contiguous_iterator<It> && std::is_same_v<std::iter_value_t<It>, T>) {
      const size_t n = static_cast<size_t>(last - first);
      reserve(n);
      if (n) std::memcpy(data(), std::to_address(first), n * sizeof(T));
      size_ = n;
    } else {
      if constexpr (std::forward_iterator<It>) reserve(static_cast<size_t>(std::distance(first, last)));
      for (; first != last; ++first) push_back(*first);
    }
  }
  void assign(std::initializer_list<T> values) { assign(values.begin(), values.end()); }
  void push_back(const T& value) {
    if (size_ == capacity()) {
      const T copy = value;  // value may live in this vector
      reserve(2 * capacity());
      data()[size_++] = copy;
      return;
    }
    data()[size_++] = value;
  }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    push_back(T(std::forward<Args>(args)...));
    return back();
  }
  void pop_back() { --size_; }

  iterator insert(const_iterator pos, const T& value) { return insert(pos, size_t{1}, value); }
  iterator insert(const_iterator pos, size_t count, const T& value) {
    const size_t at = static_cast<size_t>(pos - begin());
    const T copy = value;
    open_gap(at, count);
    std::fill(data() + at, data() + at + count, copy);
    return data() + at;
  }
  template <std::input_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    const size_t at = static_cast<size_t>(pos - begin());
    const InlineVector values(first, last);  // the range may be this vector's
    open_gap(at, values.size());
    std::copy(values.begin(), values.end(), data() + at);
    return data() + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<T> values) { return insert(pos, values.begin(), values.end()); }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const size_t at = static_cast<size_t>(first - begin()), count = static_cast<size_t>(last - first);
    std::copy(data() + at + count, data() + size_, data() + at);
    size_ -= count;
    return data() + at;
  }
  void swap(InlineVector& other) noexcept {
    InlineVector t(std::move(other));
    other = std::move(*this);
    *this = std::move(t);
  }

  friend bool operator==(const InlineVector& a, const InlineVector& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend auto operator<=>(const InlineVector& a, const InlineVector& b) {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  // Moves `other`'s contents here (this holds nothing) and leaves it empty.
  void take(InlineVector& other) noexcept {
    size_ = other.size_;
    if (other.heap_) {
      heap_ = other.heap_;
      capacity_ = other.capacity_;
      other.heap_ = nullptr;
    } else {
      std::memcpy(inline_, other.inline_, size_ * sizeof(T));
    }
    other.size_ = 0;
  }
  void release() noexcept {
    if (heap_) ::operator delete(heap_);
    heap_ = nullptr;
  }
  // Makes room for `count` elements at `at`, moving the tail up.
  void open_gap(size_t at, size_t count) {
    if (size_ + count > capacity()) reserve(std::max(size_ + count, 2 * capacity()));
    T* d = data();
    std::copy_backward(d + at, d + size_, d + size_ + count);
    size_ += count;
  }

  T* heap_ = nullptr;  // the elements past N, else null (they are in inline_)
  size_t size_ = 0;
  size_t capacity_ = 0;  // of heap_
  T inline_[N] = {};
};

}  // namespace tessera
