#include "samplers/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "samplers/box_lbfgs.h"

namespace hpo {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr double kSqrt5 = 2.23606797749978969641;
constexpr double kLog2Pi = 1.83787706640934548356;

// Priors (see the header). Length scales: 1 / l^2 ~ Gamma(2, rate 1/2), whose log density in
// theta = log l (with the Jacobian) is 2 log(1 / l^2) - (1 / l^2) / 2 + const: a mode at
// l = 0.5 and a steep penalty on length scales much shorter than the cube.
constexpr double kInvLengthscaleShape = 2.0, kInvLengthscaleRate = 0.5;
constexpr double kSignalPriorMean = 0.0, kSignalPriorSd = 1.0;
constexpr double kNoisePriorMean = -8.0, kNoisePriorSd = 2.0;
constexpr double kStartLengthscale = 0.5;
// Bounds of the fit (logarithms).
constexpr double kMinLogLengthscale = -5.3;  // 0.005 of the cube
constexpr double kMaxLogLengthscale = 6.9;   // 1000 cubes: the dimension does not matter
constexpr double kMinLogSignal = -6.9, kMaxLogSignal = 6.9;
constexpr double kMaxLogNoise = 0.7;
// Jitter added to the diagonal so that a factorization of duplicated points succeeds.
constexpr double kJitter = 1e-9;

double matern(double r) { return (1.0 + kSqrt5 * r + 5.0 / 3.0 * r * r) * std::exp(-kSqrt5 * r); }

// Pairwise squared differences per dimension: diff[d](i, j) = (x_id - x_jd)^2.
std::vector<MatrixXd> pairwise(const std::vector<double>& x, std::size_t n, std::size_t dims) {
  std::vector<MatrixXd> diff(dims, MatrixXd(static_cast<Index>(n), static_cast<Index>(n)));
  for (std::size_t d = 0; d < dims; ++d) {
    MatrixXd& m = diff[d];
    for (std::size_t i = 0; i < n; ++i) {
      m(static_cast<Index>(i), static_cast<Index>(i)) = 0.0;
      for (std::size_t j = 0; j < i; ++j) {
        const double v = x[i * dims + d] - x[j * dims + d];
        m(static_cast<Index>(i), static_cast<Index>(j)) = v * v;
        m(static_cast<Index>(j), static_cast<Index>(i)) = v * v;
      }
    }
  }
  return diff;
}

struct Objective {
  const std::vector<MatrixXd>* diff;
  const VectorXd* y;
  std::size_t dims;
  bool fixed_noise;
  double min_noise;

  // theta = log l (dims), log s2, [log noise]. Returns log p(y) + log prior and its gradient.
  double operator()(const std::vector<double>& theta, std::vector<double>* grad) const {
    const Index n = y->size();
    const double s2 = std::exp(theta[dims]);
    const double noise = fixed_noise ? min_noise : std::exp(theta[dims + 1]);
    MatrixXd r2 = MatrixXd::Zero(n, n);
    std::vector<double> inv_l2(dims);
    for (std::size_t d = 0; d < dims; ++d) {
      inv_l2[d] = std::exp(-2.0 * theta[d]);
      r2.noalias() += inv_l2[d] * (*diff)[d];
    }
    MatrixXd k(n, n), g(n, n);  // g: s2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r), for d k / d log l
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < n; ++i) {
        const double r = std::sqrt(r2(i, j));
        const double e = std::exp(-kSqrt5 * r);
        k(i, j) = s2 * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2(i, j)) * e;
        g(i, j) = s2 * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * e;
      }
    }
    k.diagonal().array() += noise + kJitter;
    Eigen::LLT<MatrixXd> llt(k);
    if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
    const VectorXd alpha = llt.solve(*y);
    const MatrixXd& l = llt.matrixLLT();
    double log_det = 0.0;
    for (Index i = 0; i < n; ++i) log_det += 2.0 * std::log(l(i, i));
    double value = -0.5 * y->dot(alpha) - 0.5 * log_det - 0.5 * static_cast<double>(n) * kLog2Pi;
    // Priors.
    for (std::size_t d = 0; d < dims; ++d)
      value += kInvLengthscaleShape * (-2.0 * theta[d]) - kInvLengthscaleRate * inv_l2[d];
    const double us = (theta[dims] - kSignalPriorMean) / kSignalPriorSd;
    value -= 0.5 * us * us;
    if (!fixed_noise) {
      const double un = (theta[dims + 1] - kNoisePriorMean) / kNoisePriorSd;
      value -= 0.5 * un * un;
    }
    if (!grad) return value;
    // d/dtheta_j = 1/2 tr(W dK/dtheta_j), W = alpha alpha^T - K^-1.
    MatrixXd w = llt.solve(MatrixXd::Identity(n, n));
    w = alpha * alpha.transpose() - w;
    grad->assign(theta.size(), 0.0);
    const MatrixXd wg = w.cwiseProduct(g);
    for (std::size_t d = 0; d < dims; ++d) {
      // dK/dlog l_d = g * diff_d / l_d^2
      (*grad)[d] = 0.5 * inv_l2[d] * wg.cwiseProduct((*diff)[d]).sum();
      (*grad)[d] += -2.0 * kInvLengthscaleShape + 2.0 * kInvLengthscaleRate * inv_l2[d];
    }
    // dK/dlog s2 = K - noise I (the kernel part).
    MatrixXd kern = k;
    kern.diagonal().array() -= noise + kJitter;
    (*grad)[dims] = 0.5 * w.cwiseProduct(kern).sum() -
                    (theta[dims] - kSignalPriorMean) / (kSignalPriorSd * kSignalPriorSd);
    if (!fixed_noise) {
      (*grad)[dims + 1] = 0.5 * noise * w.trace() -
                          (theta[dims + 1] - kNoisePriorMean) / (kNoisePriorSd * kNoisePriorSd);
    }
    return value;
  }
};

}  // namespace

