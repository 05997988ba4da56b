// quickstart-train: the training program tuned by the quickstart study (examples/quickstart).
//
// A one-hidden-layer perceptron (ReLU, softmax output) learns to tell apart three interleaved
// spirals in the plane, trained by minibatch SGD, SGD with momentum or Adam. The data set is
// generated in the program from a fixed seed, so every trial sees the same train/validation
// split; a linear model cannot separate it, so hidden size, learning rate and optimizer matter.
//
// Talking to hpo (see DESIGN.md, "How a trial reports back"):
//   - hyperparameters come as flags: --lr=0.01 --hidden=32 --l2=1e-4 --batch=32
//     --optimizer=adam --momentum=0.9 (momentum is used by the "momentum" optimizer only),
//     plus --epochs=20 and --seed=0. An unknown flag or a bad value is reported on stderr
//     with exit status 2.
//   - after every epoch it prints `epoch=N train_loss=.. val_loss=.. val_accuracy=..`, and at
//     the end `val_loss=.. val_accuracy=..`, flushing stdout after each line. A diverged run
//     prints `val_loss=nan` and still exits 0: it is hpo's job to record the trial as FAIL
//     with a reason.
//   - when HPO_CHECKPOINT_DIR is set, the weights, the optimizer state and the epoch are
//     written to $HPO_CHECKPOINT_DIR/checkpoint.bin after every epoch (write to a temporary
//     file, fsync, rename), and a run that finds a checkpoint there continues from it. The
//     shuffling of epoch N is derived from (seed, N) alone, so an interrupted and resumed run
//     ends with exactly the same weights and result as an uninterrupted one.
//   - SIGTERM (hpo pruning the trial, a timeout, Ctrl-C of the study) ends the epoch in
//     progress, saves the checkpoint, says so on stderr and exits with status 143 without a
//     final report: a resumed trial (the study's next run, a retry) continues from there.
//
// Exit status: 0 trained (even to NaN), 1 checkpoint I/O failure, 2 usage error, 143 stopped
// by SIGTERM (checkpoint saved when HPO_CHECKPOINT_DIR is set).

#include <fcntl.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <Eigen/Dense>

namespace hpo::quickstart {
namespace {

using Matrix = Eigen::MatrixXd;

// Set by SIGTERM; the training loop stops at the end of the epoch in progress.
volatile std::sig_atomic_t g_stop_requested = 0;
void request_stop(int) { g_stop_requested = 1; }

constexpr int kClasses = 3;
constexpr int kPointsPerClass = 500;
constexpr double kValidationFraction = 0.2;
// Fixed: every trial, whatever its --seed, trains and validates on the same points.
constexpr std::uint64_t kDataSeed = 0x5eed'da7a'2024ULL;
constexpr char kCheckpointName[] = "checkpoint.bin";
constexpr char kCheckpointMagic[8] = {'H', 'P', 'O', 'Q', 'S', 'C', 'K', '1'};

// ---------------------------------------------------------------------------------------------
// Random numbers. SplitMix64 rather than <random>: its output, and that of the normal and
// shuffle helpers below, is the same on every standard library, so data and runs are
// reproducible everywhere.

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; one of the pair is thrown away, which keeps it stateless).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log(u1) is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // Uniform in [0, n); the modulo bias is irrelevant for n this small.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  return Rng(a ^ (b * 0xd1b54a32d192ed03ULL)).next();
}

// ---------------------------------------------------------------------------------------------
// Options.

enum class OptimizerKind { kSgd, kMomentum, kAdam };

const char* to_string(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kMomentum:
      return "momentum";
    case OptimizerKind::kAdam:
      return "adam";
  }
  return "?";
}

struct Options {
  double lr = 0.01;  // --lr: learning rate, > 0
  int hidden = 32;   // --hidden: hidden units, 1..4096
  double l2 = 1e-4;  // --l2: L2 penalty on the weights (not biases), >= 0
  int batch = 32;    // --batch: minibatch size, >= 1
  OptimizerKind optimizer = OptimizerKind::kAdam;  // --optimizer: sgd | momentum | adam
  double momentum = 0.9;   // --momentum: in [0, 1); used by the momentum optimizer only
  int epochs = 20;         // --epochs: epochs in total (a resumed run counts the old ones)
  std::uint64_t seed = 0;  // --seed: weight initialisation and shuffling (not the data)
};

