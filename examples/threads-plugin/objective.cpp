// A threads-executor plugin (hpo/plugin.h): logistic regression trained by minibatch
// SGD with an L2 penalty on a synthetic two-class problem, in hpo's own process. It reads the
// parameters lr, l2 and batch_size, reports the validation loss after every epoch, stops early
// when hpo asks (timeout, Ctrl-C), and returns val_loss and val_accuracy as its final metrics.
//
// Everything lives on the call's stack: the objective is reentrant, as the ABI requires, so
// hpo may call it from several threads at once. The data are generated from a fixed seed, so
// every trial sees the same problem.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hpo/plugin.h"

HPO_PLUGIN_DECLARE()

namespace {

constexpr int kFeatures = 8;
constexpr int kTrain = 800;
constexpr int kValidation = 200;
constexpr int kEpochs = 15;

struct Sample {
  std::array<double, kFeatures> x;
  int y;
};

// Two overlapping Gaussian classes whose means differ along a fixed direction, plus noise
// features that carry nothing (what the L2 penalty is for).
std::vector<Sample> make_data(int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<Sample> out(n);
  for (auto& s : out) {
    s.y = static_cast<int>(rng() % 2);
    for (int j = 0; j < kFeatures; ++j) {
      const double shift = j < 3 ? (s.y ? 0.8 : -0.8) / (j + 1) : 0.0;
      s.x[j] = shift + noise(rng) * (j < 3 ? 1.0 : 2.0);
    }
  }
  return out;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Model {
  std::array<double, kFeatures> w{};
  double b = 0.0;
  double predict(const Sample& s) const {
    double z = b;
    for (int j = 0; j < kFeatures; ++j) z += w[j] * s.x[j];
    return sigmoid(z);
  }
};

// Mean log loss and accuracy.
std::pair<double, double> evaluate(const Model& m, const std::vector<Sample>& data) {
  double loss = 0.0;
  int correct = 0;
  for (const auto& s : data) {
    const double p = std::clamp(m.predict(s), 1e-12, 1.0 - 1e-12);
    loss -= s.y ? std::log(p) : std::log(1.0 - p);
    correct += (p >= 0.5) == (s.y == 1);
  }
  return {loss / static_cast<double>(data.size()),
          static_cast<double>(correct) / static_cast<double>(data.size())};
}

}  // namespace

HPO_OBJECTIVE(objective) {
  double lr = 0.0, l2 = 0.0, batch = 0.0;
  if (!trial->param_number(trial->host, "lr", &lr) ||
      !trial->param_number(trial->host, "l2", &l2) ||
      !trial->param_number(trial->host, "batch_size", &batch) || batch < 1) {
    trial->set_reason(trial->host, "needs numeric parameters lr, l2 and batch_size >= 1");
    return HPO_FAIL;
  }
  const std::vector<Sample> train = make_data(kTrain, 1);
  const std::vector<Sample> validation = make_data(kValidation, 2);
  const auto batch_size = static_cast<std::size_t>(batch);
  std::mt19937 shuffle_rng(static_cast<std::uint32_t>(trial->number));
  std::vector<std::size_t> order(train.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;

  Model model;
  std::pair<double, double> scores = evaluate(model, validation);
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    if (trial->should_stop(trial->host)) break;
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (std::size_t start = 0; start < order.size(); start += batch_size) {
      const std::size_t end = std::min(order.size(), start + batch_size);
      std::array<double, kFeatures> grad{};
      double grad_b = 0.0;
      for (std::size_t k = start; k < end; ++k) {
        const Sample& s = train[order[k]];
        const double err = model.predict(s) - s.y;
        for (int j = 0; j < kFeatures; ++j) grad[j] += err * s.x[j];
        grad_b += err;
      }
      const double n = static_cast<double>(end - start);
      for (int j = 0; j < kFeatures; ++j) model.w[j] -= lr * (grad[j] / n + l2 * model.w[j]);
      model.b -= lr * grad_b / n;
    }
    scores = evaluate(model, validation);
    if (!std::isfinite(scores.first)) {
      trial->set_reason(trial->host, ("diverged at epoch " + std::to_string(epoch)).c_str());
      return HPO_FAIL;
    }
    const char* names[] = {"val_loss", "val_accuracy"};
    const double values[] = {scores.first, scores.second};
    trial->report(trial->host, epoch, names, values, 2);
  }
  trial->set_metric(trial->host, "val_loss", scores.first);
  trial->set_metric(trial->host, "val_accuracy", scores.second);
  return HPO_COMPLETE;
}
