// A tiny training program for integration tests. Usage:
//   hpo_it_objective X Y [MODE]
// prints "epoch=i loss=..." for three epochs and then "loss=(X-1)^2 + (Y+2)^2" (the value the
// tests recompute from the stored parameters). MODE changes the behaviour:
//   ok (default) | fail (exit 3 after a stderr line) | nan (loss=nan) | nometric | sleep (sleep
//   30 s, for interrupt tests) | result (write HPO_RESULT_FILE with loss+100) | slow-once
//   (the first run of a trial leaves a mark in HPO_CHECKPOINT_DIR and sleeps 30 s; a run that
//   finds the mark finishes at once, printing resumed=1) | crash (abort(): death by SIGABRT) |
//   multi (also size=X^2+Y^2 and mem=100|X|, for multi-objective studies with a constraint) |
//   multi-nomem (as multi without mem)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: hpo_it_objective X Y [MODE]\n");
    return 2;
  }
  const double x = std::strtod(argv[1], nullptr);
  const double y = std::strtod(argv[2], nullptr);
  const std::string mode = argc > 3 ? argv[3] : "ok";
  const double loss = (x - 1) * (x - 1) + (y + 2) * (y + 2);
  if (mode == "nometric") {  // no line ever names the objective metric
    std::printf("epoch=1 accuracy=0.4\naccuracy=0.5\n");
    return 0;
  }
  for (int epoch = 1; epoch <= 3; ++epoch)
    std::printf("epoch=%d loss=%.17g\n", epoch, loss + 1.0 / epoch);
  std::fflush(stdout);
  if (mode == "fail") {
    std::fprintf(stderr, "ValueError: exploded on purpose\n");
    return 3;
  }
  if (mode == "sleep") std::this_thread::sleep_for(std::chrono::seconds(30));
  if (mode == "crash") std::abort();
  if (mode == "slow-once") {
    const char* dir = std::getenv("HPO_CHECKPOINT_DIR");
    const std::string mark = std::string(dir ? dir : ".") + "/mark";
    if (FILE* f = std::fopen(mark.c_str(), "r")) {
      std::fclose(f);
      std::printf("resumed=1\n");
    } else {
      if (FILE* w = std::fopen(mark.c_str(), "w")) std::fclose(w);
      std::this_thread::sleep_for(std::chrono::seconds(30));
    }
  }
  if (mode == "nan") {
    std::printf("loss=nan\n");
    return 0;
  }
  if (mode == "result") {
    if (const char* path = std::getenv("HPO_RESULT_FILE")) {
      if (FILE* f = std::fopen(path, "w")) {
        std::fprintf(f, "{\"loss\": %.17g}\n", loss + 100);
        std::fclose(f);
      }
    }
  }
  if (mode == "multi" || mode == "multi-nomem") std::printf("size=%.17g\n", x * x + y * y);
  if (mode == "multi") std::printf("mem=%.17g\n", 100 * std::fabs(x));
  std::printf("loss=%.17g\n", loss);
  return 0;
}
