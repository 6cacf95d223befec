// String ops: StringNormalizer, StringConcat, StringSplit, RegexFullMatch.
// Strings are UTF-8. Case changes map Unicode code points through a UTF-8 C library locale
// (created once per kernel, so runs never touch the process-wide locale); ASCII takes a fast path.
// RegexFullMatch uses RE2 (the syntax the spec names) when the build found it, else std::regex.
#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#ifdef TESSERA_HAVE_RE2
#include <re2/re2.h>
#else
#include <regex>
#endif

#include "core/broadcast_shapes.h"
#include "providers/cpu/families.h"
#include "providers/cpu/tensor/copy_util.h"

namespace tessera {
namespace {

// ---- UTF-8 and case mapping --------------------------------------------------------------

// Decodes UTF-8 into code points; false on malformed input.
bool utf8_decode(std::string_view s, std::u32string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    char32_t cp;
    if (c < 0x80) extra = 0, cp = c;
    else if ((c >> 5) == 0x6) extra = 1, cp = c & 0x1F;
    else if ((c >> 4) == 0xE) extra = 2, cp = c & 0x0F;
    else if ((c >> 3) == 0x1E) extra = 3, cp = c & 0x07;
    else return false;
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    out.push_back(cp);
    i += extra + 1;
  }
  return true;
}

void utf8_encode(const std::u32string& in, std::string& out) {
  out.clear();
  for (char32_t cp : in) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
}

// A C library locale for Unicode case mapping; null falls back to ASCII-only mapping.
class CaseMapper {
 public:
  explicit CaseMapper(const std::string& name) {
    for (const std::string& candidate : {name + ".UTF-8", name + ".utf8", name, std::string("C.UTF-8")}) {
      if (candidate.empty() || candidate == ".UTF-8" || candidate == ".utf8") continue;
      locale_t l = newlocale(LC_CTYPE_MASK, candidate.c_str(), static_cast<locale_t>(nullptr));
      if (l) {
        locale_ = std::shared_ptr<std::remove_pointer_t<locale_t>>(l, [](locale_t p) { freelocale(p); });
        break;
      }
    }
  }

  // Upper- or lower-cases `s` in place. Malformed UTF-8 changes only its ASCII bytes.
  void apply(std::string& s, bool upper) const {
    bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    std::u32string cps;
    if (ascii || !locale_ || !utf8_decode(s, cps)) {
      for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(upper ? ascii_upper(c) : ascii_lower(c));
      return;
    }
    for (char32_t& cp : cps)
      cp = static_cast<char32_t>(upper ? towupper_l(static_cast<wint_t>(cp), locale_.get())
                                       : towlower_l(static_cast<wint_t>(cp), locale_.get()));
    utf8_encode(cps, s);
  }

 private:
  static char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
  static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

  std::shared_ptr<std::remove_pointer_t<locale_t>> locale_;
};

const Tensor* string_input(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  return t && t->dtype() == DataType::string ? t : nullptr;
}

// ---- StringNormalizer ------------------------------------------------------------------------

// Drops the elements equal to a stop word (ignoring case unless is_case_sensitive), then
// changes the case of the rest. Accepts [C] and [1, C]; when nothing is left the output is one
// empty string ([1] or [1, 1]). Like ONNX Runtime, stop words match whole elements.
class StringNormalizerKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    std::unique_ptr<StringNormalizerKernel> k(new StringNormalizerKernel(info.attr_string("locale", "en_US")));
    std::string action = info.attr_string("case_change_action", "NONE");
    if (action == "LOWER") k->action_ = Action::lower;
    else if (action == "UPPER") k->action_ = Action::upper;
    else if (action != "NONE") return info.error("case_change_action must be LOWER, UPPER or NONE, got '", action, "'");
    k->case_sensitive_ = info.attr_int("is_case_sensitive") != 0;
    for (std::string word : info.attr_strings("stopwords")) {
      if (!k->case_sensitive_) k->mapper_.apply(word, false);
      k->stopwords_.insert(std::move(word));
    }
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = string_input(ctx, 0);
    if (!x) return ctx.error("input 0 (X) must be a string tensor");
    if (!(x->rank() == 1 || (x->rank() == 2 && x->dim(0) == 1)))
      return ctx.error("input shape ", shape_to_string(x->shape()), " is not supported: StringNormalizer takes [C] or [1, C]");
    std::vector<std::string> kept;
    kept.reserve(static_cast<size_t>(x->size()));
    std::string key;
    for (const std::string& s : x->span<std::string>()) {
      if (!stopwords_.empty()) {
        key = s;
        if (!case_sensitive_) mapper_.apply(key, false);
        if (stopwords_.count(key)) continue;
      }
      kept.push_back(s);
      if (action_ != Action::none) mapper_.apply(kept.back(), action_ == Action::upper);
    }
    if (kept.empty()) kept.emplace_back();
    int64_t c = static_cast<int64_t>(kept.size());
    Tensor& y = ctx.allocate_output(0, DataType::string, x->rank() == 1 ? Shape{c} : Shape{1, c});
    std::move(kept.begin(), kept.end(), y.data<std::string>());
    return Status::ok();
  }

 private:
  enum class Action { none, lower, upper };
  explicit StringNormalizerKernel(const std::string& locale) : mapper_(locale) {}

  CaseMapper mapper_;
  Action action_ = Action::none;
  bool case_sensitive_ = false;
  std::unordered_set<std::string> stopwords_;
};

