#include "framework/plugin_ep.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "tessera/tessera_ep_plugin.h"

namespace tessera {

namespace {

using Library = std::shared_ptr<void>;  // dlclose'd when the last EP, tensor or kernel of it goes

// A node as the plugin sees it, with the storage its C structs point into (dims, string lists).
struct NodeDescription {
  std::vector<std::vector<int64_t>> dims;
  std::vector<std::vector<const char*>> strings;
  std::vector<TesseraEpValueInfo> inputs, outputs;
  std::vector<TesseraEpAttribute> attributes;
  TesseraEpNode node{};
};

// The C view of a constant tensor: its dtype, dims and (except strings) bytes.
TesseraEpValueInfo constant_info(const Tensor& t, NodeDescription& d) {
  auto& dims = d.dims.emplace_back(t.shape().begin(), t.shape().end());
  const bool bytes = t.dtype() != DataType::string;
  return {static_cast<TesseraEpDataType>(t.dtype()), static_cast<int32_t>(dims.size()), dims.data(),
          bytes ? t.raw_data() : nullptr, bytes ? t.byte_size() : 0};
}

TesseraEpAttribute attribute_info(const Attribute& a, NodeDescription& d) {
  TesseraEpAttribute c{};
  c.name = a.name.c_str();
  using T = Attribute::Type;
  switch (a.type) {
    case T::float_: c.type = TESSERA_EP_ATTR_FLOAT, c.f = a.f; break;
    case T::int_: c.type = TESSERA_EP_ATTR_INT, c.i = a.i; break;
    case T::string_: c.type = TESSERA_EP_ATTR_STRING, c.s = a.s.c_str(), c.s_size = a.s.size(); break;
    case T::tensor_: c.type = TESSERA_EP_ATTR_TENSOR, c.tensor = constant_info(a.t, d); break;
    case T::floats_: c.type = TESSERA_EP_ATTR_FLOATS, c.count = a.floats.size(), c.floats = a.floats.data(); break;
    case T::ints_: c.type = TESSERA_EP_ATTR_INTS, c.count = a.ints.size(), c.ints = a.ints.data(); break;
    case T::strings_: {
      auto& list = d.strings.emplace_back();
      for (const auto& s : a.strings) list.push_back(s.c_str());
      c.type = TESSERA_EP_ATTR_STRINGS, c.count = list.size(), c.strings = list.data();
      break;
    }
    default: c.type = static_cast<TesseraEpAttributeType>(0); break;  // graphs, type protos: not passed
  }
  return c;
}

std::shared_ptr<NodeDescription> describe(const Node& node, const Graph& graph, int64_t opset, const ValueTypes& types) {
  auto d = std::make_shared<NodeDescription>();
  // Reserved so the pointers handed out stay valid while the description grows.
  d->dims.reserve(node.inputs.size() + node.outputs.size() + node.attributes.size());
  d->strings.reserve(node.attributes.size());
  auto info = [&](const std::string& name) {
    TesseraEpValueInfo v{0, -1, nullptr, nullptr, 0};
    if (name.empty()) return v;
    auto init = graph.initializers.find(name);
    const bool fed = std::any_of(graph.inputs.begin(), graph.inputs.end(), [&](const ValueInfo& i) { return i.name == name; });
    if (init != graph.initializers.end() && !fed) return constant_info(init->second, *d);
    auto it = types.find(name);
    if (it == types.end() || it->second.kind != TypeInfo::Kind::tensor) return v;
    v.dtype = static_cast<TesseraEpDataType>(it->second.elem_type);
    if (it->second.shape) {
      auto& dims = d->dims.emplace_back();
      for (const Dim& dim : *it->second.shape) dims.push_back(dim.is_fixed() ? dim.value : -1);
      v.rank = static_cast<int32_t>(dims.size());
      v.dims = dims.data();
    }
    return v;
  };
  for (const auto& in : node.inputs) d->inputs.push_back(info(in));
  for (const auto& out : node.outputs) d->outputs.push_back(info(out));
  for (const auto& [name, attr] : node.attributes) {
    TesseraEpAttribute c = attribute_info(attr, *d);
    if (c.type != 0) d->attributes.push_back(c);
  }
  d->node = {node.name.c_str(), node.op_type.c_str(), node.domain.c_str(), opset,
             d->inputs.size(),  d->inputs.data(),     d->outputs.size(),  d->outputs.data(),
             d->attributes.size(), d->attributes.data()};
  return d;
}

// A plugin's reason "dtype: only float32" -> {DeclineReason::dtype, "only float32"}; a reason
// without a known first word is "op" with the whole text.
Declined declined(size_t node, const std::string& text) {
  for (auto [word, reason] : {std::pair{"op", DeclineReason::op}, {"opset", DeclineReason::opset},
                              {"dtype", DeclineReason::dtype}, {"attribute", DeclineReason::attribute},
                              {"shape", DeclineReason::shape}}) {
    const std::string prefix = std::string(word) + ":";
    if (text.rfind(prefix, 0) != 0) continue;
    const size_t start = std::min(text.find_first_not_of(' ', prefix.size()), text.size());
    return {node, reason, text.substr(start)};
  }
  return {node, DeclineReason::op, text};
}

class PluginAllocator final : public Allocator {
 public:
  PluginAllocator(Library library, const TesseraEpPlugin* plugin, MemoryLocation location)
      : library_(std::move(library)), plugin_(plugin), location_(location) {}
  MemoryLocation location() const override { return location_; }
  Result<Tensor> allocate(DataType dtype, const Shape& shape) const override {
    TS_ASSIGN_OR_RETURN(size_t bytes, checked_byte_size(dtype, shape));
    if (dtype == DataType::string) return not_implemented(plugin_->name, ": string tensors cannot live in plugin memory");
    void* data = plugin_->allocate(bytes ? bytes : 1);
    if (!data) return runtime_error(plugin_->name, ": out of memory allocating ", bytes, " bytes");
    std::shared_ptr<const void> owner(data, [plugin = plugin_, library = library_](const void* p) { plugin->free(const_cast<void*>(p)); });
    return Tensor::view(dtype, shape, std::move(owner), data, location_);
  }

