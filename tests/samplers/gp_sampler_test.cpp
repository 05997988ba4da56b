// GpSampler and its parts: the GP posterior on a known 1-D function, the gradient of the fitted
// objective, log EI in the tails, the box L-BFGS finding the argmax of EI, the nugget growing on
// noisy data, and the sampler beating random search (median over seeds), spreading parallel
// suggestions and handling ints and categoricals.
#include <catch2/catch.hpp>

#include <cmath>

#include "samplers/box_lbfgs.h"
#include "samplers/expected_improvement.h"
#include "samplers/gaussian_process.h"
#include "samplers/gp_sampler.h"
#include "samplers/random_sampler.h"
#include "samplers/rng.h"
#include "tests/samplers/sampler_test_util.h"

namespace hpo::testing {
namespace {

double target(double x) { return std::sin(6.0 * x) + 0.5 * x; }

// Fits a GP to `target` at n evenly spread points of [0, 1] (noise-free).
GaussianProcess fit_target(int n) {
  std::vector<double> x, y;
  for (int i = 0; i < n; ++i) {
    x.push_back((i + 0.5) / n);
    y.push_back(target(x.back()));
  }
  GaussianProcess gp;
  gp.fit(x, y, 1, {});
  return gp;
}

double branin(const ParamSet& p) {
  const double x1 = p.at("x1").as_double(), x2 = p.at("x2").as_double();
  const double b = 5.1 / (4.0 * M_PI * M_PI), c = 5.0 / M_PI, t = 1.0 / (8.0 * M_PI);
  return std::pow(x2 - b * x1 * x1 + c * x1 - 6.0, 2) + 10.0 * (1.0 - t) * std::cos(x1) + 10.0;
}

SearchSpace branin_space() {
  SearchSpace s;
  s.add({"x1", Distribution::float_range(-5.0, 10.0), {}});
  s.add({"x2", Distribution::float_range(0.0, 15.0), {}});
  return s;
}

}  // namespace

TEST_CASE("gp posterior follows a known 1-D function and knows where it is unsure",
          "[samplers][gp]") {
  const GaussianProcess gp = fit_target(12);
  // Between the training points the mean is close to the function...
  double worst = 0.0;
  for (int i = 0; i <= 50; ++i) {
    const double x = 0.05 + 0.9 * i / 50.0;
    double mean = 0.0, var = 0.0;
    gp.predict(&x, 1, &mean, &var);
    worst = std::max(worst, std::fabs(mean - target(x)));
  }
  CHECK(worst < 0.05);
  // ... the variance is near zero at a training point, larger between two, and largest far
  // outside the data.
  const double at = 0.5 / 12, between = 1.0 / 12, outside = 1.5;
  double m, v_at, v_between, v_outside;
  gp.predict(&at, 1, &m, &v_at);
  gp.predict(&between, 1, &m, &v_between);
  gp.predict(&outside, 1, &m, &v_outside);
  CHECK(v_at < 1e-4);
  CHECK(v_between > v_at);
  CHECK(v_outside > 10.0 * v_between);
  CHECK(v_outside <= gp.hyperparameters().signal_variance * (1.0 + 1e-9));
}

TEST_CASE("gp prediction gradients and the fitted objective's gradient match finite differences",
          "[samplers][gp]") {
  Rng rng(5);
  std::vector<double> x, y;
  for (int i = 0; i < 15; ++i) {
    const double a = rng.uniform(), b = rng.uniform(), c = rng.uniform();
    x.insert(x.end(), {a, b, c});
    y.push_back(std::sin(3 * a) + b * b - c);
  }
  GpHyperparameters h;
  h.lengthscales = {0.3, 0.7, 1.5};
  h.signal_variance = 1.7;
  h.noise_variance = 0.01;
  std::vector<double> grad;
  const double base = GaussianProcess::log_posterior_of(x, y, 3, h, &grad);
  REQUIRE(grad.size() == 5);
  const double eps = 1e-6;
  for (std::size_t j = 0; j < 5; ++j) {
    GpHyperparameters moved = h;
    if (j < 3) moved.lengthscales[j] *= std::exp(eps);
    if (j == 3) moved.signal_variance *= std::exp(eps);
    if (j == 4) moved.noise_variance *= std::exp(eps);
    const double fd = (GaussianProcess::log_posterior_of(x, y, 3, moved, nullptr) - base) / eps;
    CHECK(grad[j] == Approx(fd).epsilon(1e-4).margin(1e-5));
  }
  GaussianProcess gp;
  gp.condition(x, y, 3, h);
  const double q[3] = {0.4, 0.2, 0.9};
  double mean, var, d_mean[3], d_var[3];
  gp.predict_with_gradient(q, mean, var, d_mean, d_var);
  for (int d = 0; d < 3; ++d) {
    double qq[3] = {q[0], q[1], q[2]};
    qq[d] += eps;
    double m2, v2;
    gp.predict(qq, 1, &m2, &v2);
    CHECK(d_mean[d] == Approx((m2 - mean) / eps).epsilon(1e-4).margin(1e-6));
    CHECK(d_var[d] == Approx((v2 - var) / eps).epsilon(1e-4).margin(1e-6));
  }
}

TEST_CASE("gp append extends the model as a refit with the same hyperparameters would",
          "[samplers][gp]") {
  GaussianProcess a = fit_target(8), b;
  std::vector<double> x, y;
  for (int i = 0; i < 8; ++i) {
    x.push_back((i + 0.5) / 8);
    y.push_back(target(x.back()));
  }
  const std::vector<double> extra_x = {0.33, 0.71}, extra_y = {0.2, -0.4};
  a.append(extra_x, extra_y);
  x.insert(x.end(), extra_x.begin(), extra_x.end());
  y.insert(y.end(), extra_y.begin(), extra_y.end());
  b.condition(x, y, 1, a.hyperparameters());
  for (double q : {0.1, 0.33, 0.5, 0.9}) {
    double ma, va, mb, vb;
    a.predict(&q, 1, &ma, &va);
    b.predict(&q, 1, &mb, &vb);
    CHECK(ma == Approx(mb).margin(1e-9));
    CHECK(va == Approx(vb).margin(1e-9));
  }
}

TEST_CASE("log expected improvement is exact where EI is representable and finite far beyond",
          "[samplers][gp]") {
  for (double z : {-5.0, -1.5, -0.3, 0.0, 0.8, 4.0}) {
    const double direct = std::log(std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI) +
                                   z * 0.5 * std::erfc(-z / std::sqrt(2.0)));
    CHECK(log_h(z) == Approx(direct).epsilon(1e-9));
  }
  // Where the direct form cancels: values from SciPy's erfcx (log h = -z^2/2 - log sqrt(2 pi) +
  // log(1 - x sqrt(pi/2) erfcx(x / sqrt 2)), x = -z).
  CHECK(log_h(-12.0) == Approx(-77.90910054500736).epsilon(1e-11));
  CHECK(log_h(-30.0) == Approx(-457.72465376059813).epsilon(1e-11));
  CHECK(log_h(-100.0) == Approx(-5010.12957880025).epsilon(1e-11));
  // Far below the incumbent EI underflows, its log does not, and it keeps decreasing.
  double previous = log_h(-40.0);
  for (double z = -80.0; z > -1e6; z *= 2.0) {
    const double v = log_h(z);
    CHECK(std::isfinite(v));
    CHECK(v < previous);
    previous = v;
  }
  // Derivatives against finite differences.
  for (double mean : {-2.0, 0.5, 3.0, 25.0}) {
    const LogEi e = log_expected_improvement(mean, 0.7, 0.0);
    const double h = 1e-6;
    const double dm = (log_expected_improvement(mean + h, 0.7, 0.0).value - e.value) / h;
    const double ds = (log_expected_improvement(mean, 0.7 + h, 0.0).value - e.value) / h;
    CHECK(e.d_mean == Approx(dm).epsilon(1e-4));
    CHECK(e.d_sigma == Approx(ds).epsilon(1e-4));
  }
}