constexpr char kUsage[] =
    "usage: quickstart-train [--lr=X] [--hidden=N] [--l2=X] [--batch=N]\n"
    "                        [--optimizer=sgd|momentum|adam] [--momentum=X] [--epochs=N]\n"
    "                        [--seed=N]\n"
    "Trains a one-hidden-layer MLP on three interleaved spirals and prints\n"
    "`epoch=N train_loss=.. val_loss=.. val_accuracy=..` per epoch, then\n"
    "`val_loss=.. val_accuracy=..`.\n"
    "  --lr=X         learning rate, > 0 (default 0.01)\n"
    "  --hidden=N     hidden units, 1..4096 (default 32)\n"
    "  --l2=X         L2 regularisation of the weights, >= 0 (default 1e-4)\n"
    "  --batch=N      minibatch size, >= 1 (default 32)\n"
    "  --optimizer=S  sgd, momentum or adam (default adam)\n"
    "  --momentum=X   momentum in [0, 1) for --optimizer=momentum (default 0.9)\n"
    "  --epochs=N     epochs, >= 0 (default 20)\n"
    "  --seed=N       seed of initialisation and shuffling (default 0)\n"
    "Environment: HPO_CHECKPOINT_DIR, when set, receives a checkpoint after every epoch, and\n"
    "a run that finds one there resumes from it.\n";

// Thrown for a bad command line; run() turns it into exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double parse_double(std::string_view flag, std::string_view text) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) {
    throw UsageError(std::string(flag) + ": expected a number, got '" + std::string(text) + "'");
  }
  return v;
}

template <typename Int>
Int parse_int(std::string_view flag, std::string_view text) {
  Int v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw UsageError(std::string(flag) + ": expected an integer, got '" + std::string(text) + "'");
  }
  return v;
}

void require(bool ok, std::string_view flag, std::string_view text, std::string_view what) {
  if (!ok) {
    throw UsageError(std::string(flag) + ": must be " + std::string(what) + ", got '" +
                     std::string(text) + "'");
  }
}

// Parses --name=value flags; later flags win over earlier ones. Throws UsageError.
Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      throw UsageError("unexpected argument '" + std::string(arg) + "' (flags are --name=value)");
    }
    const std::string_view flag = arg.substr(0, eq);
    const std::string_view value = arg.substr(eq + 1);
    if (flag == "--lr") {
      o.lr = parse_double(flag, value);
      require(o.lr > 0, flag, value, "> 0");
    } else if (flag == "--hidden") {
      o.hidden = parse_int<int>(flag, value);
      require(o.hidden >= 1 && o.hidden <= 4096, flag, value, "in 1..4096");
    } else if (flag == "--l2") {
      o.l2 = parse_double(flag, value);
      require(o.l2 >= 0, flag, value, ">= 0");
    } else if (flag == "--batch") {
      o.batch = parse_int<int>(flag, value);
      require(o.batch >= 1, flag, value, ">= 1");
    } else if (flag == "--optimizer") {
      if (value == "sgd") {
        o.optimizer = OptimizerKind::kSgd;
      } else if (value == "momentum") {
        o.optimizer = OptimizerKind::kMomentum;
      } else if (value == "adam") {
        o.optimizer = OptimizerKind::kAdam;
      } else {
        require(false, flag, value, "one of sgd, momentum, adam");
      }
    } else if (flag == "--momentum") {
      o.momentum = parse_double(flag, value);
      require(o.momentum >= 0 && o.momentum < 1, flag, value, "in [0, 1)");
    } else if (flag == "--epochs") {
      o.epochs = parse_int<int>(flag, value);
      require(o.epochs >= 0, flag, value, ">= 0");
    } else if (flag == "--seed") {
      o.seed = parse_int<std::uint64_t>(flag, value);
    } else {
      throw UsageError("unknown flag " + std::string(flag) +
                       " (known: --lr --hidden --l2 --batch --optimizer --momentum --epochs "
                       "--seed)");
    }
  }
  return o;
}