// ---- StringConcat ----------------------------------------------------------------------------

class StringConcatKernel final : public OpKernel {
 public:
  explicit StringConcatKernel(const KernelInfo&) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* a = string_input(ctx, 0);
    const Tensor* b = string_input(ctx, 1);
    if (!a || !b) return ctx.error("inputs X and Y must be string tensors");
    const Result<Shape> broadcast = broadcast_shapes({&a->shape(), &b->shape()}, "");
    if (!broadcast.is_ok())
      return ctx.error("shapes ", shape_to_string(a->shape()), " and ", shape_to_string(b->shape()), " do not broadcast");
    const Shape& shape = broadcast.value();
    Tensor& z = ctx.allocate_output(0, DataType::string, shape);
    const std::string* pa = a->data<std::string>();
    const std::string* pb = b->data<std::string>();
    std::string* pz = z.data<std::string>();
    if (a->size() == z.size() && b->size() == z.size()) {
      for (int64_t i = 0; i < z.size(); ++i) pz[i] = pa[i] + pb[i];
      return Status::ok();
    }
    // Broadcast: walk the output with an odometer, stepping each input by its (0 when
    // broadcast) stride.
    const size_t rank = shape.size();
    auto strides_for = [&](const Shape& s) {
      std::vector<int64_t> st(rank, 0);
      int64_t step = 1;
      for (size_t k = 0; k < s.size(); ++k) {
        size_t axis = rank - 1 - k, src = s.size() - 1 - k;
        st[axis] = s[src] == 1 ? 0 : step;
        step *= s[src];
      }
      return st;
    };
    std::vector<int64_t> sa = strides_for(a->shape()), sb = strides_for(b->shape()), index(rank, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < z.size(); ++i) {
      pz[i] = pa[ia] + pb[ib];
      for (size_t k = rank; k-- > 0;) {
        ++index[k];
        ia += sa[k];
        ib += sb[k];
        if (index[k] < shape[k]) break;
        ia -= sa[k] * shape[k];
        ib -= sb[k] * shape[k];
        index[k] = 0;
      }
    }
    return Status::ok();
  }
};

// ---- StringSplit -----------------------------------------------------------------------------

