#include "gradient_runner.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dlpack_values.h"
#include "errors.h"
#include "numpy_values.h"
#include "tessera/session.h"

namespace tessera::python {
namespace py = pybind11;

namespace {

// What one forward run leaves for its backward run: the feeds (views of the caller's arrays,
// which the backward model may read) and the saved activations. It travels to Python as a capsule
// of this name, not a bound class: a pybind11 instance costs a type lookup and an entry in its
// registry on the way out and back, twice per training step.
struct SavedStep {
  const void* runner = nullptr;  // the runner that made it, whose backward alone may read it
  Feeds feeds;
  std::vector<Value> saved;
};
constexpr const char* kSavedStepCapsule = "tessera._SavedStep";

void drop_saved_step(PyObject* capsule) {
  delete static_cast<SavedStep*>(PyCapsule_GetPointer(capsule, kSavedStepCapsule));
}

Session load_session(const py::bytes& model, int intra_op_threads) {
  SessionOptions options;
  options.intra_op_threads = intra_op_threads;
  // Made per exported signature and run at once: its first run touches the same blocks a warm-up would.
  options.warm_up = false;
  char* data = nullptr;
  Py_ssize_t size = 0;
  PyBytes_AsStringAndSize(model.ptr(), &data, &size);  // immutable, and the caller holds it
  std::optional<Result<Session>> loaded;
  {
    py::gil_scoped_release release;
    loaded.emplace(Session::load_from_bytes(data, static_cast<size_t>(size), options));
  }
  if (!loaded->is_ok()) throw_status(loaded->status());
  return std::move(*loaded).value();
}

// A feed given as an (owner, address) tuple: `owner` (a torch tensor) keeps alive the contiguous
// memory at `address`, which holds the input's declared shape (fixed) and element type; the
// caller vouches for both (TesseraModule's signature fixes them, and it checks contiguity and the
// device). Torch memory read this way costs one data_ptr() call, where Tensor.numpy() costs
// 0.8 us, about 4 in a training step (its code cold after the optimizer's).
Value feed_at_address(const py::tuple& feed, const IoInfo& info) {
  const auto refuse = [&](const std::string& why) {
    throw_invalid_argument(str_cat("input '", info.name, "': an (owner, address) feed ", why));
  };
  if (feed.size() != 2) refuse("must be a pair");
  if (info.kind != IoInfo::Kind::tensor || !info.has_shape || info.dtype == DataType::undefined ||
      info.dtype == DataType::string)
    refuse("needs a numeric tensor input of known shape");
  int64_t elements = 1;
  for (int64_t d : info.shape) {
    if (d < 0) refuse(str_cat("needs a fixed shape, the input's is ", info.type_string));
    elements *= d;
  }
  void* address = PyLong_AsVoidPtr(feed[1].ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  if (!address && elements > 0) refuse("has a null address");
  return Tensor::view(info.dtype, Shape(info.shape.begin(), info.shape.end()), python_owner(feed[0]), address);
}

// A feed as given: an (owner, address) pair, or anything value_from_python takes.
Value feed_from_python(py::handle obj, const IoInfo& info) {
  if (PyTuple_Check(obj.ptr())) return feed_at_address(py::reinterpret_borrow<py::tuple>(obj), info);
  return value_from_python(obj, info);
}

ptrdiff_t index_of(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<ptrdiff_t>(i);
  return -1;
}

class GradientRunner {
 public:
  // `feeds`: the forward model's inputs in the order forward() takes them; `outputs`: the forward
  // outputs forward() returns; `saved`: the forward outputs kept for backward; `y_grads`: the
  // backward inputs fed with dL/dy, in the order backward() takes them. `backward` is None for a
  // forward-only runner (inference).
  GradientRunner(const py::bytes& forward, const py::object& backward, std::vector<std::string> feeds,
                 const std::vector<std::string>& outputs, const std::vector<std::string>& saved,
                 const std::vector<std::string>& y_grads, int intra_op_threads, const std::vector<size_t>& kept_feeds,
                 py::object tensor_from_dlpack)
      : forward_(load_session(forward, intra_op_threads)),
        feed_names_(std::move(feeds)),
        saved_count_(saved.size()),
        tensor_from_dlpack_(std::move(tensor_from_dlpack)) {
    for (const std::string& name : feed_names_) {
      const IoInfo* info = nullptr;
      for (const IoInfo& in : forward_.inputs()) info = in.name == name ? &in : info;
      if (!info) throw_invalid_argument(str_cat("forward model: '", name, "' is not an input"));
      feed_infos_.push_back(*info);
    }
    if (feed_names_.size() != forward_.inputs().size())
      throw_invalid_argument(str_cat("forward model: ", forward_.inputs().size(), " inputs, but ", feed_names_.size(),
                                     " feeds named"));
    kept_.resize(feed_names_.size());
    for (size_t k : kept_feeds) {
      if (k >= feed_names_.size()) throw_invalid_argument(str_cat("kept_feeds: ", k, " is not a feed index"));
      kept_[k].wanted = true;
    }
    output_names_ = outputs;
    output_names_.insert(output_names_.end(), saved.begin(), saved.end());
    if (backward.is_none()) {
      if (!saved.empty() || !y_grads.empty()) throw_invalid_argument("saved values or y_grads given without a backward model");
      return;
    }
    backward_.emplace(load_session(backward.cast<py::bytes>(), intra_op_threads));
    y_grad_count_ = y_grads.size();
    // Each backward input comes from a saved activation, a dL/dy or a forward feed, in that order
    // of preference (a saved value may also be fed, as a graph input the gradient reads).
    for (const IoInfo& in : backward_->inputs()) {
      Source source;
      source.info = in;
      ptrdiff_t k = -1;
      if ((k = index_of(saved, in.name)) >= 0)
        source.kind = Source::saved;
      else if ((k = index_of(y_grads, in.name)) >= 0)
        source.kind = Source::y_grad;
      else if ((k = index_of(feed_names_, in.name)) >= 0)
        source.kind = Source::feed;
      else
        throw_invalid_argument(str_cat("backward model: input '", in.name,
                                       "' is neither a saved activation, a dL/dy nor a forward feed"));
      source.index = static_cast<size_t>(k);
      backward_sources_.push_back(std::move(source));
    }
  }

  // Runs the forward model on `arrays` (one per feed, in order); returns the `outputs` as arrays
  // and, when there is a backward model, the step's saved state (else None).
  py::tuple run_forward(const py::sequence& arrays) const {
    if (arrays.size() != feed_names_.size())
      throw_invalid_argument(str_cat("forward: ", arrays.size(), " arrays for ", feed_names_.size(), " feeds"));
    auto step = std::make_unique<SavedStep>();
    step->runner = this;
    step->feeds.reserve(feed_names_.size());
    for (size_t i = 0; i < feed_names_.size(); ++i) step->feeds.emplace_back(feed_names_[i], feed_value(i, arrays[i]));
    std::vector<Value> values = run(forward_, step->feeds, output_names_);
    const size_t n_out = output_names_.size() - saved_count_;
    py::list outputs;
    for (size_t i = 0; i < n_out; ++i) {
      detach_from_feeds(values[i], step->feeds);
      outputs.append(to_python(std::move(values[i])));
    }
    if (!backward_) return py::make_tuple(outputs, py::none());
    step->saved.assign(std::make_move_iterator(values.begin() + static_cast<ptrdiff_t>(n_out)),
                       std::make_move_iterator(values.end()));
    PyObject* capsule = PyCapsule_New(step.get(), kSavedStepCapsule, drop_saved_step);
    if (!capsule) throw py::error_already_set();
    step.release();  // the capsule owns it now
    return py::make_tuple(outputs, py::reinterpret_steal<py::object>(capsule));
  }

  // Runs the backward model on `step` and dL/dy (one array per y_grad); returns the backward
  // model's outputs (dL/dx) as arrays.
  py::list run_backward(py::handle step_capsule, const py::sequence& y_grads) const {
    if (!backward_) throw_invalid_argument("backward: this runner has no backward model");
    if (y_grads.size() != y_grad_count_)
      throw_invalid_argument(str_cat("backward: ", y_grads.size(), " arrays for ", y_grad_count_, " y_grads"));
    const auto* saved_step = PyCapsule_IsValid(step_capsule.ptr(), kSavedStepCapsule)
                                 ? static_cast<const SavedStep*>(PyCapsule_GetPointer(step_capsule.ptr(), kSavedStepCapsule))
                                 : nullptr;
    // The sizes too: another runner may since have been made at a freed runner's address.
    if (!saved_step || saved_step->runner != this || saved_step->saved.size() != saved_count_ ||
        saved_step->feeds.size() != feed_names_.size())
      throw_invalid_argument("backward: the step is not one this runner's forward returned");
    const SavedStep& step = *saved_step;
    Feeds feeds;
    feeds.reserve(backward_sources_.size());
    for (const Source& s : backward_sources_) {
      switch (s.kind) {
        case Source::saved: feeds.emplace_back(s.info.name, step.saved[s.index]); break;
        case Source::feed: feeds.emplace_back(s.info.name, step.feeds[s.index].second); break;
        case Source::y_grad: feeds.emplace_back(s.info.name, feed_from_python(y_grads[s.index], s.info)); break;
      }
    }
    std::vector<Value> values = run(*backward_, feeds, {});
    py::list outputs;
    for (Value& value : values) {
      // A gradient that is a feed (dL/dy passed straight through) must not alias the caller's array.
      detach_from_feeds(value, feeds);
      outputs.append(to_python(std::move(value)));
    }
    return outputs;
  }

 private:
  // An output for the caller: through tensor_from_dlpack (a torch tensor for TesseraModule) when
  // one was given and the value can travel as a DLPack capsule, else as value_to_python makes it.
  py::object to_python(Value value) const {
    if (!tensor_from_dlpack_.is_none() && value.is_tensor() && dlpack_expressible(value.tensor()))
      return tensor_from_dlpack_(tensor_to_dlpack(std::move(value.tensor())));
    return value_to_python(std::move(value));
  }

  // A kept feed's value: its array converted once and reused while the same array object comes
  // with the same data, shape and dtype (a parameter updated in place by an optimizer). Read and
  // written with the GIL held only, so runs on several threads need no other lock.
  struct KeptFeed {
    bool wanted = false;
    PyObject* array = nullptr;  // `value` holds a reference to it, so the address stays its own
    PyObject* descr = nullptr;  // its dtype then (the array holds it)
    Value value;
  };

  // Whether `obj` is the array `kept` was made from, unchanged in layout: numpy lets an array's
  // shape and dtype be assigned in place, its data pointer never.
  static bool still_fits(const KeptFeed& kept, py::handle obj) {
    if (obj.ptr() != kept.array || !kept.value.is_tensor()) return false;
    const auto* a = py::detail::array_proxy(obj.ptr());
    const Tensor& t = kept.value.tensor();
    if (a->data != t.raw_data() || static_cast<size_t>(a->nd) != t.rank()) return false;
    constexpr int kWrapped = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
    if ((a->flags & kWrapped) != kWrapped) return false;
    for (int d = 0; d < a->nd; ++d)
      if (a->dimensions[d] != t.dim(static_cast<size_t>(d))) return false;
    return a->descr == kept.descr;
  }

  Value feed_value(size_t i, py::handle obj) const {
    KeptFeed& kept = kept_[i];
    if (!kept.wanted) return feed_from_python(obj, feed_infos_[i]);
    if (still_fits(kept, obj)) return kept.value;
    Value value = value_from_python(obj, feed_infos_[i]);
    // Only a wrapped array is kept: a copy (another layout, a list) would go stale when the
    // caller's object changes in place.
    const bool wrapped = py::isinstance<py::array>(obj) && value.is_tensor() &&
                         value.tensor().raw_data() == py::detail::array_proxy(obj.ptr())->data;
    kept.array = wrapped ? obj.ptr() : nullptr;
    kept.descr = wrapped ? py::detail::array_proxy(obj.ptr())->descr : nullptr;
    kept.value = wrapped ? value : Value();
    return value;
  }

  struct Source {
    enum Kind { saved, feed, y_grad } kind = saved;
    size_t index = 0;
    IoInfo info;
  };

  static std::vector<Value> run(const Session& session, const Feeds& feeds, const std::vector<std::string>& names) {
    std::optional<Result<std::vector<Value>>> result;
    {
      py::gil_scoped_release release;
      result.emplace(session.run(feeds, names));
    }
    if (!result->is_ok()) throw_status(result->status());
    return std::move(*result).value();
  }

  Session forward_;
  std::optional<Session> backward_;
  std::vector<std::string> feed_names_;
  std::vector<IoInfo> feed_infos_;
  std::vector<std::string> output_names_;  // the outputs returned, then the saved values
  size_t saved_count_ = 0;
  size_t y_grad_count_ = 0;
  std::vector<Source> backward_sources_;  // per backward input, in the model's order
  mutable std::vector<KeptFeed> kept_;     // per feed
  py::object tensor_from_dlpack_;          // None: outputs are numpy arrays
};

}  // namespace

void register_gradient_runner(py::module_& m) {
  py::class_<GradientRunner>(m, "_GradientRunner",
                             "Runs build_gradient_graphs' forward and backward models with list feeds and outputs "
                             "(tessera.training.TesseraModule).")
      .def(py::init<const py::bytes&, const py::object&, std::vector<std::string>, const std::vector<std::string>&,
                    const std::vector<std::string>&, const std::vector<std::string>&, int, const std::vector<size_t>&,
                    py::object>(),
           py::arg("forward"), py::arg("backward"), py::arg("feeds"), py::arg("outputs"), py::arg("saved"),
           py::arg("y_grads"), py::arg("intra_op_threads"), py::arg("kept_feeds") = std::vector<size_t>{},
           py::arg("tensor_from_dlpack") = py::none(),
           "kept_feeds: indices of feeds that are the same arrays run after run (parameters updated in place); "
           "their converted values are kept between runs. tensor_from_dlpack: a function of a DLPack capsule "
           "(torch.utils.dlpack.from_dlpack) that makes each numeric output, instead of a numpy array.")
      .def("forward", &GradientRunner::run_forward, py::arg("arrays"),
           "Runs the forward model on one array (or (owner, address) pair: memory of the input's fixed shape "
           "and type) per feed; returns (outputs, saved step or None).")
      .def("backward", &GradientRunner::run_backward, py::arg("step"), py::arg("y_grads"),
           "Runs the backward model on a forward run's saved step and one dL/dy array per y_grad; returns dL/dx "
           "per backward output.");
}

}  // namespace tessera::python