std::string exact(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// Everything that shapes training except --epochs: a checkpoint is resumed only by a run with
// the same fingerprint (running more epochs than before is fine).
std::string fingerprint(const Options& o) {
  std::string s = "lr=" + exact(o.lr) + " hidden=" + std::to_string(o.hidden) +
                  " l2=" + exact(o.l2) + " batch=" + std::to_string(o.batch) +
                  " optimizer=" + to_string(o.optimizer);
  if (o.optimizer == OptimizerKind::kMomentum) s += " momentum=" + exact(o.momentum);
  return s + " seed=" + std::to_string(o.seed);
}

// ---------------------------------------------------------------------------------------------
// Data: three spiral arms, each turning 4 radians, with noise on the angle (the classic
// CS231n toy problem). Inputs lie in the unit disc.

struct Dataset {
  Matrix x;            // n x 2
  std::vector<int> y;  // n labels in [0, kClasses)
};

struct Split {
  Dataset train;
  Dataset validation;
};

Split make_spirals() {
  struct Point {
    double a, b;
    int label;
  };
  Rng rng(kDataSeed);
  std::vector<Point> points;
  points.reserve(kClasses * kPointsPerClass);
  for (int k = 0; k < kClasses; ++k) {
    for (int i = 0; i < kPointsPerClass; ++i) {
      const double r = static_cast<double>(i) / (kPointsPerClass - 1);
      const double t = 4.0 * k + 4.0 * r + 0.25 * rng.normal();
      points.push_back({r * std::sin(t), r * std::cos(t), k});
    }
  }
  rng.shuffle(points);
  const auto n_val = static_cast<std::size_t>(points.size() * kValidationFraction);
  auto fill = [&](std::size_t begin, std::size_t end) {
    Dataset d;
    d.x.resize(static_cast<Eigen::Index>(end - begin), 2);
    for (std::size_t i = begin; i < end; ++i) {
      const auto row = static_cast<Eigen::Index>(i - begin);
      d.x(row, 0) = points[i].a;
      d.x(row, 1) = points[i].b;
      d.y.push_back(points[i].label);
    }
    return d;
  };
  return {fill(n_val, points.size()), fill(0, n_val)};
}

// ---------------------------------------------------------------------------------------------
// Model and optimizer state. Parameters are kept as four matrices so that the optimizers and
// the checkpoint treat them uniformly: W1 (2 x h), b1 (1 x h), W2 (h x C), b2 (1 x C).

enum : std::size_t { kW1, kB1, kW2, kB2, kTensors };
using Tensors = std::array<Matrix, kTensors>;

struct TrainState {
  std::int64_t epoch = 0;  // epochs completed
  std::int64_t step = 0;   // optimizer steps taken (Adam's bias correction needs it)
  Tensors params;
  Tensors slot1;  // momentum: velocity; adam: first moment; sgd: unused (zeros)
  Tensors slot2;  // adam: second moment; otherwise unused (zeros)
};

Tensors zeros_like(const Tensors& t) {
  Tensors z;
  for (std::size_t i = 0; i < kTensors; ++i) z[i] = Matrix::Zero(t[i].rows(), t[i].cols());
  return z;
}

TrainState init_state(const Options& o) {
  Rng rng(mix(o.seed, 0x1417));
  auto gaussian = [&](Eigen::Index rows, Eigen::Index cols, double stddev) {
    Matrix m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j) {
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = stddev * rng.normal();
    }
    return m;
  };
  TrainState s;
  s.params[kW1] = gaussian(2, o.hidden, 1.0);  // He: sqrt(2 / fan_in), fan_in = 2
  s.params[kB1] = Matrix::Zero(1, o.hidden);
  s.params[kW2] = gaussian(o.hidden, kClasses, std::sqrt(1.0 / o.hidden));
  s.params[kB2] = Matrix::Zero(1, kClasses);
  s.slot1 = zeros_like(s.params);
  s.slot2 = zeros_like(s.params);
  return s;
}

