#include "samplers/cma_es.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <Eigen/Dense>

#include "samplers/truncated_normal.h"

namespace hpo {
namespace {

constexpr double kEps = 1e-8;
constexpr double kSigmaMax = 1e32;

using Eigen::MatrixXd;
using Eigen::VectorXd;

}  // namespace

// Every number of one CMA-ES run; the names follow the cmaes library (and Hansen's tutorial).
struct CmaEs::State {
  std::size_t n = 0;
  int lambda = 0, mu = 0;
  double mu_eff = 0, cc = 0, c1 = 0, cmu = 0, c_sigma = 0, d_sigma = 0, chi_n = 0;
  VectorXd weights;
  VectorXd mean, p_sigma, pc;
  MatrixXd C, B;
  VectorXd D;
  double sigma = 0;
  int g = 0;
  bool separable = false;  // C stays diagonal, B the identity
  // Termination.
  double tolx = 0, tolxup = 1e4, tolfun = 1e-12, tolconditioncov = 1e14;
  int funhist_term = 0;
  std::vector<double> funhist;
  // Margin: per dimension the allowed values (empty: continuous) and the cell edges between
  // them; the scale A of every coordinate.
  std::vector<std::vector<double>> values, edges;
  std::vector<std::size_t> discrete_idx, continuous_idx;
  VectorXd A;
  double margin = 0;

  // Symmetrizes C, floors its eigenvalues and caches C = B diag(D^2) B^T (cmaes's
  // _eigen_decomposition, run after every change of C).
  void decompose() {
    if (separable) {
      const VectorXd d2 = C.diagonal().cwiseMax(kEps);
      C = d2.asDiagonal();
      D = d2.cwiseSqrt();
      B = MatrixXd::Identity(C.rows(), C.cols());
      return;
    }
    C = 0.5 * (C + C.transpose());
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(C);
    VectorXd d2 = es.eigenvalues();
    for (Eigen::Index i = 0; i < d2.size(); ++i) d2[i] = d2[i] < 0 ? kEps : d2[i];
    D = d2.cwiseSqrt();
    B = es.eigenvectors();
    C = B * D.cwiseProduct(D).asDiagonal() * B.transpose();
  }

  // Index of the cell of discrete coordinate j (in discrete_idx order) that holds x.
  std::size_t cell(std::size_t j, double x) const {
    const auto& e = edges[j];
    return static_cast<std::size_t>(std::lower_bound(e.begin(), e.end(), x) - e.begin());
  }

  void margin_correction() {
    for (std::size_t j = 0; j < discrete_idx.size(); ++j) {
      const auto i = static_cast<Eigen::Index>(discrete_idx[j]);
      const auto& e = edges[j];
      const std::size_t k = cell(j, mean[i]);
      // Edges of the mean's cell; the end cells have one edge, used for both sides.
      const double lim_low = e[k == 0 ? 0 : k - 1];
      const double lim_up = e[std::min(k, e.size() - 1)];
      const double scale = sigma * A[i] * std::sqrt(C(i, i));
      double low_cdf = normal_cdf((lim_low - mean[i]) / scale);
      double up_cdf = 1.0 - normal_cdf((lim_up - mean[i]) / scale);
      const double mid_cdf = 1.0 - (low_cdf + up_cdf);
      const bool edge = std::max(low_cdf, up_cdf) > 0.5;
      if (edge && std::min(low_cdf, up_cdf) < margin) {
        // Mostly outside the end cell's edge (or inside it): move the mean so that exactly
        // `margin` of the mass crosses the edge.
        const double sign = mean[i] > lim_up ? 1.0 : (mean[i] < lim_up ? -1.0 : 0.0);
        const double dist = sigma * A[i] * normal_quantile(1.0 - margin) * std::sqrt(C(i, i));
        mean[i] = lim_up + sign * dist;
      }
      if (edge) continue;
      low_cdf = std::max(low_cdf, margin / 2.0);
      up_cdf = std::max(up_cdf, margin / 2.0);
      const double excess = 1.0 - low_cdf - up_cdf - mid_cdf;
      const double denom = low_cdf + mid_cdf + up_cdf - 3.0 * margin / 2.0;
      double mod_low = low_cdf + excess * (low_cdf - margin / 2.0) / denom;
      double mod_up = up_cdf + excess * (up_cdf - margin / 2.0) / denom;
      mod_low = std::clamp(mod_low, 1e-10, 0.5 - 1e-10);
      mod_up = std::clamp(mod_up, 1e-10, 0.5 - 1e-10);
      const double chi_low = normal_quantile(1.0 - mod_low);
      const double chi_up = normal_quantile(1.0 - mod_up);
      // Solve for A and the mean so that the two tails hold exactly those probabilities, sigma
      // and C unchanged.
      A[i] = (lim_up - lim_low) / ((chi_low + chi_up) * sigma * std::sqrt(C(i, i)));
      mean[i] = (lim_low * chi_up + lim_up * chi_low) / (chi_low + chi_up);
    }
  }

