// Trainer: gradient accumulation over micro-batches equals one batch of the same tokens, update() reports the
// pre-clip global norm and moves the parameters, and a run is bitwise reproducible.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "nn/config.hpp"
#include "nn/data.hpp"
#include "nn/model.hpp"
#include "trainer.hpp"

namespace awsdt::fsdp {
namespace {

std::string token_file() {
  const auto path = std::filesystem::temp_directory_path() / ("awsdt_trainer_" + std::to_string(::getpid()) + ".bin");
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < 1000; ++i) {
    const std::uint16_t id = static_cast<std::uint16_t>((i * 37 + i / 7) % 512);
    out.write(reinterpret_cast<const char*>(&id), 2);
  }
  return path.string();
}

TEST(Trainer, AccumulatedMicroBatchesEqualOneBatch) {
  const std::string path = token_file();
  nn::ModelConfig c = nn::model_preset("tiny");
  nn::Model whole(c, 5), parts(c, 5);
  TrainerOptions one, two;
  two.grad_accum = 2;
  Trainer tw(whole, one), tp(parts, two);
  // B=4 reads rows [0,8) [8,16) [16,24) [24,32); B=2 twice reads the same rows (windows advance by B·T).
  auto src4 = nn::make_file_source(path, nn::TokenDtype::uint16, c.vocab_size, 4, 8);
  auto src2 = nn::make_file_source(path, nn::TokenDtype::uint16, c.vocab_size, 2, 8);
  const double lw = tw.accumulate_gradients(*src4), lp = tp.accumulate_gradients(*src2);
  EXPECT_NEAR(lw, lp, 1e-5);
  for (std::size_t u = 0; u < whole.units().size(); ++u) {
    const auto& gw = whole.units()[u].grads;
    const auto& gp = parts.units()[u].grads;
    for (std::size_t i = 0; i < gw.size(); ++i)
      ASSERT_NEAR(gw[i], gp[i], 1e-6 + 1e-4 * std::abs(gw[i])) << "unit " << u << " element " << i;
  }
  std::filesystem::remove(path);
}

TEST(Trainer, UpdateReportsPreClipNormAndMovesParameters) {
  nn::ModelConfig c = nn::model_preset("tiny");
  nn::Model model(c, 9);
  TrainerOptions o;
  o.grad_clip = 1e-3;  // forces clipping
  o.schedule = nn::LrSchedule{1e-3, 1e-4, 0, 10, nn::LrDecay::cosine};
  Trainer t(model, o);
  auto src = nn::make_synthetic_source(nn::SyntheticKind::random, c.vocab_size, 2, 16, 1);
  t.accumulate_gradients(*src);
  double sq = 0;
  for (const auto& u : model.units())
    for (float g : u.grads) sq += static_cast<double>(g) * g;
  const auto before = model.units()[1].params;
  const auto [norm, lr] = t.update(0);
  EXPECT_NEAR(norm, std::sqrt(sq), 1e-6 * std::sqrt(sq));
  EXPECT_DOUBLE_EQ(lr, 1e-3);
  double after_sq = 0;  // the gradients left in the units are the clipped ones
  for (const auto& u : model.units())
    for (float g : u.grads) after_sq += static_cast<double>(g) * g;
  EXPECT_NEAR(std::sqrt(after_sq), 1e-3, 1e-6);
  EXPECT_NE(before, model.units()[1].params);
}

TEST(Trainer, StepsAreReproducible) {
  nn::ModelConfig c = nn::model_preset("tiny");
  auto run = [&] {
    nn::Model model(c, 3);
    Trainer t(model, TrainerOptions{});
    auto src = nn::make_synthetic_source(nn::SyntheticKind::pattern, c.vocab_size, 2, 16, 3);
    std::vector<double> losses;
    for (int s = 0; s < 3; ++s) losses.push_back(t.step(*src, s).loss);
    return losses;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace awsdt::fsdp