struct Forward {
  Matrix hidden;  // after ReLU
  Matrix logits;
};

Forward forward(const Tensors& p, const Matrix& x) {
  Forward f;
  f.hidden = ((x * p[kW1]).rowwise() + p[kB1].row(0)).cwiseMax(0.0);
  f.logits = (f.hidden * p[kW2]).rowwise() + p[kB2].row(0);
  return f;
}

// Turns logits into softmax probabilities in place; returns the summed cross-entropy.
double softmax_cross_entropy(Matrix& logits, const int* labels) {
  double total = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    // Shifted by the row maximum so that exp() cannot overflow; the loss is taken from the
    // shifted logit rather than log(probability), which could underflow to log(0).
    logits.row(i).array() -= logits.row(i).maxCoeff();
    const double shifted = logits(i, labels[i]);
    logits.row(i) = logits.row(i).array().exp();
    const double sum = logits.row(i).sum();
    total += std::log(sum) - shifted;
    logits.row(i) /= sum;
  }
  return total;
}

struct Evaluation {
  double loss = 0;
  double accuracy = 0;
};

Evaluation evaluate(const Tensors& p, const Dataset& d) {
  Matrix logits = forward(p, d.x).logits;
  Evaluation e;
  int correct = 0;
  for (Eigen::Index i = 0; i < logits.rows(); ++i) {
    Eigen::Index best = 0;
    logits.row(i).maxCoeff(&best);
    if (best == d.y[static_cast<std::size_t>(i)]) ++correct;
  }
  e.loss = softmax_cross_entropy(logits, d.y.data()) / static_cast<double>(logits.rows());
  e.accuracy = static_cast<double>(correct) / static_cast<double>(logits.rows());
  return e;
}

// One optimizer step on every tensor.
void apply(const Options& o, TrainState& s, const Tensors& grad) {
  ++s.step;
  for (std::size_t i = 0; i < kTensors; ++i) {
    switch (o.optimizer) {
      case OptimizerKind::kSgd:
        s.params[i] -= o.lr * grad[i];
        break;
      case OptimizerKind::kMomentum:  // heavy ball, as torch.optim.SGD(momentum=...)
        s.slot1[i] = o.momentum * s.slot1[i] + grad[i];
        s.params[i] -= o.lr * s.slot1[i];
        break;
      case OptimizerKind::kAdam: {
        constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
        s.slot1[i] = kBeta1 * s.slot1[i] + (1 - kBeta1) * grad[i];
        s.slot2[i] = kBeta2 * s.slot2[i] + (1 - kBeta2) * grad[i].cwiseAbs2();
        const double c1 = 1 - std::pow(kBeta1, static_cast<double>(s.step));
        const double c2 = 1 - std::pow(kBeta2, static_cast<double>(s.step));
        s.params[i].array() -=
            o.lr * (s.slot1[i].array() / c1) / ((s.slot2[i].array() / c2).sqrt() + kEps);
        break;
      }
    }
  }
}

