#include "cli/load_progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace hearth::cli {

model::LoadProgress load_progress(const std::string& path) {
    if (!isatty(STDERR_FILENO)) return {};
    const std::string name = std::filesystem::path(path).filename().string();
    struct Shown {
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        int percent = -1;  // the figure on screen; -1 before the first
    };
    auto shown = std::make_shared<Shown>();
    return [name, shown](size_t done, size_t total) {
        if (done >= total) {
            if (shown->percent >= 0) std::fputs("\r\x1b[K", stderr);
            shown->percent = -1;
            return;
        }
        const auto waited = std::chrono::steady_clock::now() - shown->start;
        const int percent = static_cast<int>(100.0 * double(done) / double(total));
        if (waited < std::chrono::milliseconds(500) || percent == shown->percent) return;
        shown->percent = percent;
        std::fprintf(stderr, "\rhearth: loading %s %3d%%", name.c_str(), percent);
        std::fflush(stderr);
    };
}

}  // namespace hearth::cli