// Python str.split semantics: with a delimiter, every occurrence splits (empty pieces kept);
// without one, runs of whitespace split and leading/trailing whitespace is dropped. At most
// `maxsplit` splits (negative: no limit); the rest of the string is the last piece.
class StringSplitKernel final : public OpKernel {
 public:
  explicit StringSplitKernel(const KernelInfo& info)
      : delimiter_(info.attr_string("delimiter", "")), maxsplit_(info.attr_int("maxsplit", -1)) {}

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = string_input(ctx, 0);
    if (!x) return ctx.error("input 0 (X) must be a string tensor");
    std::vector<std::vector<std::string_view>> pieces(static_cast<size_t>(x->size()));
    size_t widest = 0;
    for (int64_t i = 0; i < x->size(); ++i) {
      std::string_view s = x->data<std::string>()[i];
      auto& out = pieces[static_cast<size_t>(i)];
      if (delimiter_.empty()) split_whitespace(s, out);
      else split_on(s, out);
      widest = std::max(widest, out.size());
    }
    Shape y_shape = x->shape();
    y_shape.push_back(static_cast<int64_t>(widest));
    Tensor& y = ctx.allocate_output(0, DataType::string, y_shape);
    Tensor& z = ctx.allocate_output(1, DataType::int64, x->shape());
    for (size_t i = 0; i < pieces.size(); ++i) {
      std::string* row = y.data<std::string>() + i * widest;
      for (size_t j = 0; j < pieces[i].size(); ++j) row[j].assign(pieces[i][j]);
      z.data<int64_t>()[i] = static_cast<int64_t>(pieces[i].size());
    }
    return Status::ok();
  }

 private:
  bool can_split(size_t done) const { return maxsplit_ < 0 || static_cast<int64_t>(done) < maxsplit_; }

  void split_on(std::string_view s, std::vector<std::string_view>& out) const {
    size_t start = 0;
    while (can_split(out.size())) {
      size_t at = s.find(delimiter_, start);
      if (at == std::string_view::npos) break;
      out.push_back(s.substr(start, at - start));
      start = at + delimiter_.size();
    }
    out.push_back(s.substr(start));
  }

  static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= '\x1c' && c <= '\x1f');
  }

  void split_whitespace(std::string_view s, std::vector<std::string_view>& out) const {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_space(s[i])) ++i;
      if (i == s.size()) return;
      if (!can_split(out.size())) {  // the rest keeps its inner and trailing whitespace, as in Python
        out.push_back(s.substr(i));
        return;
      }
      size_t start = i;
      while (i < s.size() && !is_space(s[i])) ++i;
      out.push_back(s.substr(start, i - start));
    }
  }

  std::string delimiter_;
  int64_t maxsplit_;
};

// ---- RegexFullMatch --------------------------------------------------------------------------

class RegexFullMatchKernel final : public OpKernel {
 public:
  static Result<std::unique_ptr<OpKernel>> create(const KernelInfo& info) {
    if (!info.has_attr("pattern")) return info.error("required attribute 'pattern' is missing");
    std::string pattern = info.attr_string("pattern", "");
    std::unique_ptr<RegexFullMatchKernel> k(new RegexFullMatchKernel());
#ifdef TESSERA_HAVE_RE2
    RE2::Options options;
    options.set_log_errors(false);
    k->regex_ = std::make_unique<RE2>(pattern, options);
    if (!k->regex_->ok()) return info.error("invalid RE2 pattern '", pattern, "': ", k->regex_->error());
#else
    try {
      k->regex_ = std::make_unique<std::regex>(pattern, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return info.error("invalid pattern '", pattern, "': ", e.what());
    }
#endif
    return std::unique_ptr<OpKernel>(std::move(k));
  }

  Status compute(KernelContext& ctx) const override {
    const Tensor* x = string_input(ctx, 0);
    if (!x) return ctx.error("input 0 (X) must be a string tensor");
    Tensor& y = ctx.allocate_output(0, DataType::boolean, x->shape());
    const std::string* in = x->data<std::string>();
    bool* out = y.data<bool>();
    for (int64_t i = 0; i < x->size(); ++i) {
#ifdef TESSERA_HAVE_RE2
      out[i] = RE2::FullMatch(in[i], *regex_);
#else
      out[i] = std::regex_match(in[i], *regex_);
#endif
    }
    return Status::ok();
  }

 private:
  RegexFullMatchKernel() = default;
#ifdef TESSERA_HAVE_RE2
  std::unique_ptr<RE2> regex_;  // RE2 matching is thread-safe on a const object
#else
  std::unique_ptr<std::regex> regex_;
#endif
};

}  // namespace

void register_text(KernelRegistry& r) {
  static const KernelDef defs[] = {
      {"", "StringNormalizer", 10, kLatestOnnxOpset, StringNormalizerKernel::create},
      {"", "StringConcat", 20, kLatestOnnxOpset, make_factory<StringConcatKernel>()},
      {"", "StringSplit", 20, kLatestOnnxOpset, make_factory<StringSplitKernel>()},
      {"", "RegexFullMatch", 20, kLatestOnnxOpset, RegexFullMatchKernel::create},
  };
  for (const auto& def : defs) r.add(def);
}

}  // namespace tessera