// One pass over the training set in an order derived from (seed, epoch); returns the mean
// training cross-entropy (without the L2 term).
double train_epoch(const Options& o, const Dataset& train, TrainState& s) {
  const auto n = static_cast<std::size_t>(train.x.rows());
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(mix(o.seed, static_cast<std::uint64_t>(s.epoch) + 1));
  rng.shuffle(order);

  Matrix xb;
  std::vector<int> yb;
  Tensors grad;
  double total = 0;
  for (std::size_t begin = 0; begin < n; begin += static_cast<std::size_t>(o.batch)) {
    const std::size_t end = std::min(n, begin + static_cast<std::size_t>(o.batch));
    const auto b = static_cast<Eigen::Index>(end - begin);
    xb.resize(b, 2);
    yb.resize(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      xb.row(static_cast<Eigen::Index>(i - begin)) =
          train.x.row(static_cast<Eigen::Index>(order[i]));
      yb[i - begin] = train.y[order[i]];
    }

    Forward f = forward(s.params, xb);
    Matrix& d_logits = f.logits;  // becomes softmax - onehot, over the batch size
    total += softmax_cross_entropy(d_logits, yb.data());
    for (Eigen::Index i = 0; i < b; ++i) d_logits(i, yb[static_cast<std::size_t>(i)]) -= 1.0;
    d_logits /= static_cast<double>(b);

    grad[kW2] = f.hidden.transpose() * d_logits + o.l2 * s.params[kW2];
    grad[kB2] = d_logits.colwise().sum();
    const Matrix d_hidden = (d_logits * s.params[kW2].transpose())
                                .cwiseProduct((f.hidden.array() > 0).cast<double>().matrix());
    grad[kW1] = xb.transpose() * d_hidden + o.l2 * s.params[kW1];
    grad[kB1] = d_hidden.colwise().sum();
    apply(o, s, grad);
  }
  return total / static_cast<double>(n);
}

// ---------------------------------------------------------------------------------------------
// Checkpoint: a small binary file in the host's byte order (it never leaves the machine):
//   magic "HPOQSCK1", u32 length + fingerprint bytes, i64 epoch, i64 step,
//   u32 count, then per tensor u32 rows, u32 cols, rows*cols doubles (column-major).

// A checkpoint that exists but cannot be used, or cannot be written; exit status 1.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void put_bytes(std::string& out, const void* data, std::size_t size) {
  out.append(static_cast<const char*>(data), size);
}
template <typename T>
void put(std::string& out, T v) {
  put_bytes(out, &v, sizeof v);
}

std::string encode(const std::string& print, const TrainState& s) {
  std::string out;
  put_bytes(out, kCheckpointMagic, sizeof kCheckpointMagic);
  put(out, static_cast<std::uint32_t>(print.size()));
  put_bytes(out, print.data(), print.size());
  put(out, s.epoch);
  put(out, s.step);
  put(out, static_cast<std::uint32_t>(3 * kTensors));
  for (const Tensors* group : {&s.params, &s.slot1, &s.slot2}) {
    for (const Matrix& m : *group) {
      put(out, static_cast<std::uint32_t>(m.rows()));
      put(out, static_cast<std::uint32_t>(m.cols()));
      put_bytes(out, m.data(), sizeof(double) * static_cast<std::size_t>(m.size()));
    }
  }
  return out;
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  void bytes(void* out, std::size_t size) {
    if (data_.size() - pos_ < size) throw CheckpointError("truncated");
    std::memcpy(out, data_.data() + pos_, size);
    pos_ += size;
  }
  template <typename T>
  T get() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Checks the file against `expected` (the fresh state of this run) and returns its state.
TrainState decode(std::string_view data, const std::string& print, const TrainState& expected) {
  Reader r(data);
  char magic[sizeof kCheckpointMagic];
  r.bytes(magic, sizeof magic);
  if (std::memcmp(magic, kCheckpointMagic, sizeof magic) != 0) {
    throw CheckpointError("not a quickstart checkpoint");
  }
  const auto length = r.get<std::uint32_t>();
  if (length > data.size()) throw CheckpointError("truncated");
  std::string stored(length, '\0');
  r.bytes(stored.data(), stored.size());
  if (stored != print) {
    throw CheckpointError("written with other hyperparameters (" + stored + ") than this run (" +
                          print + ")");
  }
  TrainState s;
  s.epoch = r.get<std::int64_t>();
  s.step = r.get<std::int64_t>();
  if (s.epoch < 0 || s.step < 0) throw CheckpointError("negative epoch or step");
  if (r.get<std::uint32_t>() != 3 * kTensors) throw CheckpointError("wrong tensor count");
  std::array<std::pair<Tensors*, const Tensors*>, 3> groups = {
      {{&s.params, &expected.params}, {&s.slot1, &expected.slot1}, {&s.slot2, &expected.slot2}}};
  for (auto& [group, shape] : groups) {
    for (std::size_t i = 0; i < kTensors; ++i) {
      const auto rows = r.get<std::uint32_t>();
      const auto cols = r.get<std::uint32_t>();
      if (rows != (*shape)[i].rows() || cols != (*shape)[i].cols()) {
        throw CheckpointError("tensor shape does not match the model");
      }
      (*group)[i].resize(rows, cols);
      r.bytes((*group)[i].data(), sizeof(double) * rows * cols);
    }
  }
  if (!r.at_end()) throw CheckpointError("trailing bytes");
  return s;
}

std::string errno_text() { return std::strerror(errno); }

// Writes `data` to `path` so that `path` holds either the old or the new content whatever
// happens: temporary file, fsync, rename.
void write_atomically(const std::filesystem::path& path, const std::string& data) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("cannot create " + tmp.string() + ": " + errno_text());
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      throw CheckpointError("cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw CheckpointError("cannot write " + tmp.string() + ": " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw CheckpointError("cannot rename " + tmp.string() + ": " + errno_text());
  }
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::nullopt;
    throw CheckpointError("cannot open " + path.string());
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw CheckpointError("cannot read " + path.string());
  return data;
}

