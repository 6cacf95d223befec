// TfIdfVectorizer (opset 9): counts the pool's n-grams (with skips) in each row of X and weighs
// the counts (TF, IDF or TFIDF).
//
// The pool becomes a trie at session creation: a path of tokens spells an n-gram, and the node
// where an n-gram of the pool ends holds its 1-based pool id (0 on nodes that only prefix longer
// n-grams). String pools are first mapped to dense token ids, so both kinds of pools share one
// integer trie; input strings that are not in the pool can never match.
//
// Like ONNX Runtime and the reference, IDF/TFIDF weights are indexed by output coordinate.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "providers/cpu/families.h"

namespace tessera {
namespace {

enum class Weighting { tf, idf, tfidf };

class NgramTrie {
 public:
  NgramTrie() : nodes_(1) {}

  // The child of `node` along `key`, or -1.
  int32_t child(int32_t node, int64_t key) const {
    const auto& c = nodes_[static_cast<size_t>(node)].children;
    auto it = c.find(key);
    return it == c.end() ? -1 : it->second;
  }
  bool has_children(int32_t node) const { return !nodes_[static_cast<size_t>(node)].children.empty(); }
  int64_t id(int32_t node) const { return nodes_[static_cast<size_t>(node)].id; }

  // Adds the n-gram keys[0..n) with pool id `id` (a later duplicate takes over the id).
  void insert(const int64_t* keys, int64_t n, int64_t id) {
    int32_t node = 0;
    for (int64_t i = 0; i < n; ++i) {
      int32_t next = child(node, keys[i]);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_[static_cast<size_t>(node)].children.emplace(keys[i], next);
        nodes_.emplace_back();
      }
      node = next;
    }
    nodes_[static_cast<size_t>(node)].id = id;
  }
  bool empty() const { return nodes_[0].children.empty(); }

 private:
  struct Node {
    int64_t id = 0;
    std::unordered_map<int64_t, int32_t> children;
  };
  std::vector<Node> nodes_;
};

class TfIdfVectorizerKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    std::unique_ptr<TfIdfVectorizerKernel> k(new TfIdfVectorizerKernel());
    TS_ASSIGN_OR_RETURN(k->min_gram_, info.required_int("min_gram_length"));
    TS_ASSIGN_OR_RETURN(k->max_gram_, info.required_int("max_gram_length"));
    TS_ASSIGN_OR_RETURN(k->max_skip_, info.required_int("max_skip_count"));
    if (k->min_gram_ < 1 || k->max_gram_ < k->min_gram_)
      return info.error("need 1 <= min_gram_length <= max_gram_length, got ", k->min_gram_, " and ", k->max_gram_);
    if (k->max_skip_ < 0) return info.error("max_skip_count must be >= 0, got ", k->max_skip_);
    if (!info.has_attr("mode")) return info.error("required attribute 'mode' is missing");
    const std::string mode = info.attr_string("mode", "");
    if (mode == "TF") k->weighting_ = Weighting::tf;
    else if (mode == "IDF") k->weighting_ = Weighting::idf;
    else if (mode == "TFIDF") k->weighting_ = Weighting::tfidf;
    else return info.error("mode must be 'TF', 'IDF' or 'TFIDF', got '", mode, "'");

    TS_ASSIGN_OR_RETURN(std::vector<int64_t> counts, info.required_ints("ngram_counts"));
    TS_ASSIGN_OR_RETURN(k->ngram_indexes_, info.required_ints("ngram_indexes"));
    k->weights_ = info.attr_floats("weights");
    const bool has_ints = info.has_attr("pool_int64s"), has_strings = info.has_attr("pool_strings");
    if (has_ints == has_strings) return info.error("exactly one of pool_int64s and pool_strings must be given");
    k->string_pool_ = has_strings;

    std::vector<int64_t> pool;
    if (has_ints) {
      pool = info.attr_ints("pool_int64s");
    } else {
      for (const std::string& s : info.attr_strings("pool_strings")) {
        auto [it, inserted] = k->vocab_.emplace(s, static_cast<int64_t>(k->vocab_.size()));
        pool.push_back(it->second);
      }
    }
    if (k->ngram_indexes_.empty()) return info.error("ngram_indexes must not be empty");
    for (int64_t idx : k->ngram_indexes_)
      if (idx < 0) return info.error("ngram_indexes must be non-negative, got ", idx);
    k->output_size_ = *std::max_element(k->ngram_indexes_.begin(), k->ngram_indexes_.end()) + 1;
    if (!k->weights_.empty() && static_cast<int64_t>(k->weights_.size()) < k->output_size_)
      return info.error("weights has ", k->weights_.size(), " values but the output has ", k->output_size_, " columns");

