#include "framework/plugin_ep.h"

#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "tessera/tessera_ep_plugin.h"

namespace tessera {

namespace {

using Library = std::shared_ptr<void>;  // dlclose'd when the last EP, tensor or kernel of it goes

// A node as the plugin sees it, with the storage its C structs point into.
struct NodeDescription {
  std::vector<std::vector<int64_t>> dims;
  std::vector<TesseraEpValueInfo> inputs, outputs;
  TesseraEpNode node{};
};

std::shared_ptr<NodeDescription> describe(const Node& node, int64_t opset, const ValueTypes& types) {
  auto d = std::make_shared<NodeDescription>();
  d->dims.reserve(node.inputs.size() + node.outputs.size());
  auto info = [&](const std::string& name) {
    TesseraEpValueInfo v{0, -1, nullptr};
    auto it = name.empty() ? types.end() : types.find(name);
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
  d->node = {node.name.c_str(), node.op_type.c_str(), node.domain.c_str(), opset,
             d->inputs.size(),  d->inputs.data(),     d->outputs.size(),  d->outputs.data()};
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
      if (t.location() != location_)
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
  PluginExecutionProvider(Library library, const TesseraEpPlugin* plugin)
      : library_(library),
        plugin_(plugin),
        location_{DeviceType::other, plugin->device_id},
        allocator_(library, plugin, location_),
        transfer_(plugin, location_) {}

  std::string name() const override { return plugin_->name; }
  MemoryLocation memory() const override { return location_; }
  const Allocator* allocator() const override { return &allocator_; }
  const DataTransfer* data_transfer() const override { return &transfer_; }
  const KernelRegistry& kernels() const override { return registry_; }  // none: kernels come from the plugin

  Capability get_capability(const Graph& graph, const Model& model, const ValueTypes& types) const override {
    Capability capability;
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& node = graph.nodes[i];
      auto description = describe(node, model.opset_version(node.domain), types);
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
    if (plugin_->create_kernel(&description->node, &kernel, error, sizeof error) != 0)
      return info.error(name(), ": ", error);
    return std::unique_ptr<OpKernel>(new PluginKernel(library_, plugin_, location_, kernel));
  }

 private:
  Library library_;
  const TesseraEpPlugin* plugin_;
  MemoryLocation location_;
  PluginAllocator allocator_;
  PluginTransfer transfer_;
  KernelRegistry registry_;
  mutable std::mutex mutex_;
  mutable std::map<const Node*, std::shared_ptr<NodeDescription>> described_;
};

}  // namespace

Result<std::unique_ptr<ExecutionProvider>> load_plugin_ep(const std::string& name, const std::string& path) {
  auto where = [&] { return "execution provider '" + name + "' (library '" + path + "')"; };
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return invalid_argument(where(), ": cannot load: ", why ? why : "unknown error");
  }
  Library library(handle, [](void* h) { dlclose(h); });
  auto entry = reinterpret_cast<TesseraEpPluginEntry>(dlsym(handle, TESSERA_EP_PLUGIN_ENTRY));
  if (!entry) return invalid_argument(where(), ": no '", TESSERA_EP_PLUGIN_ENTRY, "' function: not a Tessera EP plugin");
  const TesseraEpPlugin* plugin = entry();
  if (!plugin) return invalid_argument(where(), ": ", TESSERA_EP_PLUGIN_ENTRY, "() returned no plugin");
  if (plugin->abi_version != TESSERA_EP_PLUGIN_ABI_VERSION)
    return invalid_argument(where(), ": plugin ABI version ", plugin->abi_version, ", Tessera needs ",
                            TESSERA_EP_PLUGIN_ABI_VERSION);
  if (!plugin->name || name != plugin->name)
    return invalid_argument(where(), ": the library is the EP '", plugin->name ? plugin->name : "", "', not '", name, "'");
  if (!plugin->supports || !plugin->create_kernel || !plugin->compute || !plugin->release_kernel || !plugin->allocate ||
      !plugin->free || !plugin->copy)
    return invalid_argument(where(), ": the plugin table leaves a function unset");
  if (plugin->device_id < 0) return invalid_argument(where(), ": negative device id ", plugin->device_id);
  return std::unique_ptr<ExecutionProvider>(new PluginExecutionProvider(std::move(library), plugin));
}

}  // namespace tessera