TEST_CASE("box l-bfgs finds the argmax of log EI that a dense grid finds", "[samplers][gp]") {
  const GaussianProcess gp = fit_target(6);
  const double best = target(0.5 / 6);
  auto log_ei = [&](double x) {
    double m, v;
    gp.predict(&x, 1, &m, &v);
    return log_expected_improvement(m, std::sqrt(v), best).value;
  };
  double grid_x = 0.0, grid_best = -INFINITY;
  for (int i = 0; i <= 10000; ++i) {
    const double x = i / 10000.0;
    if (log_ei(x) > grid_best) {
      grid_best = log_ei(x);
      grid_x = x;
    }
  }
  // From the best of 16 coarse starts, as the sampler starts from its best candidates.
  double start = 0.0;
  for (int i = 0; i < 16; ++i)
    if (log_ei(i / 15.0) > log_ei(start)) start = i / 15.0;
  std::vector<double> x = {start};
  const auto objective = [&](const std::vector<double>& z, std::vector<double>& g) {
    double m, v, dm, dv;
    gp.predict_with_gradient(z.data(), m, v, &dm, &dv);
    const double sd = std::sqrt(v);
    const LogEi e = log_expected_improvement(m, sd, best);
    g[0] = -(e.d_mean * dm + e.d_sigma * dv / (2 * sd));
    return -e.value;
  };
  minimize_in_box(objective, x, {0.0}, {1.0});
  CHECK(x[0] == Approx(grid_x).margin(2e-3));
  CHECK(log_ei(x[0]) >= grid_best - 1e-6);
}