    // ngram_counts[i] is where the (i+1)-grams start in the pool. Ids count every n-gram of the
    // pool, also those of sizes outside [min, max] that are never looked up.
    const int64_t total = static_cast<int64_t>(pool.size());
    int64_t next_id = 1;
    for (size_t i = 0; i < counts.size(); ++i) {
      const int64_t size = static_cast<int64_t>(i) + 1;
      const int64_t begin = counts[i], end = i + 1 < counts.size() ? counts[i + 1] : total;
      if (begin < 0 || end < begin || end > total)
        return info.error("ngram_counts ", i, " = ", begin, " does not delimit a range of the pool of ", total, " items");
      const int64_t ngrams = (end - begin) / size;
      if (next_id - 1 + ngrams > static_cast<int64_t>(k->ngram_indexes_.size()))
        return info.error("the pool holds more n-grams than ngram_indexes has entries (", k->ngram_indexes_.size(), ")");
      if (size >= k->min_gram_ && size <= k->max_gram_)
        for (int64_t g = 0; g < ngrams; ++g) k->trie_.insert(pool.data() + begin + g * size, size, next_id + g);
      next_id += ngrams;
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    TS_ASSIGN_OR_RETURN(const Tensor* x, ctx.required_input(0));
    if (x->rank() > 2) return ctx.error("X must have shape [C] or [N, C], got ", shape_to_string(x->shape()));
    const bool is_string = x->dtype() == DataType::string;
    if (!is_string && x->dtype() != DataType::int32 && x->dtype() != DataType::int64)
      return ctx.error("X must be string, int32 or int64, got ", dtype_name(x->dtype()));
    if (is_string != string_pool_)
      return ctx.error(string_pool_ ? "pool_strings needs string input, got " : "pool_int64s needs integer input, got ",
                       dtype_name(x->dtype()));
    const int64_t rows = x->rank() == 2 ? x->dim(0) : 1;
    const int64_t cols = x->rank() == 2 ? x->dim(1) : x->size();
    const Shape out_shape = x->rank() == 2 ? Shape{rows, output_size_} : Shape{output_size_};

    // Tokens as trie keys; strings outside the pool become -1, which no trie edge carries.
    std::vector<int64_t> keys(static_cast<size_t>(x->size()));
    if (is_string) {
      const std::string* s = x->data<std::string>();
      for (int64_t i = 0; i < x->size(); ++i) {
        auto it = vocab_.find(s[i]);
        keys[i] = it == vocab_.end() ? -1 : it->second;
      }
    } else if (x->dtype() == DataType::int32) {
      std::copy_n(x->data<int32_t>(), x->size(), keys.begin());
    } else {
      std::copy_n(x->data<int64_t>(), x->size(), keys.begin());
    }

    Tensor& y = ctx.allocate_output(0, DataType::float32, out_shape);
    if (trie_.empty() || cols == 0) return Status::ok();
    float* out = y.data<float>();
    auto work = [&](int64_t begin, int64_t end) {
      std::vector<int64_t> freq(static_cast<size_t>(output_size_));
      for (int64_t r = begin; r < end; ++r) {
        std::fill(freq.begin(), freq.end(), 0);
        count_row(keys.data() + r * cols, cols, freq.data());
        weigh_row(freq.data(), out + r * output_size_);
      }
    };
    ctx.thread_pool().parallel_for(rows, std::max<int64_t>(1, 4096 / (cols * (max_skip_ + 1) * max_gram_ + 1)), work);
    return Status::ok();
  }

 private:
  TfIdfVectorizerKernel() = default;

  void count_row(const int64_t* row, int64_t n, int64_t* freq) const {
    int64_t first_size = min_gram_;
    for (int64_t skip = 1; skip <= max_skip_ + 1; ++skip) {
      for (int64_t start = 0; start < n; ++start) {
        if (start + skip * (first_size - 1) >= n) break;  // no n-gram of a wanted size fits any more
        int32_t node = 0;
        int64_t size = 1;
        for (int64_t item = start; trie_.has_children(node) && size <= max_gram_ && item < n; item += skip, ++size) {
          node = trie_.child(node, row[item]);
          if (node < 0) break;
          const int64_t id = trie_.id(node);
          if (size >= first_size && id != 0) ++freq[ngram_indexes_[static_cast<size_t>(id - 1)]];
        }
      }
      // Unigrams do not depend on the skip: count them on the first pass only.
      if (first_size == 1) {
        first_size = 2;
        if (first_size > max_gram_) break;
      }
    }
  }

  void weigh_row(const int64_t* freq, float* out) const {
    for (int64_t i = 0; i < output_size_; ++i) {
      switch (weighting_) {
        case Weighting::tf: out[i] = static_cast<float>(freq[i]); break;
        case Weighting::idf:
          out[i] = freq[i] > 0 ? (weights_.empty() ? 1.0f : weights_[static_cast<size_t>(i)]) : 0.0f;
          break;
        case Weighting::tfidf:
          out[i] = static_cast<float>(freq[i]) * (weights_.empty() ? 1.0f : weights_[static_cast<size_t>(i)]);
          break;
      }
    }
  }

  int64_t min_gram_ = 1, max_gram_ = 1, max_skip_ = 0, output_size_ = 0;
  Weighting weighting_ = Weighting::tf;
  std::vector<int64_t> ngram_indexes_;
  std::vector<float> weights_;
  bool string_pool_ = false;
  std::unordered_map<std::string, int64_t> vocab_;
  NgramTrie trie_;
};

}  // namespace

void register_tfidf_vectorizer(KernelRegistry& r) {
  r.add({"", "TfIdfVectorizer", 9, kLatestOnnxOpset, TfIdfVectorizerKernel::create});
}

}  // namespace tessera
