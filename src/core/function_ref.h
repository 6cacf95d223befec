// FunctionRef<R(Args...)>: a non-owning reference to a callable, for a parameter that is only
// called while the function taking it runs (ThreadPool::parallel_for). A std::function copies a
// lambda that captures more than 16 bytes to the heap, once per call: hundreds of allocations
// per run of a model; a FunctionRef is two pointers and never allocates. It must not outlive
// the callable it refers to (a temporary lambda lives until the end of the call's statement).
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace tessera {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, as std::function's
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* object, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(object), std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace tessera