 private:
  Library library_;
  const TesseraEpPlugin* plugin_;
  MemoryLocation location_;
};

class PluginTransfer final : public DataTransfer {
 public:
  PluginTransfer(const TesseraEpPlugin* plugin, MemoryLocation location) : plugin_(plugin), location_(location) {}
  bool can_copy(const MemoryLocation& from, const MemoryLocation& to) const override {
    return (from.is_host() && to == location_) || (from == location_ && to.is_host());
  }
  Status copy(const Tensor& src, Tensor& dst) const override {
    char error[256] = "";
    const auto direction = src.location().is_host() ? TESSERA_EP_HOST_TO_DEVICE : TESSERA_EP_DEVICE_TO_HOST;
    if (plugin_->copy(dst.raw_data(), src.raw_data(), src.byte_size(), direction, error, sizeof error) != 0)
      return runtime_error(plugin_->name, ": copy failed: ", error);
    return Status::ok();
  }

 private:
  const TesseraEpPlugin* plugin_;
  MemoryLocation location_;
};

class PluginKernel final : public OpKernel {
 public:
  PluginKernel(Library library, const TesseraEpPlugin* plugin, MemoryLocation location, void* kernel)
      : library_(std::move(library)), plugin_(plugin), location_(location), kernel_(kernel) {}
  ~PluginKernel() override { plugin_->release_kernel(kernel_); }
  PluginKernel(const PluginKernel&) = delete;
  PluginKernel& operator=(const PluginKernel&) = delete;

  Status compute(KernelContext& ctx) const override {
    std::vector<TesseraEpTensor> inputs(ctx.input_count(), TesseraEpTensor{0, 0, nullptr, nullptr});
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Value* v = ctx.input_value(i);
      if (!v) continue;
      if (!v->is_tensor()) return ctx.error(plugin_->name, ": input ", i, " is not a tensor");
      const Tensor& t = v->tensor();
      if (location_.is_host() ? !t.location().is_host() : t.location() != location_)
        return ctx.error(plugin_->name, ": input ", i, " is in ", memory_location_name(t.location()), ", not in ",
                         memory_location_name(location_));
      inputs[i] = {static_cast<TesseraEpDataType>(t.dtype()), static_cast<int32_t>(t.rank()), t.shape().data(),
                   const_cast<void*>(t.raw_data())};
    }
    Outputs outputs{ctx, {}};
    TesseraEpOutputs callbacks{&outputs, &Outputs::allocate};
    char error[256] = "";
    if (plugin_->compute(kernel_, inputs.data(), inputs.size(), &callbacks, error, sizeof error) != 0)
      return ctx.error(plugin_->name, ": ", outputs.error.empty() ? error : outputs.error);
    return Status::ok();
  }

 private:
  struct Outputs {
    KernelContext& ctx;
    std::string error;
    static void* allocate(void* self, size_t index, TesseraEpDataType dtype, int32_t rank, const int64_t* dims) {
      auto& out = *static_cast<Outputs*>(self);
      if (index >= out.ctx.output_count() || rank < 0 || dtype <= 0 || dtype > kMaxDataTypeValue) {
        out.error = str_cat("bad output request: index ", index, ", dtype ", dtype, ", rank ", rank);
        return nullptr;
      }
      try {  // the context allocates through the plugin's allocator; a failure throws
        return out.ctx.allocate_output_uninitialized(index, static_cast<DataType>(dtype), Shape(dims, dims + rank)).raw_data();
      } catch (const std::exception& e) {
        out.error = e.what();
        return nullptr;
      }
    }
  };

  Library library_;
  const TesseraEpPlugin* plugin_;
  MemoryLocation location_;
  void* kernel_;
};

class PluginExecutionProvider final : public ExecutionProvider {
 public:
  PluginExecutionProvider(Library library, const TesseraEpPlugin* plugin, int threads)
      : library_(library),
        plugin_(plugin),
        location_(plugin->memory == TESSERA_EP_MEMORY_HOST ? MemoryLocation{} : MemoryLocation{DeviceType::other, plugin->device_id}),
        allocator_(library, plugin, location_),
        transfer_(plugin, location_),
        config_{threads} {}

