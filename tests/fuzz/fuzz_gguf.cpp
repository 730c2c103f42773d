// libFuzzer target: any byte string through the GGUF reader, then the paths that walk what
// it accepted (metadata printing, tensor rows). It must never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gguf/reader.h"
#include "kernels/kernels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hearth;
    auto r = gguf::Reader::from_file(
        MappedFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz"));
    if (!r.ok()) return 0;
    size_t sink = 0;
    for (const auto& [key, value] : r->metadata()) sink += value.to_string().size();
    float row[512];
    for (const auto& t : r->tensors()) {
        // Dequantize the first row when it is small enough: touches the mapped bytes.
        if (t.ne[0] <= 512 && t.n_bytes > 0 && kernels::can_dequantize(t.type))
            kernels::dequantize_row(t.type, t.data, row, t.ne[0]);
    }
    return static_cast<int>(sink & 0);
}