// ---------------------------------------------------------------------------------------------

// "nan" and "inf" spelled the same on every libc (glibc may print "-nan").
std::string metric(double v, const char* format) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

int run(int argc, char** argv) {
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      }
    }
    o = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "quickstart-train: %s\nrun quickstart-train --help for usage\n", e.what());
    return 2;
  }

  const Split data = make_spirals();
  const std::string print = fingerprint(o);
  TrainState state = init_state(o);

  std::optional<std::filesystem::path> checkpoint;
  try {
    if (const char* dir = std::getenv("HPO_CHECKPOINT_DIR"); dir != nullptr && *dir != '\0') {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) throw CheckpointError(std::string("cannot create ") + dir + ": " + ec.message());
      checkpoint = std::filesystem::path(dir) / kCheckpointName;
      if (const auto bytes = read_file(*checkpoint)) {
        try {
          state = decode(*bytes, print, state);
        } catch (const CheckpointError& e) {
          throw CheckpointError("checkpoint " + checkpoint->string() + ": " + e.what() +
                                "; remove it or use another HPO_CHECKPOINT_DIR");
        }
        std::fprintf(stderr, "resumed from epoch %lld (%s)\n", static_cast<long long>(state.epoch),
                     checkpoint->c_str());
      }
    }

    std::signal(SIGTERM, request_stop);
    while (state.epoch < o.epochs) {
      const double train_loss = train_epoch(o, data.train, state);
      ++state.epoch;
      const Evaluation e = evaluate(state.params, data.validation);
      std::printf("epoch=%lld train_loss=%s val_loss=%s val_accuracy=%s\n",
                  static_cast<long long>(state.epoch), metric(train_loss, "%.6g").c_str(),
                  metric(e.loss, "%.6g").c_str(), metric(e.accuracy, "%.4f").c_str());
      std::fflush(stdout);
      // Saved after the report: a kill in between makes the resumed run repeat this epoch and
      // print the same line again, instead of never reporting it.
      if (checkpoint) write_atomically(*checkpoint, encode(print, state));
      // NaN weights stay NaN: the remaining epochs could only repeat this line.
      if (!std::isfinite(e.loss)) break;
      if (g_stop_requested != 0) {
        std::fprintf(stderr, "quickstart-train: stopped by SIGTERM after epoch %lld%s\n",
                     static_cast<long long>(state.epoch),
                     checkpoint ? " (checkpoint saved)" : "");
        return 143;
      }
    }
  } catch (const CheckpointError& e) {
    std::fprintf(stderr, "quickstart-train: %s\n", e.what());
    return 1;
  }

  const Evaluation final_eval = evaluate(state.params, data.validation);
  std::printf("val_loss=%s val_accuracy=%s\n", metric(final_eval.loss, "%.6g").c_str(),
              metric(final_eval.accuracy, "%.4f").c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace hpo::quickstart

int main(int argc, char** argv) { return hpo::quickstart::run(argc, argv); }