struct GaussianProcess::Model {
  std::size_t dims = 0;
  GpHyperparameters hyper;
  std::vector<double> inv_l2;
  RowMatrix x;  // n x dims, row-major: a point's coordinates are contiguous
  VectorXd y;
  MatrixXd chol;   // lower factor of K
  VectorXd alpha;  // K^-1 y
  double log_posterior = 0.0;

  double kernel(const double* a, const double* b) const {
    double r2 = 0.0;
    for (std::size_t d = 0; d < dims; ++d) {
      const double v = a[d] - b[d];
      r2 += v * v * inv_l2[d];
    }
    return hyper.signal_variance * matern(std::sqrt(r2));
  }

  void factorize() {
    const Index n = x.rows();
    inv_l2.resize(dims);
    for (std::size_t d = 0; d < dims; ++d)
      inv_l2[d] = 1.0 / (hyper.lengthscales[d] * hyper.lengthscales[d]);
    MatrixXd k(n, n);
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j <= i; ++j) {
        k(i, j) = kernel(&x(i, 0), &x(j, 0));
        k(j, i) = k(i, j);
      }
      k(i, i) += hyper.noise_variance + kJitter;
    }
    Eigen::LLT<MatrixXd> llt(k);
    // Duplicated points with a tiny nugget can defeat the factorization: grow the jitter.
    double extra = 1e-8 * hyper.signal_variance;
    while (llt.info() != Eigen::Success && extra < hyper.signal_variance) {
      k.diagonal().array() += extra;
      llt.compute(k);
      extra *= 10.0;
    }
    chol = llt.matrixL();
    alpha = llt.solve(y);
  }
};

GaussianProcess::GaussianProcess() : m_(std::make_unique<Model>()) {}
GaussianProcess::GaussianProcess(const GaussianProcess& other)
    : m_(std::make_unique<Model>(*other.m_)) {}
GaussianProcess& GaussianProcess::operator=(const GaussianProcess& other) {
  m_ = std::make_unique<Model>(*other.m_);
  return *this;
}
GaussianProcess::~GaussianProcess() = default;

std::size_t GaussianProcess::size() const { return static_cast<std::size_t>(m_->x.rows()); }
std::size_t GaussianProcess::dims() const { return m_->dims; }
const GpHyperparameters& GaussianProcess::hyperparameters() const { return m_->hyper; }
double GaussianProcess::log_posterior() const { return m_->log_posterior; }

double GaussianProcess::log_posterior_of(const std::vector<double>& x, const std::vector<double>& y,
                                         std::size_t dims, const GpHyperparameters& hyper,
                                         std::vector<double>* gradient) {
  const std::size_t n = y.size();
  const std::vector<MatrixXd> diff = pairwise(x, n, dims);
  const VectorXd yv = Eigen::Map<const VectorXd>(y.data(), static_cast<Index>(n));
  Objective obj{&diff, &yv, dims, false, 1e-6};
  std::vector<double> theta;
  for (double l : hyper.lengthscales) theta.push_back(std::log(l));
  theta.push_back(std::log(hyper.signal_variance));
  theta.push_back(std::log(hyper.noise_variance));
  return obj(theta, gradient);
}

