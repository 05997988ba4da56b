// hpo-embed: tunes a small function from C++ through hpo's library API, in both styles:
// ask-and-tell (the program runs each trial itself) and optimize (hpo runs the objective on
// threads). Every trial lands in the SQLite file given as the argument (default embed.db), so
// `hpo trials embed-demo --storage embed.db` shows them.
//
// The function is a noisy-free stand-in for a training run: a "learning rate" with its best at
// 0.01 on a log scale, a number of layers with its best at 3, and an optimizer choice.
#include <cmath>
#include <cstdio>
#include <string>

#include <hpo/storage.h>
#include <hpo/study.h>

namespace {

double validation_loss(const hpo::ParamSet& params, int epochs) {
  const double lr = params.at("lr").as_double();
  const auto layers = params.at("layers").as_int();
  const std::string& optimizer = params.at("optimizer").as_string();
  const double l = std::log10(lr) + 2.0;
  const double floor = l * l + 0.1 * static_cast<double>((layers - 3) * (layers - 3)) +
                       (optimizer == "adam" ? 0.0 : 0.2);
  return floor + 1.0 / epochs;  // improves with every epoch
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "embed.db";
  try {
    hpo::StoragePtr storage = hpo::open_storage(path);

    hpo::StudyConfig config;
    config.name = "embed-demo";
    config.metric = "val_loss";
    config.space.add({"lr", hpo::Distribution::float_range(1e-4, 1.0, /*log=*/true), {}});
    config.space.add({"layers", hpo::Distribution::int_range(1, 6), {}});
    config.space.add({"optimizer", hpo::Distribution::categorical({"sgd", "adam"}), {}});
    config.sampler.name = "tpe";
    config.sampler.seed = 42;
    hpo::Study study = hpo::Study::create_or_load(*storage, config);

    // Ask and tell: 10 trials run by this loop.
    for (int i = 0; i < 10; ++i) {
      const hpo::AskedTrial trial = study.ask();
      for (int epoch = 1; epoch <= 3; ++epoch)
        study.report(trial, epoch, validation_loss(trial.params, epoch));
      study.tell(trial, validation_loss(trial.params, 3));
    }

    // Optimize: 40 more, two at a time, each reporting its epochs.
    study.optimize(
        [](const hpo::ParamSet& params, hpo::ObjectiveContext& trial) -> hpo::ObjectiveResult {
          double loss = 0.0;
          for (int epoch = 1; epoch <= 3 && !trial.should_stop(); ++epoch) {
            loss = validation_loss(params, epoch);
            trial.report(epoch, {{"val_loss", loss}});
          }
          return loss;
        },
        /*n_trials=*/40, /*parallelism=*/2);

    const std::optional<hpo::Trial> best = study.best_trial();
    if (!best) {
      std::fprintf(stderr, "hpo-embed: no trial completed\n");
      return 1;
    }
    std::printf("%zu trials; best trial #%d: val_loss=%.4f lr=%s layers=%s optimizer=%s\n",
                study.trials().size(), best->number, *best->value,
                best->params.at("lr").to_string().c_str(),
                best->params.at("layers").to_string().c_str(),
                best->params.at("optimizer").to_string().c_str());
    return 0;
  } catch (const hpo::Error& e) {
    std::fprintf(stderr, "hpo-embed: %s\n", e.what());
    return 1;
  }
}
