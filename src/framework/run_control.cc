#include "framework/run_control.h"

namespace tessera {

Status RunControl::stopped(std::string_view where) const {
  if (terminate_ && terminate_->load(std::memory_order_relaxed))
    return Status(StatusCode::cancelled, str_cat("model '", model_, "': run cancelled (its terminate flag was set) ", where));
  return Status(StatusCode::deadline_exceeded, str_cat("model '", model_, "': run passed its deadline; stopped ", where));
}

}  // namespace tessera
