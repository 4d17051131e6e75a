// bits_per_layer.svg (`save analyze --out DIR`), written by hand like the
// other plots (eval/svg.*): one 100%-stacked bar per layer, robust / ranging
// / vulnerable shares of its float32 bits from the bottom up, the layer's
// name under it, a legend and the model totals in the title. Deterministic
// in its input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace save {

struct LayerBits {
  std::string name;
  uint64_t robust = 0, ranging = 0, vulnerable = 0;
};

std::string bits_per_layer_svg(const std::vector<LayerBits>& layers, const std::string& title);

}  // namespace save