TEST_CASE("box l-bfgs stops at active bounds of a bounded rosenbrock", "[samplers][gp]") {
  // Unconstrained minimum (1, 1) lies outside the box [-2, 0.5] x [-2, 2]: the bounded one is
  // on the edge x = 0.5, at y = 0.25.
  const auto rosen = [](const std::vector<double>& z, std::vector<double>& g) {
    const double a = 1 - z[0], b = z[1] - z[0] * z[0];
    g[0] = -2 * a - 400 * z[0] * b;
    g[1] = 200 * b;
    return a * a + 100 * b * b;
  };
  std::vector<double> x = {-1.5, 1.5};
  BoxLbfgsOptions o;
  o.max_iterations = 500;
  o.max_evaluations = 2000;
  minimize_in_box(rosen, x, {-2.0, -2.0}, {0.5, 2.0}, o);
  CHECK(x[0] == Approx(0.5).margin(1e-6));
  CHECK(x[1] == Approx(0.25).margin(1e-4));
}

TEST_CASE("gp nugget grows on noisy data and stays tiny on smooth data", "[samplers][gp]") {
  Rng rng(11);
  std::vector<double> x, smooth, noisy;
  for (int i = 0; i < 30; ++i) {
    x.push_back(rng.uniform());
    smooth.push_back(target(x.back()));
    noisy.push_back(target(x.back()) + 0.3 * rng.normal());
  }
  GaussianProcess a, b;
  a.fit(x, smooth, 1, {});
  b.fit(x, noisy, 1, {});
  INFO("noise " << a.hyperparameters().noise_variance << " vs "
                << b.hyperparameters().noise_variance);
  CHECK(a.hyperparameters().noise_variance < 1e-3);
  CHECK(b.hyperparameters().noise_variance > 0.03);
  CHECK(b.hyperparameters().noise_variance < 0.3);  // the true noise variance is 0.09
}

TEST_CASE("gp beats random search on branin by the median over seeds", "[samplers][gp]") {
  std::vector<double> gp_best, random_best;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    GpSampler g(seed);
    RandomSampler r(seed);
    std::vector<Trial> a, b;
    run_trials(g, branin_space(), branin, 30, a);
    run_trials(r, branin_space(), branin, 30, b);
    gp_best.push_back(best_value(a));
    random_best.push_back(best_value(b));
  }
  INFO("gp " << median(gp_best) << " random " << median(random_best));
  CHECK(median(gp_best) - 0.397887 < 0.05);
  CHECK(median(gp_best) - 0.397887 < 0.1 * (median(random_best) - 0.397887));
}