  VectorXd sample(Rng& rng) const {
    VectorXd z(static_cast<Eigen::Index>(n));
    for (Eigen::Index i = 0; i < z.size(); ++i) z[i] = rng.normal();
    return mean + sigma * (B * D.cwiseProduct(z));
  }

  bool continuous_feasible(const VectorXd& x) const {
    for (std::size_t i : continuous_idx) {
      const double v = x[static_cast<Eigen::Index>(i)];
      if (!(v >= 0.0 && v <= 1.0)) return false;
    }
    return true;
  }

  double update_paths(const VectorXd& whitened, const VectorXd& y_w);
};

CmaEs::CmaEs(const CmaEsConfig& config) : s_(std::make_unique<State>()) {
  State& s = *s_;
  const std::size_t n = config.mean.size();
  const double nd = static_cast<double>(n);
  s.n = n;
  s.lambda =
      config.popsize > 0 ? config.popsize : 4 + static_cast<int>(std::floor(3.0 * std::log(nd)));
  s.mu = s.lambda / 2;
  std::vector<double> wp(static_cast<std::size_t>(s.lambda));
  for (int i = 0; i < s.lambda; ++i)
    wp[static_cast<std::size_t>(i)] = std::log((s.lambda + 1) / 2.0) - std::log(i + 1.0);
  double pos = 0, pos2 = 0, neg = 0, neg2 = 0;
  for (int i = 0; i < s.lambda; ++i) {
    const double w = wp[static_cast<std::size_t>(i)];
    if (i < s.mu) {
      pos += w;
      pos2 += w * w;
    } else {
      neg += w;
      neg2 += w * w;
    }
  }
  s.mu_eff = pos * pos / pos2;
  const double mu_eff_minus = neg2 > 0 ? neg * neg / neg2 : 0.0;
  const double alpha_cov = 2.0;
  s.c1 = alpha_cov / ((nd + 1.3) * (nd + 1.3) + s.mu_eff);
  s.cmu = std::min(1.0 - s.c1 - 1e-8, alpha_cov * (s.mu_eff - 2.0 + 1.0 / s.mu_eff) /
                                          ((nd + 2.0) * (nd + 2.0) + alpha_cov * s.mu_eff / 2.0));
  const double min_alpha =
      std::min({1.0 + s.c1 / s.cmu, 1.0 + 2.0 * mu_eff_minus / (s.mu_eff + 2.0),
                (1.0 - s.c1 - s.cmu) / (nd * s.cmu)});
  double positive_sum = 0, negative_sum = 0;
  for (double w : wp) (w > 0 ? positive_sum : negative_sum) += std::fabs(w);
  s.weights.resize(s.lambda);
  for (int i = 0; i < s.lambda; ++i) {
    const double w = wp[static_cast<std::size_t>(i)];
    s.weights[i] = w >= 0 ? w / positive_sum : min_alpha / negative_sum * w;
  }
  s.c_sigma = (s.mu_eff + 2.0) / (nd + s.mu_eff + 5.0);
  s.d_sigma = 1.0 + 2.0 * std::max(0.0, std::sqrt((s.mu_eff - 1.0) / (nd + 1.0)) - 1.0) + s.c_sigma;
  s.cc = (4.0 + s.mu_eff / nd) / (nd + 4.0 + 2.0 * s.mu_eff / nd);
  s.separable = config.separable;
  if (s.separable) {
    // SepCMA's constants (cmaes/_sepcma.py): positive weights only, summing to 1.
    double sum = 0;
    for (int i = 0; i < s.mu; ++i) sum += wp[static_cast<std::size_t>(i)];
    double sum2 = 0;
    for (int i = 0; i < s.lambda; ++i) {
      s.weights[i] = i < s.mu ? wp[static_cast<std::size_t>(i)] / sum : 0.0;
      sum2 += s.weights[i] * s.weights[i];
    }
    s.mu_eff = 1.0 / sum2;
    s.c1 = alpha_cov / ((nd + 1.3) * (nd + 1.3) + s.mu_eff);
    const double cmu_full =
        2.0 / s.mu_eff / ((nd + std::sqrt(2.0)) * (nd + std::sqrt(2.0))) +
        (1.0 - 1.0 / s.mu_eff) *
            std::min(1.0, (2.0 * s.mu_eff - 1.0) / ((nd + 2.0) * (nd + 2.0) + s.mu_eff));
    s.cmu = (nd + 2.0) / 3.0 * cmu_full;
    s.c_sigma = (s.mu_eff + 2.0) / (nd + s.mu_eff + 3.0);
    s.d_sigma =
        1.0 + 2.0 * std::max(0.0, std::sqrt((s.mu_eff - 1.0) / (nd + 1.0)) - 1.0) + s.c_sigma;
    s.cc = 4.0 / (nd + 4.0);
  }
  s.chi_n = std::sqrt(nd) * (1.0 - 1.0 / (4.0 * nd) + 1.0 / (21.0 * nd * nd));
  s.mean = Eigen::Map<const VectorXd>(config.mean.data(), static_cast<Eigen::Index>(n));
  s.p_sigma = VectorXd::Zero(static_cast<Eigen::Index>(n));
  s.pc = VectorXd::Zero(static_cast<Eigen::Index>(n));
  s.C = MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  if (!s.separable && config.cov.size() == n * n)
    s.C = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        config.cov.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  s.sigma = std::max(config.sigma, kEps);
  s.tolx = 1e-12 * s.sigma;
  s.funhist_term = 10 + static_cast<int>(std::ceil(30.0 * nd / s.lambda));
  s.funhist.assign(static_cast<std::size_t>(2 * s.funhist_term), 0.0);
  s.values = config.discrete;
  s.values.resize(n);
  s.A = VectorXd::Ones(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    if (s.values[i].size() >= 2) {
      s.discrete_idx.push_back(i);
      std::vector<double> e;
      for (std::size_t k = 0; k + 1 < s.values[i].size(); ++k)
        e.push_back(0.5 * (s.values[i][k] + s.values[i][k + 1]));
      s.edges.push_back(std::move(e));
    } else {
      s.continuous_idx.push_back(i);
    }
  }
  s.margin = config.margin > 0 ? config.margin : 1.0 / (nd * s.lambda);
  s.decompose();
}

CmaEs::CmaEs(const CmaEs& other) : s_(std::make_unique<State>(*other.s_)) {}
CmaEs& CmaEs::operator=(const CmaEs& other) {
  s_ = std::make_unique<State>(*other.s_);
  return *this;
}
CmaEs::~CmaEs() = default;

std::size_t CmaEs::dim() const { return s_->n; }
int CmaEs::popsize() const { return s_->lambda; }
int CmaEs::generation() const { return s_->g; }
double CmaEs::sigma() const { return s_->sigma; }
std::vector<double> CmaEs::mean() const {
  return std::vector<double>(s_->mean.data(), s_->mean.data() + s_->mean.size());
}

void CmaEs::ask(Rng& rng, std::vector<double>& raw, std::vector<double>& eval) const {
  const State& s = *s_;
  const int tries = 10 * static_cast<int>(s.n);
  VectorXd x;
  bool feasible = false;
  for (int i = 0; i < tries && !feasible; ++i) {
    x = s.sample(rng);
    feasible = s.continuous_feasible(x);
  }
  if (!feasible) {
    x = s.sample(rng);
    for (std::size_t i : s.continuous_idx) {
      const auto k = static_cast<Eigen::Index>(i);
      x[k] = std::clamp(x[k], 0.0, 1.0);
    }
  }
  raw.assign(x.data(), x.data() + x.size());
  eval = raw;
  for (std::size_t j = 0; j < s.discrete_idx.size(); ++j) {
    const std::size_t i = s.discrete_idx[j];
    const auto k = static_cast<Eigen::Index>(i);
    const double scaled = (x[k] - s.mean[k]) * s.A[k] + s.mean[k];
    eval[i] = s.values[i][s.cell(j, scaled)];
  }
}

// The evolution paths and the step size, shared by the full and the separable update:
// `whitened` is y_w in the coordinates where C is the identity (C^-1/2 y_w; y_w / D when C is
// diagonal). Returns h_sigma, which stalls the rank-one update while the step size is growing.
double CmaEs::State::update_paths(const VectorXd& whitened, const VectorXd& y_w) {
  State& s = *this;
  s.p_sigma = (1.0 - s.c_sigma) * s.p_sigma +
              std::sqrt(s.c_sigma * (2.0 - s.c_sigma) * s.mu_eff) * whitened;
  const double norm_ps = s.p_sigma.norm();
  s.sigma *= std::exp((s.c_sigma / s.d_sigma) * (norm_ps / s.chi_n - 1.0));
  s.sigma = std::min(s.sigma, kSigmaMax);
  const double left = norm_ps / std::sqrt(1.0 - std::pow(1.0 - s.c_sigma, 2.0 * (s.g + 1)));
  const double right = (1.4 + 2.0 / (static_cast<double>(s.n) + 1.0)) * s.chi_n;
  const double h_sigma = left < right ? 1.0 : 0.0;
  s.pc = (1.0 - s.cc) * s.pc + h_sigma * std::sqrt(s.cc * (2.0 - s.cc) * s.mu_eff) * y_w;
  return h_sigma;
}

void CmaEs::tell(const std::vector<std::vector<double>>& xs, const std::vector<double>& values) {
  State& s = *s_;
  const auto n = static_cast<Eigen::Index>(s.n);
  s.g += 1;
  std::vector<std::size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  const std::size_t slot = 2 * static_cast<std::size_t>(s.g % s.funhist_term);
  s.funhist[slot] = values[order.front()];
  s.funhist[slot + 1] = values[order.back()];

  MatrixXd y(s.lambda, n);
  for (int k = 0; k < s.lambda; ++k) {
    const auto& x = xs[order[static_cast<std::size_t>(k)]];
    for (Eigen::Index i = 0; i < n; ++i)
      y(k, i) = (x[static_cast<std::size_t>(i)] - s.mean[i]) / s.sigma;
  }
  VectorXd y_w = VectorXd::Zero(n);
  for (int k = 0; k < s.mu; ++k) y_w += s.weights[k] * y.row(k).transpose();
  s.mean += s.sigma * y_w;  // cm = 1

  if (s.separable) {
    // SepCMA's update (cmaes/_sepcma.py tell): everything per coordinate.
    const double h_sigma = s.update_paths(y_w.cwiseQuotient(s.D), y_w);
    const double delta_h_sigma = (1.0 - h_sigma) * s.cc * (2.0 - s.cc);
    VectorXd rank_mu = VectorXd::Zero(n);
    for (int k = 0; k < s.mu; ++k) rank_mu += s.weights[k] * y.row(k).transpose().cwiseAbs2();
    const VectorXd diag =
        (1.0 + s.c1 * delta_h_sigma - s.c1 - s.cmu * s.weights.sum()) * s.C.diagonal() +
        s.c1 * s.pc.cwiseAbs2() + s.cmu * rank_mu;
    s.C = diag.asDiagonal();
    if (!s.discrete_idx.empty()) s.margin_correction();
    s.decompose();
    return;
  }
  const MatrixXd c_inv_sqrt = s.B * s.D.cwiseInverse().asDiagonal() * s.B.transpose();
  const double h_sigma = s.update_paths(c_inv_sqrt * y_w, y_w);

  VectorXd w_io = s.weights;
  for (int k = 0; k < s.lambda; ++k) {
    if (s.weights[k] >= 0) continue;
    const double norm2 = (c_inv_sqrt * y.row(k).transpose()).squaredNorm();
    w_io[k] = s.weights[k] * static_cast<double>(s.n) / (norm2 + kEps);
  }
  const double delta_h_sigma = (1.0 - h_sigma) * s.cc * (2.0 - s.cc);
  const MatrixXd rank_one = s.pc * s.pc.transpose();
  const MatrixXd rank_mu = y.transpose() * w_io.asDiagonal() * y;
  s.C = (1.0 + s.c1 * delta_h_sigma - s.c1 - s.cmu * s.weights.sum()) * s.C + s.c1 * rank_one +
        s.cmu * rank_mu;
  if (!s.discrete_idx.empty()) s.margin_correction();
  s.decompose();
}

WarmStart warm_start_distribution(const std::vector<std::vector<double>>& xs,
                                  const std::vector<double>& values, double gamma, double alpha) {
  const std::size_t n = xs.front().size();
  std::vector<std::size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  // cmaes asserts at least one selected point; hpo takes the best one when gamma selects none.
  const auto top = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::floor(static_cast<double>(xs.size()) * gamma)));
  const auto dim = static_cast<Eigen::Index>(n);
  VectorXd mu = VectorXd::Zero(dim);
  MatrixXd second = MatrixXd::Zero(dim, dim);
  for (std::size_t k = 0; k < top; ++k) {
    const VectorXd x = Eigen::Map<const VectorXd>(xs[order[k]].data(), dim);
    mu += x;
    second += x * x.transpose();
  }
  mu /= static_cast<double>(top);
  second /= static_cast<double>(top);
  const MatrixXd sigma_m =
      alpha * alpha * MatrixXd::Identity(dim, dim) + second - mu * mu.transpose();
  const double det = sigma_m.determinant();
  WarmStart out;
  out.mean.assign(mu.data(), mu.data() + n);
  out.sigma = std::pow(det, 1.0 / 2.0 / static_cast<double>(n));
  const MatrixXd cov = sigma_m / std::pow(det, 1.0 / static_cast<double>(n));
  out.cov.resize(n * n);
  for (Eigen::Index i = 0; i < dim; ++i)
    for (Eigen::Index j = 0; j < dim; ++j)
      out.cov[static_cast<std::size_t>(i * dim + j)] = cov(i, j);
  return out;
}

bool CmaEs::should_stop() const {
  const State& s = *s_;
  const VectorXd dC = s.C.diagonal();
  if (s.g > s.funhist_term) {
    const auto [lo, hi] = std::minmax_element(s.funhist.begin(), s.funhist.end());
    if (*hi - *lo < s.tolfun) return true;
  }
  if ((s.sigma * dC.array() < s.tolx).all() && (s.sigma * s.pc.array() < s.tolx).all()) return true;
  if (s.sigma * s.D.maxCoeff() > s.tolxup) return true;
  for (Eigen::Index i = 0; i < dC.size(); ++i)
    if (s.mean[i] == s.mean[i] + 0.2 * s.sigma * std::sqrt(dC[i])) return true;
  const auto axis = static_cast<Eigen::Index>(static_cast<std::size_t>(s.g) % s.n);
  const VectorXd moved = s.mean + 0.1 * s.sigma * s.D[axis] * s.B.col(axis);
  if ((s.mean.array() == moved.array()).all()) return true;
  if (s.D.maxCoeff() / s.D.minCoeff() > s.tolconditioncov) return true;
  return false;
}

}  // namespace hpo