  std::string name() const override { return plugin_->name; }
  MemoryLocation memory() const override { return location_; }
  // A host-memory plugin's kernels allocate from the run's buffer pool, like the CPU EP's.
  const Allocator* allocator() const override { return location_.is_host() ? nullptr : &allocator_; }
  const DataTransfer* data_transfer() const override { return location_.is_host() ? nullptr : &transfer_; }
  const KernelRegistry& kernels() const override { return registry_; }  // none: kernels come from the plugin

  Capability get_capability(const Graph& graph, const Model& model, const ValueTypes& types) const override {
    Capability capability;
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      auto description = describe(node, graph, model.opset_version(node.domain), types);
      char reason[256] = "";
      if (plugin_->supports(&description->node, reason, sizeof reason)) {
        capability.claimed.push_back(i);
        described_[&node] = std::move(description);  // create_kernel gives the plugin the same types
      } else {
        capability.declined.push_back(declined(i, reason));
      }
    }
    return capability;
  }

  Result<std::unique_ptr<OpKernel>> create_kernel(const KernelInfo& info) const override {
    std::shared_ptr<NodeDescription> description;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = described_.find(&info.node());
      if (it == described_.end()) return runtime_error(info.node().describe(), ": ", name(), " did not claim the node");
      description = it->second;
    }
    void* kernel = nullptr;
    char error[256] = "";
    if (plugin_->create_kernel(&description->node, &config_, &kernel, error, sizeof error) != 0)
      return info.error(name(), ": ", error);
    return std::unique_ptr<OpKernel>(new PluginKernel(library_, plugin_, location_, kernel));
  }

 private:
  Library library_;
  const TesseraEpPlugin* plugin_;
  MemoryLocation location_;
  PluginAllocator allocator_;
  PluginTransfer transfer_;
  TesseraEpKernelConfig config_;
  KernelRegistry registry_;
  mutable std::mutex mutex_;
  mutable std::map<const Node*, std::shared_ptr<NodeDescription>> described_;
};

// A plugin named without its library: libtessera_ep_NAME.so next to the running program, else
// wherever the dynamic loader finds it (LD_LIBRARY_PATH, the system's directories).
std::string find_plugin_library(const std::string& name) {
  const std::string file = "libtessera_ep_" + name + ".so";
  std::error_code error;
  const auto program = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const auto beside = program.parent_path() / file;
    if (std::filesystem::exists(beside, error)) return beside.string();
  }
  return file;
}

}  // namespace

Result<std::unique_ptr<ExecutionProvider>> load_plugin_ep(const std::string& name, const std::string& library, int threads) {
  const std::string path = library.empty() ? find_plugin_library(name) : library;
  auto where = [&] { return "execution provider '" + name + "' (library '" + path + "')"; };
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle && library.empty())
    return invalid_argument("unknown execution provider '", name, "' (built in: cpu; a plugin is given with its library, ",
                            "NAME:PATH, or found as ", path, " next to the program or on the library path)");
  if (!handle) {
    const char* why = dlerror();
    return invalid_argument(where(), ": cannot load: ", why ? why : "unknown error");
  }
  Library handle_owner(handle, [](void* h) { dlclose(h); });
  auto entry = reinterpret_cast<TesseraEpPluginEntry>(dlsym(handle, TESSERA_EP_PLUGIN_ENTRY));
  if (!entry) return invalid_argument(where(), ": no '", TESSERA_EP_PLUGIN_ENTRY, "' function: not a Tessera EP plugin");
  const TesseraEpPlugin* plugin = entry();
  if (!plugin) return invalid_argument(where(), ": ", TESSERA_EP_PLUGIN_ENTRY, "() returned no plugin");
  if (plugin->abi_version != TESSERA_EP_PLUGIN_ABI_VERSION)
    return invalid_argument(where(), ": plugin ABI version ", plugin->abi_version, ", Tessera needs ",
                            TESSERA_EP_PLUGIN_ABI_VERSION);
  if (!plugin->name || name != plugin->name)
    return invalid_argument(where(), ": the library is the EP '", plugin->name ? plugin->name : "", "', not '", name, "'");
  const bool host = plugin->memory == TESSERA_EP_MEMORY_HOST;
  if (!host && plugin->memory != TESSERA_EP_MEMORY_DEVICE)
    return invalid_argument(where(), ": unknown memory kind ", static_cast<int>(plugin->memory));
  if (!plugin->supports || !plugin->create_kernel || !plugin->compute || !plugin->release_kernel ||
      (!host && (!plugin->allocate || !plugin->free || !plugin->copy)))
    return invalid_argument(where(), ": the plugin table leaves a function unset");
  if (!host && plugin->device_id < 0) return invalid_argument(where(), ": negative device id ", plugin->device_id);
  return std::unique_ptr<ExecutionProvider>(new PluginExecutionProvider(std::move(handle_owner), plugin, threads));
}

}  // namespace tessera