void GaussianProcess::fit(const std::vector<double>& x, const std::vector<double>& y,
                          std::size_t dims, const std::vector<GpHyperparameters>& starts,
                          const GpFitOptions& options) {
  const std::size_t n = y.size();
  const std::vector<MatrixXd> diff = pairwise(x, n, dims);
  const VectorXd yv = Eigen::Map<const VectorXd>(y.data(), static_cast<Index>(n));
  const Objective obj{&diff, &yv, dims, options.fixed_noise, options.min_noise};
  const std::size_t p = dims + (options.fixed_noise ? 1 : 2);
  std::vector<double> lower(p), upper(p);
  for (std::size_t d = 0; d < dims; ++d) {
    lower[d] = kMinLogLengthscale;
    upper[d] = kMaxLogLengthscale;
  }
  lower[dims] = kMinLogSignal;
  upper[dims] = kMaxLogSignal;
  if (!options.fixed_noise) {
    lower[dims + 1] = std::log(options.min_noise);
    upper[dims + 1] = kMaxLogNoise;
  }
  std::vector<std::vector<double>> thetas;
  for (const GpHyperparameters& h : starts) {
    std::vector<double> t;
    for (std::size_t d = 0; d < dims; ++d) t.push_back(std::log(h.lengthscales[d]));
    t.push_back(std::log(h.signal_variance));
    if (!options.fixed_noise) t.push_back(std::log(std::max(h.noise_variance, options.min_noise)));
    thetas.push_back(std::move(t));
  }
  if (thetas.empty()) {
    std::vector<double> t(dims, std::log(kStartLengthscale));
    t.push_back(kSignalPriorMean);
    if (!options.fixed_noise) t.push_back(kNoisePriorMean);
    thetas.push_back(std::move(t));
  }
  BoxLbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.max_evaluations = 3 * options.max_iterations;
  lbfgs.pgtol = 1e-2;
  lbfgs.ftol = 1e-6;
  const auto negative = [&](const std::vector<double>& theta, std::vector<double>& grad) {
    const double v = obj(theta, &grad);
    for (double& g : grad) g = -g;
    return -v;
  };
  std::vector<double> best;
  double best_value = std::numeric_limits<double>::infinity();
  for (std::vector<double>& t : thetas) {
    const BoxLbfgsResult r = minimize_in_box(negative, t, lower, upper, lbfgs);
    if (r.value < best_value || best.empty()) {
      best_value = r.value;
      best = t;
    }
  }
  GpHyperparameters hyper;
  for (std::size_t d = 0; d < dims; ++d) hyper.lengthscales.push_back(std::exp(best[d]));
  hyper.signal_variance = std::exp(best[dims]);
  hyper.noise_variance = options.fixed_noise ? options.min_noise : std::exp(best[dims + 1]);
  condition(x, y, dims, hyper);
  m_->log_posterior = -best_value;
}

void GaussianProcess::condition(const std::vector<double>& x, const std::vector<double>& y,
                                std::size_t dims, const GpHyperparameters& hyper) {
  Model& m = *m_;
  const auto n = static_cast<Index>(y.size());
  m.dims = dims;
  m.hyper = hyper;
  m.x = Eigen::Map<const RowMatrix>(x.data(), n, static_cast<Index>(dims));
  m.y = Eigen::Map<const VectorXd>(y.data(), n);
  m.factorize();
  m.log_posterior = std::numeric_limits<double>::quiet_NaN();
}

