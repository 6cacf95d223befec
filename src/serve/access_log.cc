#include "src/serve/access_log.h"

#include <cstdio>
#include <ctime>

namespace tessera::serve {

std::string utc_now() {
  char text[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void write_access_log(const std::string& json_line) {
  std::string text = json_line + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace tessera::serve