TEST_CASE("gp spreads the suggestions of parallel trials (kriging believer)", "[samplers][gp]") {
  GpSampler sampler(3);
  std::vector<Trial> trials;
  run_trials(sampler, branin_space(), branin, 15, trials);
  // Four workers ask in turn, each seeing the others' trials still RUNNING.
  std::vector<ParamSet> batch;
  for (int k = 0; k < 4; ++k) {
    const int number = static_cast<int>(trials.size());
    ParamSet p = sampler.suggest(StudyView(Direction::kMinimize, trials), branin_space(),
                                 static_cast<std::uint64_t>(number));
    batch.push_back(p);
    trials.push_back(make_trial(number, TrialState::kRunning, std::move(p)));
  }
  double closest = INFINITY;
  for (std::size_t i = 0; i < batch.size(); ++i)
    for (std::size_t j = i + 1; j < batch.size(); ++j)
      closest = std::min(closest,
                         std::hypot(batch[i].at("x1").as_double() - batch[j].at("x1").as_double(),
                                    batch[i].at("x2").as_double() - batch[j].at("x2").as_double()));
  CHECK(closest > 0.05);  // of a 15 x 15 box
}

TEST_CASE("gp rounds ints inside the model and one-hot encodes categoricals", "[samplers][gp]") {
  // The best int is 7 and the best choice "b": the GP finds both within 40 trials.
  SearchSpace space;
  space.add({"x", Distribution::float_range(-2.0, 2.0), {}});
  space.add({"n", Distribution::int_range(0, 12), {}});
  space.add({"c", Distribution::categorical({"a", "b", "c"}), {}});
  auto f = [](const ParamSet& p) {
    const double x = p.at("x").as_double(), n = p.at("n").as_double();
    const std::string c = p.at("c").as_string();
    return x * x + 0.3 * (n - 7) * (n - 7) + (c == "b" ? 0.0 : c == "a" ? 2.0 : 3.0);
  };
  int found = 0;
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    GpSampler sampler(seed);
    std::vector<Trial> trials;
    run_trials(sampler, space, f, 40, trials);
    const Trial* best = &trials[0];
    for (const auto& t : trials) {
      CHECK(t.params.at("n").is_int());
      if (*t.value < *best->value) best = &t;
    }
    found += best->params.at("n").as_int() == 7 && best->params.at("c") == ParamValue("b");
  }
  CHECK(found == 3);
}

TEST_CASE("gp checker names the problem of each option", "[samplers][gp]") {
  SpecChecker c;
  read_gp_options(OrderedJson::parse(R"({"n_startup_trials": 0, "n_candidates": 4,
      "independent_sampler": "cma", "deterministic_objective": "yes"})"),
                  "sampler", c);
  const auto issues = c.take();
  REQUIRE(issues.size() == 4);
  CHECK(issues[0].path == "sampler.n_startup_trials");
  CHECK(issues[1].path == "sampler.n_candidates");
  CHECK(issues[2].path == "sampler.deterministic_objective");
  CHECK(issues[3].path == "sampler.independent_sampler");
}

}  // namespace hpo::testing

namespace hpo::testing {

TEST_CASE("gp maximizes a 1-D objective when the study maximizes", "[samplers][gp]") {
  SearchSpace space;
  space.add({"x", Distribution::float_range(-1.0, 1.0), {}});
  auto f = [](const ParamSet& p) { return -std::pow(p.at("x").as_double() - 0.3, 2); };
  GpSampler gp(1);
  std::vector<Trial> trials;
  run_trials(gp, space, f, 20, trials, Direction::kMaximize);
  double best = -INFINITY;
  for (const auto& t : trials) best = std::max(best, *t.value);
  CHECK(best > -1e-4);
}

}  // namespace hpo::testing