void GaussianProcess::append(const std::vector<double>& x, const std::vector<double>& y) {
  Model& m = *m_;
  const auto add = static_cast<Index>(y.size());
  if (add == 0) return;
  const Index n = m.x.rows();
  const auto dims = static_cast<Index>(m.dims);
  m.x.conservativeResize(n + add, dims);
  for (Index i = 0; i < add; ++i)
    for (Index d = 0; d < dims; ++d) m.x(n + i, d) = x[static_cast<std::size_t>(i * dims + d)];
  m.y.conservativeResize(n + add);
  for (Index i = 0; i < add; ++i) m.y[n + i] = y[static_cast<std::size_t>(i)];
  // Extend the factor: [L 0; B^T C] with B = L^-1 K(old, new), C C^T = K(new) - B^T B.
  MatrixXd cross(n, add), corner(add, add);
  for (Index i = 0; i < add; ++i) {
    for (Index j = 0; j < n; ++j) cross(j, i) = m.kernel(&m.x(n + i, 0), &m.x(j, 0));
    for (Index j = 0; j <= i; ++j) {
      corner(i, j) = m.kernel(&m.x(n + i, 0), &m.x(n + j, 0));
      corner(j, i) = corner(i, j);
    }
    corner(i, i) += m.hyper.noise_variance + kJitter;
  }
  const MatrixXd b = m.chol.triangularView<Eigen::Lower>().solve(cross);
  corner.noalias() -= b.transpose() * b;
  Eigen::LLT<MatrixXd> llt(corner);
  if (llt.info() != Eigen::Success) {
    m.factorize();  // numerically degenerate: start over
    return;
  }
  MatrixXd chol = MatrixXd::Zero(n + add, n + add);
  chol.topLeftCorner(n, n) = m.chol;
  chol.bottomLeftCorner(add, n) = b.transpose();
  chol.bottomRightCorner(add, add) = llt.matrixL();
  m.chol = std::move(chol);
  m.alpha = m.chol.triangularView<Eigen::Lower>().solve(m.y);
  m.chol.triangularView<Eigen::Lower>().transpose().solveInPlace(m.alpha);
}

void GaussianProcess::predict(const double* x, std::size_t count, double* mean,
                              double* variance) const {
  const Model& m = *m_;
  const Index n = m.x.rows();
  const auto cnt = static_cast<Index>(count);
  MatrixXd ks(n, cnt);
  for (Index c = 0; c < cnt; ++c)
    for (Index i = 0; i < n; ++i)
      ks(i, c) = m.kernel(x + static_cast<std::size_t>(c) * m.dims, &m.x(i, 0));
  const VectorXd mu = ks.transpose() * m.alpha;
  m.chol.triangularView<Eigen::Lower>().solveInPlace(ks);
  for (Index c = 0; c < cnt; ++c) {
    mean[c] = mu[c];
    variance[c] = std::max(m.hyper.signal_variance - ks.col(c).squaredNorm(),
                           1e-12 * m.hyper.signal_variance);
  }
}

void GaussianProcess::predict_with_gradient(const double* x, double& mean, double& variance,
                                            double* d_mean, double* d_variance) const {
  const Model& m = *m_;
  const Index n = m.x.rows();
  const std::size_t dims = m.dims;
  VectorXd k(n);
  // dk_i/dx_d = -s2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r) (x_d - x_id) / l_d^2 = -g_i (x_d - x_id) /
  // l_d^2
  VectorXd g(n);
  for (Index i = 0; i < n; ++i) {
    double r2 = 0.0;
    for (std::size_t d = 0; d < dims; ++d) {
      const double v = x[d] - m.x(i, static_cast<Index>(d));
      r2 += v * v * m.inv_l2[d];
    }
    const double r = std::sqrt(r2);
    const double e = std::exp(-kSqrt5 * r);
    k[i] = m.hyper.signal_variance * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * e;
    g[i] = m.hyper.signal_variance * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * e;
  }
  mean = k.dot(m.alpha);
  VectorXd v = m.chol.triangularView<Eigen::Lower>().solve(k);
  const double raw_variance = m.hyper.signal_variance - v.squaredNorm();
  const double floor = 1e-12 * m.hyper.signal_variance;
  variance = std::max(raw_variance, floor);
  // w = K^-1 k; d var / dx = -2 w^T dk/dx.
  m.chol.triangularView<Eigen::Lower>().transpose().solveInPlace(v);
  const VectorXd ga = g.cwiseProduct(m.alpha), gw = g.cwiseProduct(v);
  for (std::size_t d = 0; d < dims; ++d) {
    double dm = 0.0, dv = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double diff = x[d] - m.x(i, static_cast<Index>(d));
      dm -= ga[i] * diff;
      dv += gw[i] * diff;
    }
    d_mean[d] = dm * m.inv_l2[d];
    d_variance[d] = raw_variance > floor ? 2.0 * dv * m.inv_l2[d] : 0.0;
  }
}

}  // namespace hpo
