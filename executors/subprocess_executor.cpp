#include "executors/subprocess_executor.h"

// clang-format off
#include <utility>  // before any Boost include (Boost 1.74 + GCC 12)
// clang-format on

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cassert>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>

#include "engine/model/duration.h"
#include "engine/model/file_io.h"
#include "engine/model/text.h"
#include "engine/model/trial_launch.h"
#include "hpo/errors.h"
#include "executors/command_template.h"
#include "executors/metric_format.h"
#include "executors/metric_parser.h"
#include "engine/model/json_codec.h"

extern char** environ;  // NOLINT: POSIX

namespace hpo {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kReadChunk = 64 * 1024;
// The slow safety net beside SIGCHLD: catches exits whose signal never reached us (someone
// replaced the SIGCHLD handler, or blocked it in every thread).
constexpr std::chrono::seconds kSweepInterval{1};
constexpr std::size_t kReasonStderrChars = 200;
constexpr std::size_t kMaxResultFileBytes = 16 << 20;

constexpr std::string_view kProtocolVars[] = {
    "HPO_TRIAL_NUMBER",   "HPO_STUDY",       "HPO_PARAMS",  "HPO_TRIAL_DIR",
    "HPO_CHECKPOINT_DIR", "HPO_RESULT_FILE", "HPO_ATTEMPT",
};

bool is_protocol_var(std::string_view name) {
  if (name.rfind("HPO_PARAM_", 0) == 0) return true;
  return std::find(std::begin(kProtocolVars), std::end(kProtocolVars), name) !=
         std::end(kProtocolVars);
}

std::string errno_text(int err) { return std::system_category().message(err); }

// errno_text, and for the errors that mean a limit of the machine or the user was hit (not a
// problem of the trial), which one and what to do.
std::string spawn_error_text(int err) {
  std::string text = errno_text(err);
  if (err == EMFILE || err == ENFILE)
    text += " (a resource limit was hit: open files; raise `ulimit -n` or lower parallelism)";
  else if (err == EAGAIN)
    text += " (a resource limit was hit: processes; raise `ulimit -u` or lower parallelism)";
  else if (err == ENOMEM)
    text += " (a resource limit was hit: memory; lower parallelism)";
  return text;
}

std::filesystem::path current_dir() {
  std::error_code ec;
  auto dir = std::filesystem::current_path(ec);
  return ec ? std::filesystem::path("/") : dir;
}

// `p` made absolute against hpo's working directory (unchanged if that fails).
std::filesystem::path absolute_path(const std::filesystem::path& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs;
}

// An owned raw file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

void write_all(int fd, std::string_view data) {
  // Log writes are best effort: a full disk must not fail the trial or stall the loop.
  while (fd >= 0 && !data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A close-on-exec pipe whose ends are both >= 3, so that dup2 onto 1 or 2 in the child always
// makes a fresh descriptor (dup2(fd, fd) would keep FD_CLOEXEC and lose the stream).
bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  for (int& fd : fds) {
    if (fd >= 3) continue;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    fd = moved;
  }
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return read_end && write_end;
}

const std::string& this_host() {
  static const std::string host = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string("localhost");
    return std::string(buf);
  }();
  return host;
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "unknown signal";
}


// The last few lines of a stream, each cut to its start, for the "last stderr" part of a FAIL
// reason. The start of a line says what went wrong ("ValueError: ..."), so that is what is
// kept; memory stays bounded however long the lines are.
class StderrTail {
 public:
  void append(std::string_view data) {
    while (!data.empty()) {
      std::size_t end = 0;
      while (end < data.size() && data[end] != '\n' && data[end] != '\r') ++end;
      if (current_.size() < kLineKeep) {
        current_.append(data.substr(0, std::min(end, kLineKeep - current_.size())));
      }
      if (end == data.size()) break;
      if (current_.find_first_not_of(" \t") != std::string::npos) {
        lines_.push_back(std::move(current_));
        if (lines_.size() > kLines) lines_.pop_front();
      }
      current_.clear();
      data.remove_prefix(end + 1);
    }
  }

  // The last non-empty lines joined with " | ", as many as fit in max_chars; a single last
  // line that is longer is cut, with "...".
  std::string last_lines(std::size_t max_chars) const {
    std::vector<std::string_view> all(lines_.begin(), lines_.end());
    if (current_.find_first_not_of(" \t") != std::string::npos) all.push_back(current_);
    std::vector<std::string_view> picked;
    std::size_t total = 0;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      std::string_view line = *it;
      line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
      line = line.substr(0, line.find_last_not_of(" \t") + 1);
      if (!picked.empty() && total + line.size() + 3 > max_chars) break;
      picked.push_back(line);
      total += line.size() + 3;
    }
    std::string out;
    for (auto it = picked.rbegin(); it != picked.rend(); ++it) {
      if (!out.empty()) out += " | ";
      out += *it;
    }
    if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
    return clean_text(out);
  }

 private:
  static constexpr std::size_t kLines = 3;
  static constexpr std::size_t kLineKeep = 256;
  std::deque<std::string> lines_;
  std::string current_;
};

// The absolute program to execute, or the errno explaining why there is none. Mirrors execvp:
// a name with '/' is a path; otherwise the first executable regular file on PATH wins, and
// EACCES is reported when only non-executable candidates exist.
struct Resolved {
  std::filesystem::path path;
  int error = 0;
};

Resolved resolve_program(const std::string& program, const std::string& path_var,
                         const std::filesystem::path& relative_base) {
  namespace fs = std::filesystem;
  if (program.empty()) return {{}, ENOENT};
  if (program.find('/') != std::string::npos) {
    fs::path p(program);
    return {p.is_absolute() ? p : relative_base / p, 0};
  }
  bool saw_non_executable = false;
  std::string_view dirs(path_var);
  while (true) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    if (!dir.empty()) {
      fs::path candidate = fs::path(dir) / program;
      if (candidate.is_relative()) candidate = relative_base / candidate;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        if (::access(candidate.c_str(), X_OK) == 0) return {candidate, 0};
        saw_non_executable = true;
      }
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {{}, saw_non_executable ? EACCES : ENOENT};
}

// posix_spawn's attribute objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

enum class StopKind { kNone, kTimeout, kCancel };

// One started trial. Owned by Impl::runs_ until it finishes, and by every handler in flight
// for it, so a late handler always finds it alive (and checks `finished` / `abandoned`).
struct Run {
  explicit Run(asio::io_context& io) : out(io), err(io), stop_timer(io), drain_timer(io) {}

  TrialTask task;
  EventSink* sink = nullptr;
  std::string program;      // command[0] after substitution, as written, for messages
  std::string spawn_error;  // set when the trial never started
  pid_t pid = -1;           // leader of the trial's process group
  bool reaped = false;      // leader exited and was waited for
  std::optional<int> exit_code;
  std::optional<int> term_signal;
  bool core_dumped = false;
  bool status_lost = false;  // someone else reaped our child

  asio::posix::stream_descriptor out;
  asio::posix::stream_descriptor err;
  std::unique_ptr<char[]> out_buf = std::make_unique_for_overwrite<char[]>(kReadChunk);
  std::unique_ptr<char[]> err_buf = std::make_unique_for_overwrite<char[]>(kReadChunk);
  bool out_done = false;
  bool err_done = false;
  Fd out_log;
  Fd err_log;
  LineSplitter lines;
  LineSplitter err_lines;
  std::optional<TrialMetrics> metrics;  // set by start()
  StderrTail err_tail;

  StopKind stop = StopKind::kNone;
  StopCause cancel_cause = StopCause::kInterrupted;  // when stop == kCancel
  bool term_sent = false;
  bool kill_sent = false;
  asio::steady_timer stop_timer;  // timeout, then kill grace
  unsigned stop_gen = 0;          // bumped on every re-arm; stale expiries are ignored
  asio::steady_timer drain_timer;

  bool finished = false;   // on_finished called (or being called)
  bool abandoned = false;  // the executor was destroyed; touch nothing
};

// Kills every process of this user whose environment holds `entry` (e.g. the trial's
// "HPO_TRIAL_DIR=/abs/dir"), wherever it went: a process that left the trial's group (setsid,
// a double fork) still carries the trial's environment, so it is found without a cgroup (which
// these machines do not delegate) or a subreaper (which would make hpo reap strangers' zombies).
// One that is hpo's own child is reaped. Returns how many were killed.
int kill_processes_with_env(const std::string& entry) {
  if (entry.empty()) return 0;
  int killed = 0;
  const pid_t self = ::getpid();
  const uid_t uid = ::geteuid();
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self) continue;
    struct stat st {};
    if (::stat(proc.path().c_str(), &st) != 0 || st.st_uid != uid) continue;
    std::ifstream env(proc.path() / "environ", std::ios::binary);
    bool match = false;
    for (std::string var; !match && std::getline(env, var, '\0');) match = var == entry;
    if (!match) continue;
    if (::kill(pid, SIGKILL) == 0) ++killed;
    // Reap it when it is ours; an orphan's new parent (init) reaps it otherwise.
    std::ifstream stat_file(proc.path() / "stat");
    std::string line;
    if (std::getline(stat_file, line) && line.rfind(')') != std::string::npos) {
      std::istringstream rest(line.substr(line.rfind(')') + 2));
      char state = 0;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == self) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
    }
  }
  return killed;
}

// "pgid:<N>@<host>" -> N when <host> is this host.
std::optional<pid_t> parse_where(const std::string& where) {
  constexpr std::string_view kPrefix = "pgid:";
  if (where.rfind(kPrefix, 0) != 0) return std::nullopt;
  const auto at = where.find('@');
  if (at == std::string::npos || where.substr(at + 1) != this_host()) return std::nullopt;
  const std::string number = where.substr(kPrefix.size(), at - kPrefix.size());
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos ||
      number.size() > 9)
    return std::nullopt;
  const pid_t pgid = static_cast<pid_t>(std::stol(number));
  if (pgid <= 1) return std::nullopt;
  return pgid;
}

// One command element: its braces parse, the program takes no placeholder, and every
// placeholder names a parameter of the space.
void check_command_element(const std::string& arg, const std::string& path, bool is_program,
                           const std::vector<std::string>* param_names, SpecChecker& c) {
  const ParsedTemplate parsed = parse_template(arg);
  if (!parsed.ok()) {
    c.add(path, parsed.error + " in " + OrderedJson(arg).dump() + " " + parsed.hint);
    return;
  }
  for (const std::string& name : parsed.placeholders()) {
    if (is_program) {
      c.add(path, "the program cannot contain a placeholder ({" + name +
                      "}); pass parameters as arguments");
      return;
    }
    if (param_names != nullptr &&
        std::find(param_names->begin(), param_names->end(), name) == param_names->end()) {
      std::string hint = did_you_mean(name, *param_names);
      if (hint.empty()) hint = "; the space defines " + quoted_list(*param_names, ", ");
      c.add(path, "unknown parameter " + OrderedJson(name).dump() + " in placeholder" + hint);
    }
  }
}

// The protocol variables of `task` (see the header).
std::map<std::string, std::string> protocol_env(const TrialTask& task) {
  std::map<std::string, std::string> env;
  env["HPO_TRIAL_NUMBER"] = std::to_string(task.number);
  env["HPO_STUDY"] = task.study;
  env["HPO_ATTEMPT"] = std::to_string(task.attempt);
  env["HPO_PARAMS"] = params_to_json(task.params).dump();
  for (const auto& [name, value] : task.params) env[param_env_name(name)] = value.to_string();
  // Absolute: the program runs elsewhere (spec.cwd) and still must find them.
  const std::filesystem::path trial_dir = absolute_path(task.trial_dir);
  env["HPO_TRIAL_DIR"] = trial_dir.string();
  env["HPO_CHECKPOINT_DIR"] = absolute_path(task.checkpoint_dir).string();
  env["HPO_RESULT_FILE"] = (trial_dir / "result.json").string();
  return env;
}

// What runs for `task` (argv as expanded, cwd, the variables hpo adds: spec.env,
// PYTHONUNBUFFERED when hpo adds it, the protocol variables), secrets redacted; nullopt when the
// command cannot be built.
std::optional<TrialLaunch> describe(const SubprocessOptions& spec, const TrialTask& task) {
  CommandExpansion expansion = expand_command(spec.command, task.params);
  if (!expansion.ok() || expansion.argv.empty()) return std::nullopt;
  TrialLaunch launch;
  launch.argv = std::move(expansion.argv);
  launch.cwd = absolute_path(spec.cwd ? *spec.cwd : task.trial_dir).lexically_normal().string();
  std::map<std::string, std::string> env = spec.env;
  if (!env.count("PYTHONUNBUFFERED") && std::getenv("PYTHONUNBUFFERED") == nullptr)
    env["PYTHONUNBUFFERED"] = "1";
  for (auto& [name, value] : protocol_env(task)) env[name] = std::move(value);
  for (const auto& [name, value] : env) add_launch_env(launch, name, value);
  return launch;
}

}  // namespace

CommandExpansion expand_command(const std::vector<std::string>& command, const ParamSet& params) {
  CommandExpansion result;
  for (std::size_t index = 0; index < command.size(); ++index) {
    const std::string& element = command[index];
    const ParsedTemplate parsed = parse_template(element);
    if (!parsed.ok()) {
      result.argv.clear();
      result.error =
          "executor.command[" + std::to_string(index) + "] (\"" + element + "\"): " + parsed.error +
          " " + parsed.hint;
      return result;
    }
    if (std::optional<std::string> arg = parsed.substitute(params)) {
      result.argv.push_back(std::move(*arg));
      continue;
    }
    // An element naming an inactive conditional parameter is dropped whole; when it was a
    // placeholder alone ("{eta0}") after an option without one ("--eta0"), the option goes
    // too, so that no flag is left without its value.
    const bool alone = parsed.parts.size() == 1 && parsed.parts[0].placeholder;
    if (alone && index >= 2 && !result.argv.empty() && result.argv.back() == command[index - 1] &&
        command[index - 1].size() > 1 && command[index - 1][0] == '-') {
      const ParsedTemplate option = parse_template(command[index - 1]);
      if (option.ok() && option.placeholders().empty()) result.argv.pop_back();
    }
  }
  return result;
}

std::string param_env_name(const std::string& param) {
  std::string name = "HPO_PARAM_";
  for (const char c : param) {
    if (c >= 'a' && c <= 'z') {
      name.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      name.push_back(c);
    } else {
      name.push_back('_');
    }
  }
  return name;
}

struct SubprocessExecutor::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_context, SubprocessOptions options, std::size_t slots)
      : io(io_context),
        spec(std::move(options)),
        parallelism(slots),
        launch_dir(current_dir()),
        sigchld(io_context, SIGCHLD),
        sweep_timer(io_context) {
    // Asio installs its SIGCHLD handler without SA_RESTART, so a child's exit would make
    // blocking calls in other threads (TBB workers, SQLite) fail with EINTR. Add it, and
    // SA_NOCLDSTOP: a stopped child is no news to us.
    struct sigaction action {};
    if (::sigaction(SIGCHLD, nullptr, &action) == 0 && action.sa_handler != SIG_DFL &&
        action.sa_handler != SIG_IGN) {
      action.sa_flags |= SA_RESTART | SA_NOCLDSTOP;
      ::sigaction(SIGCHLD, &action, nullptr);
    }
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view kv(*e);
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos || is_protocol_var(kv.substr(0, eq))) continue;
      base_env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    for (const auto& [name, value] : spec.env) base_env[name] = value;
    base_env.try_emplace("PYTHONUNBUFFERED", "1");
    const auto path = base_env.find("PATH");
    path_var = path != base_env.end() ? path->second : "/usr/local/bin:/usr/bin:/bin";
    relative_base = spec.cwd ? absolute_path(*spec.cwd) : launch_dir;
  }

  // Constant after construction.
  asio::io_context& io;
  const SubprocessOptions spec;
  const std::size_t parallelism;
  const std::filesystem::path launch_dir;
  std::filesystem::path relative_base;  // for relative program paths
  std::map<std::string, std::string> base_env;
  std::string path_var;

  // Changed by handlers and by start()/cancel(), all on the io_context's one thread.
  std::map<std::int64_t, std::shared_ptr<Run>> runs;
  asio::signal_set sigchld;
  bool sigchld_armed = false;
  unsigned sigchld_gen = 0;
  asio::steady_timer sweep_timer;
  bool sweep_armed = false;
  unsigned sweep_gen = 0;

  void start(TrialTask task, EventSink& sink);
  void cancel(std::int64_t trial_id, StopCause cause, bool kill_now);
  void shutdown();

 private:
  std::string launch(Run& run);
  std::vector<std::string> trial_env(const TrialTask& task) const;
  void read_stdout(const std::shared_ptr<Run>& run);
  void read_stderr(const std::shared_ptr<Run>& run);
  void handle_line(Run& run, bool is_stderr, std::string_view line);
  void watch_children();
  void reap_exited();
  void on_leader_exit(const std::shared_ptr<Run>& run);
  void arm_stop_timer(const std::shared_ptr<Run>& run, std::chrono::milliseconds after,
                      bool is_timeout);
  void send_term(const std::shared_ptr<Run>& run);
  void send_kill(Run& run);
  void maybe_finish(const std::shared_ptr<Run>& run);
  void finish(const std::shared_ptr<Run>& run);
  TrialOutcome outcome_of(Run& run) const;
};

void SubprocessExecutor::Impl::start(TrialTask task, EventSink& sink) {
  auto run = std::make_shared<Run>(io);
  run->sink = &sink;
  run->task = std::move(task);
  run->metrics.emplace(spec.metrics);
  const auto [it, inserted] = runs.emplace(run->task.trial_id, run);
  assert(inserted && "REQUIRES: trial_id is not running");
  if (!inserted) return;

  try {
    run->spawn_error = launch(*run);
  } catch (const std::exception& e) {
    run->spawn_error = std::string("cannot start trial: ") + e.what();
  }
  if (!run->spawn_error.empty()) {
    write_all(run->err_log.get(), "hpo: " + run->spawn_error + "\n");
    // Reported from a handler, never from inside start(): the caller may be iterating.
    asio::post(io, [weak = weak_from_this(), run] {
      const auto self = weak.lock();
      if (!self || run->abandoned) return;
      self->finish(run);
    });
    return;
  }
  // Reported from a handler, never from inside start(); before any output is read.
  std::optional<TrialLaunch> launched = describe(spec, run->task);
  asio::post(io, [weak = weak_from_this(), run, launched = std::move(launched)] {
    const auto self = weak.lock();
    if (!self || run->abandoned || run->finished) return;
    if (launched) run->sink->on_launched(run->task.trial_id, *launched);
    if (run->abandoned || run->finished) return;
    run->sink->on_started(run->task.trial_id,
                          "pgid:" + std::to_string(run->pid) + "@" + this_host());
  });
  if (spec.timeout) arm_stop_timer(run, *spec.timeout, /*is_timeout=*/true);
  read_stdout(run);
  read_stderr(run);
  watch_children();
}

std::vector<std::string> SubprocessExecutor::Impl::trial_env(const TrialTask& task) const {
  std::map<std::string, std::string> env = base_env;
  for (auto& [name, value] : protocol_env(task)) env[name] = std::move(value);
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// Starts the process; returns why it could not, or "" on success.
std::string SubprocessExecutor::Impl::launch(Run& run) {
  namespace fs = std::filesystem;
  const TrialTask& task = run.task;

  for (const auto& [name, fd] :
       {std::pair{"stdout.log", &run.out_log}, std::pair{"stderr.log", &run.err_log}}) {
    const fs::path log = task.trial_dir / name;
    // Never through a link somebody placed there; a first attempt's log is a new file (a retry
    // in the same directory appends under its header), and it must be a regular file.
    const int exclusive = task.attempt == 0 ? O_EXCL : 0;
    *fd = Fd(::open(log.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | exclusive, 0644));
    if (!*fd) return "cannot create " + log.string() + ": " + spawn_error_text(errno);
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode))
      return "cannot use " + log.string() + ": not a regular file";
  }
  if (task.attempt > 0) {
    const std::string header = "=== attempt " + std::to_string(task.attempt) + " ===\n";
    write_all(run.out_log.get(), header);
    write_all(run.err_log.get(), header);
  }

  CommandExpansion expansion = expand_command(spec.command, task.params);
  if (!expansion.ok()) return expansion.error;
  if (expansion.argv.empty()) {
    return "executor.command is empty once inactive parameters are dropped";
  }
  run.program = expansion.argv.front();

  std::error_code ec;
  const fs::path result_file = task.trial_dir / "result.json";
  if (!fs::remove(result_file, ec) && ec) {
    return "cannot remove the stale " + result_file.string() + ": " + ec.message();
  }

  const fs::path cwd = spec.cwd ? *spec.cwd : task.trial_dir;
  if (!fs::is_directory(cwd, ec)) {
    return "cannot start '" + run.program + "': working directory " + cwd.string() +
           " does not exist";
  }
  const Resolved resolved = resolve_program(run.program, path_var, relative_base);
  if (resolved.error != 0) {
    return "cannot start '" + run.program + "': " + errno_text(resolved.error);
  }

  Fd out_read, out_write, err_read, err_write;
  if (!make_pipe(out_read, out_write) || !make_pipe(err_read, err_write)) {
    return "cannot create a pipe: " + spawn_error_text(errno);
  }

  const std::vector<std::string> env = trial_env(task);
  std::vector<char*> argv_ptrs;
  for (auto& a : expansion.argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (const auto& e : env) env_ptrs.push_back(const_cast<char*>(e.c_str()));
  env_ptrs.push_back(nullptr);

  SpawnSetup setup;
  ::posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), 1);
  ::posix_spawn_file_actions_adddup2(&setup.actions, err_write.get(), 2);
  ::posix_spawn_file_actions_addchdir_np(&setup.actions, cwd.c_str());
  // Nothing of hpo's (databases, other trials' pipes, sockets) leaks into the trial.
  ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  sigset_t none;
  sigset_t all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setflags(
      &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(&setup.attr, 0);  // its own process group, led by itself
  ::posix_spawnattr_setsigmask(&setup.attr, &none);
  ::posix_spawnattr_setsigdefault(&setup.attr, &all);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, resolved.path.c_str(), &setup.actions, &setup.attr,
                               argv_ptrs.data(), env_ptrs.data());
  if (rc != 0) return "cannot start '" + run.program + "': " + spawn_error_text(rc);
  run.pid = pid;

  out_write.reset();  // only the child holds the write ends now: EOF means it let go
  err_write.reset();
  error_code aec;
  run.out.assign(out_read.release(), aec);
  run.err.assign(err_read.release(), aec);
  return "";
}

void SubprocessExecutor::Impl::read_stdout(const std::shared_ptr<Run>& run) {
  run->out.async_read_some(
      asio::buffer(run->out_buf.get(), kReadChunk),
      [weak = weak_from_this(), run](const error_code& ec, std::size_t n) {
        const auto self = weak.lock();
        if (!self || run->abandoned || run->finished || run->out_done) return;
        if (n > 0) {
          const std::string_view data(run->out_buf.get(), n);
          write_all(run->out_log.get(), data);
          run->lines.feed(data,
                          [&](std::string_view line) { self->handle_line(*run, false, line); });
          if (run->abandoned || run->finished || run->out_done) return;
        }
        if (!ec) {
          self->read_stdout(run);
          return;
        }
        run->lines.finish([&](std::string_view line) { self->handle_line(*run, false, line); });
        if (run->abandoned || run->finished || run->out_done) return;
        run->out_done = true;
        error_code ignored;
        run->out.close(ignored);
        self->maybe_finish(run);
      });
}

void SubprocessExecutor::Impl::read_stderr(const std::shared_ptr<Run>& run) {
  run->err.async_read_some(asio::buffer(run->err_buf.get(), kReadChunk),
                           [weak = weak_from_this(), run](const error_code& ec, std::size_t n) {
                             const auto self = weak.lock();
                             if (!self || run->abandoned || run->finished || run->err_done) return;
                             if (n > 0) {
                               const std::string_view data(run->err_buf.get(), n);
                               write_all(run->err_log.get(), data);
                               run->err_tail.append(data);
                               run->err_lines.feed(data, [&](std::string_view line) {
                                 self->handle_line(*run, true, line);
                               });
                               if (run->abandoned || run->finished || run->err_done) return;
                             }
                             if (!ec) {
                               self->read_stderr(run);
                               return;
                             }
                             run->err_lines.finish([&](std::string_view line) {
                               self->handle_line(*run, true, line);
                             });
                             if (run->abandoned || run->finished || run->err_done) return;
                             run->err_done = true;
                             error_code ignored;
                             run->err.close(ignored);
                             self->maybe_finish(run);
                           });
}

void SubprocessExecutor::Impl::handle_line(Run& run, bool is_stderr, std::string_view line) {
  auto report = run.metrics->line(is_stderr, line);
  if (!report) return;
  if (report->step && run.sink != nullptr) {
    run.sink->on_intermediate(run.task.trial_id, *report->step, report->metrics);
  }
}

// Keeps exactly one SIGCHLD wait and one sweep timer pending while some child is alive, and
// none when all are reaped (so io_context::run() can return).
void SubprocessExecutor::Impl::watch_children() {
  const bool any_alive = std::any_of(runs.begin(), runs.end(), [](const auto& entry) {
    return entry.second->pid > 0 && !entry.second->reaped;
  });
  if (!any_alive) {
    if (sigchld_armed) {
      sigchld_armed = false;
      ++sigchld_gen;
      error_code ignored;
      sigchld.cancel(ignored);
    }
    if (sweep_armed) {
      sweep_armed = false;
      ++sweep_gen;
      sweep_timer.cancel();
    }
    return;
  }
  if (!sigchld_armed) {
    sigchld_armed = true;
    sigchld.async_wait([weak = weak_from_this(), gen = ++sigchld_gen](const error_code& ec, int) {
      const auto self = weak.lock();
      if (!self || gen != self->sigchld_gen) return;
      self->sigchld_armed = false;
      if (ec) return;
      self->reap_exited();
      self->watch_children();
    });
  }
  if (!sweep_armed) {
    sweep_armed = true;
    sweep_timer.expires_after(kSweepInterval);
    sweep_timer.async_wait([weak = weak_from_this(), gen = ++sweep_gen](const error_code& ec) {
      const auto self = weak.lock();
      if (!self || gen != self->sweep_gen) return;
      self->sweep_armed = false;
      if (ec) return;
      self->reap_exited();
      self->watch_children();
    });
  }
}

void SubprocessExecutor::Impl::reap_exited() {
  std::vector<std::shared_ptr<Run>> exited;
  for (const auto& [id, run] : runs) {
    if (run->pid <= 0 || run->reaped) continue;
    // WNOWAIT: look without reaping, so the leader's pid (= the group id) stays reserved
    // until its leftovers are killed; a reaped pid could be reused by a stranger's group.
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(P_PID, static_cast<id_t>(run->pid), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (rc != 0 && errno == EINTR);
    if ((rc == 0 && info.si_pid == run->pid) || (rc != 0 && errno == ECHILD)) {
      exited.push_back(run);
    }
  }
  // Finishing calls the sink, which may start or cancel trials: never while iterating runs.
  for (const auto& run : exited) on_leader_exit(run);
}

void SubprocessExecutor::Impl::on_leader_exit(const std::shared_ptr<Run>& run) {
  if (run->reaped || run->abandoned) return;
  // The trial ends with its main process: whatever it left in its group goes too, and so does
  // whatever escaped the group (setsid, a daemon) but still carries the trial's environment.
  ::killpg(run->pid, SIGKILL);
  kill_processes_with_env("HPO_TRIAL_DIR=" + absolute_path(run->task.trial_dir).string());
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(run->pid, &status, 0);
  } while (rc < 0 && errno == EINTR);
  run->reaped = true;
  if (rc != run->pid) {
    run->status_lost = true;
  } else if (WIFEXITED(status)) {
    run->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    run->term_signal = WTERMSIG(status);
    run->core_dumped = WCOREDUMP(status);
  }
  ++run->stop_gen;
  run->stop_timer.cancel();
  if (run->out_done && run->err_done) {
    finish(run);
    return;
  }
  run->drain_timer.expires_after(SubprocessExecutor::kPipeDrainWindow);
  run->drain_timer.async_wait([weak = weak_from_this(), run](const error_code& ec) {
    const auto self = weak.lock();
    if (!self || ec || run->abandoned || run->finished) return;
    // A process outside the group still holds the pipes: stop listening to it.
    error_code ignored;
    if (!run->out_done) {
      run->out_done = true;
      run->out.close(ignored);
    }
    if (!run->err_done) {
      run->err_done = true;
      run->err.close(ignored);
    }
    self->maybe_finish(run);
  });
}

void SubprocessExecutor::Impl::arm_stop_timer(const std::shared_ptr<Run>& run,
                                              std::chrono::milliseconds after, bool is_timeout) {
  const unsigned gen = ++run->stop_gen;
  run->stop_timer.expires_after(after);
  run->stop_timer.async_wait([weak = weak_from_this(), run, gen, is_timeout](const error_code& ec) {
    const auto self = weak.lock();
    if (!self || ec || gen != run->stop_gen || run->abandoned || run->reaped) return;
    if (!is_timeout) {
      self->send_kill(*run);  // the grace period is over
      return;
    }
    if (run->stop == StopKind::kNone) run->stop = StopKind::kTimeout;
    self->send_term(run);
  });
}

void SubprocessExecutor::Impl::send_term(const std::shared_ptr<Run>& run) {
  if (run->term_sent || run->kill_sent) return;
  run->term_sent = true;
  ::killpg(run->pid, SIGTERM);
  ::killpg(run->pid, SIGCONT);  // a stopped process would not see TERM until continued
  arm_stop_timer(run, spec.kill_grace, /*is_timeout=*/false);
}

void SubprocessExecutor::Impl::send_kill(Run& run) {
  if (run.kill_sent) return;
  run.kill_sent = true;
  ::killpg(run.pid, SIGKILL);
  ++run.stop_gen;
  run.stop_timer.cancel();
}

void SubprocessExecutor::Impl::cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
  const auto it = runs.find(trial_id);
  if (it == runs.end()) return;
  const std::shared_ptr<Run> run = it->second;
  // Not started (its failure is on the way) or already exited: nothing left to stop.
  if (run->finished || run->pid <= 0 || run->reaped) return;
  if (run->stop == StopKind::kNone && cause == StopCause::kPruned) {
    // A trial whose program already exited (a zombie not yet reaped) finished before the
    // pruning landed: its own outcome stands (COMPLETE is never lost to a late prune).
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(run->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == run->pid)
      return;
  }
  if (run->stop == StopKind::kNone) {
    run->stop = StopKind::kCancel;
    run->cancel_cause = cause;
  }
  if (kill_now) {
    send_kill(*run);
  } else {
    send_term(run);
  }
}

void SubprocessExecutor::Impl::maybe_finish(const std::shared_ptr<Run>& run) {
  const bool started_and_done = run->reaped && run->out_done && run->err_done;
  if (!run->finished && started_and_done) finish(run);
}

void SubprocessExecutor::Impl::finish(const std::shared_ptr<Run>& run) {
  if (run->finished) return;
  run->finished = true;
  error_code ignored;
  run->out.close(ignored);
  run->err.close(ignored);
  run->stop_timer.cancel();
  run->drain_timer.cancel();
  TrialOutcome outcome = outcome_of(*run);
  run->out_log.reset();
  run->err_log.reset();
  if (const auto it = runs.find(run->task.trial_id); it != runs.end() && it->second == run) {
    runs.erase(it);
  }
  // Last: the sink may start the next trial, cancel others, or even destroy us (this handler
  // holds the Impl alive until it returns).
  run->sink->on_finished(run->task.trial_id, std::move(outcome));
}

TrialOutcome SubprocessExecutor::Impl::outcome_of(Run& run) const {
  if (!run.spawn_error.empty()) {
    return TrialOutcome::failed(FailureKind::kInfrastructure, clean_text(run.spawn_error));
  }
  const std::string tail = run.err_tail.last_lines(kReasonStderrChars);
  const std::string stderr_note = tail.empty() ? "" : "; last stderr: " + tail;
  TrialOutcome outcome;
  if (run.stop == StopKind::kTimeout) {
    outcome = TrialOutcome::failed(FailureKind::kTimeout,
                                   "timed out after " + format_duration(*spec.timeout));
  } else if (run.stop == StopKind::kCancel) {
    outcome = stopped_outcome(run.cancel_cause);
  } else if (run.status_lost) {
    outcome = TrialOutcome::failed(
        FailureKind::kInfrastructure,
        "lost the exit status of process " + std::to_string(run.pid) + " (reaped elsewhere)");
  } else if (run.term_signal) {
    outcome = TrialOutcome::failed(FailureKind::kSignal,
                                   "killed by signal " + std::to_string(*run.term_signal) + " (" +
                                       signal_name(*run.term_signal) + ")" +
                                       (run.core_dumped ? ", core dumped" : "") + stderr_note);
  } else if (run.exit_code && *run.exit_code != 0) {
    outcome =
        TrialOutcome::failed(FailureKind::kExitCode,
                             "exited with status " + std::to_string(*run.exit_code) + stderr_note);
  } else {
    // Exit 0: the result file, when written, is the final word.
    namespace fs = std::filesystem;
    const fs::path result_file = run.task.trial_dir / "result.json";
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(result_file, ec))) {
      outcome = TrialOutcome::complete(run.metrics->last());
    } else {
      // The trial wrote it: open it without blocking or following a link, and read at most
      // the limit (a FIFO or a link to /dev/zero must neither hang nor exhaust hpo).
      ResultFileMetrics parsed;
      const FileText file =
          read_regular_file(result_file, kMaxResultFileBytes, /*follow_symlinks=*/false);
      if (!file.ok())
        parsed.error = file.error;
      else
        parsed = parse_result_file(file.text);
      if (parsed.ok()) {
        outcome = TrialOutcome::complete(std::move(parsed.metrics));
      } else {
        outcome =
            TrialOutcome::failed(FailureKind::kObjective,
                                 "HPO_RESULT_FILE " + result_file.string() + " " + parsed.error);
      }
    }
  }
  if (!outcome.ok()) outcome.metrics = run.metrics->last();
  outcome.metrics_note = run.metrics->note();
  outcome.exit_code = run.exit_code;
  outcome.signal = run.term_signal;
  return outcome;
}

void SubprocessExecutor::Impl::shutdown() {
  for (auto& [id, run] : runs) {
    run->abandoned = true;
    if (run->pid > 0 && !run->reaped) {
      ::killpg(run->pid, SIGKILL);
      kill_processes_with_env("HPO_TRIAL_DIR=" + absolute_path(run->task.trial_dir).string());
      int status = 0;
      while (::waitpid(run->pid, &status, 0) < 0 && errno == EINTR) {
      }
      run->reaped = true;
    }
    error_code ignored;
    run->out.close(ignored);
    run->err.close(ignored);
    run->stop_timer.cancel();
    run->drain_timer.cancel();
    run->out_log.reset();
    run->err_log.reset();
  }
  runs.clear();
  watch_children();
}

SubprocessExecutor::SubprocessExecutor(boost::asio::io_context& io, SubprocessOptions options,
                                       std::size_t parallelism) {
  if (options.command.empty()) throw ExecutorError("executor.command is empty");
  if (parallelism == 0) throw ExecutorError("parallelism must be at least 1");
  impl_ = std::make_shared<Impl>(io, std::move(options), parallelism);
}

SubprocessExecutor::~SubprocessExecutor() { impl_->shutdown(); }

void SubprocessExecutor::start(TrialTask task, EventSink& sink) {
  impl_->start(std::move(task), sink);
}

void SubprocessExecutor::cancel(std::int64_t trial_id, StopCause cause, bool kill_now) {
  impl_->cancel(trial_id, cause, kill_now);
}

std::size_t SubprocessExecutor::capacity() const { return impl_->parallelism; }

std::size_t SubprocessExecutor::running() const { return impl_->runs.size(); }

Recovery SubprocessExecutor::recover(const TrialTask& task, const std::string& where,
                                     EventSink& /*sink*/) {
  const std::optional<pid_t> pgid = parse_where(where);
  if (!pgid || task.trial_dir.empty()) return Recovery::kGone;
  // The group is the trial's only if its leader still carries the trial's directory in its
  // environment: process ids are reused.
  std::ifstream env("/proc/" + std::to_string(*pgid) + "/environ", std::ios::binary);
  const std::string expected = "HPO_TRIAL_DIR=" + absolute_path(task.trial_dir).string();
  for (std::string entry; std::getline(env, entry, '\0');) {
    if (entry == expected) {
      ::killpg(*pgid, SIGKILL);
      break;
    }
  }
  // And what escaped its group on this host.
  kill_processes_with_env(expected);
  return Recovery::kGone;
}

// ---------------------------------------------------------------------------------------------
// The spec's "executor" block.

SubprocessOptions read_subprocess_options(const OrderedJson& block,
                                          const std::filesystem::path& base_dir,
                                          const std::vector<std::string>* param_names,
                                          SpecChecker& c) {
  SubprocessOptions options;
  const std::string path = "executor";
  if (const OrderedJson* cmd = c.required(block, path, "command")) {
    const std::string cpath = path + ".command";
    if (c.expect_array(*cmd, cpath)) {
      if (cmd->empty()) c.add(cpath, "must list the program and its arguments");
      for (std::size_t i = 0; i < cmd->size(); ++i) {
        const std::string apath = element_path(cpath, i);
        const std::optional<std::string> arg = c.get_string((*cmd)[i], apath);
        if (!arg) continue;
        if (arg->empty()) {
          c.add(apath, "must not be empty");
          continue;
        }
        check_command_element(*arg, apath, /*is_program=*/i == 0, param_names, c);
        options.command.push_back(*arg);
      }
    }
  }
  // Trials run where the spec is (its own files sit beside it), unless "cwd" says otherwise;
  // the trial directory is HPO_TRIAL_DIR.
  options.cwd = base_dir.lexically_normal();
  if (const OrderedJson* m = SpecChecker::member(block, "cwd")) {
    if (auto s = c.get_string(*m, path + ".cwd")) {
      if (s->empty()) {
        c.add(path + ".cwd", "must not be empty");
      } else {
        const std::filesystem::path p(*s);
        options.cwd = (p.is_relative() ? base_dir / p : p).lexically_normal();
      }
    }
  }
  options.metrics = read_metric_options(block, path, /*with_streams=*/true, c);
  if (const OrderedJson* m = SpecChecker::member(block, "env")) {
    const std::string epath = path + ".env";
    if (c.expect_object(*m, epath)) {
      for (const auto& [name, value] : m->items()) {
        const std::string vpath = member_path(epath, name);
        if (!is_identifier(name)) {
          c.add(vpath,
                "invalid environment variable name (use letters, digits and '_', not starting "
                "with a digit)");
          continue;
        }
        if (auto s = c.get_string(value, vpath)) options.env[name] = *s;
      }
    }
  }
  return options;
}

ExecutorRegistration subprocess_executor_registration() {
  ExecutorRegistration r;
  r.info.name = "subprocess";
  r.info.summary = "each trial a child process (any program; metrics from its output)";
  r.info.keys = {"command", "cwd", "env"};
  for (const std::string& key : metric_option_keys(/*with_streams=*/true)) r.info.keys.push_back(key);
  r.info.check = [](const ComponentBlock& block, SpecChecker& c) {
    read_subprocess_options(block.json, block.spec.base_dir, block.param_names, c);
  };
  r.preflight = [](const StudySpec& spec, SpecChecker& c) {
    const SubprocessOptions options =
        read_subprocess_options(spec.executor->block, spec.base_dir, nullptr, c);
    if (options.command.empty() || !c.ok()) return;
    // Found as a trial would find it: on the child's PATH, or relative to the working
    // directory. Every trial would fail the same way, so the study does not start.
    const std::string& program = options.command.front();
    const auto path = options.env.find("PATH");
    const char* our_path = std::getenv("PATH");
    const std::string path_var = path != options.env.end() ? path->second
                                 : our_path != nullptr     ? our_path
                                                           : "/usr/local/bin:/usr/bin:/bin";
    const std::filesystem::path base = options.cwd ? absolute_path(*options.cwd) : current_dir();
    Resolved resolved = resolve_program(program, path_var, base);
    if (resolved.error == 0 && program.find('/') != std::string::npos &&
        ::access(resolved.path.c_str(), X_OK) != 0)
      resolved.error = errno;
    if (resolved.error != 0)
      c.add("executor.command[0]",
            "cannot run '" + program + "': " + errno_text(resolved.error) +
                (program.find('/') == std::string::npos ? " (looked on PATH)"
                                                        : " (relative to " + base.string() + ")"));
  };
  r.make = [](const ExecutorArgs& args) -> std::unique_ptr<Executor> {
    const ExecutorSpec& ex = *args.spec.executor;
    SpecChecker c;
    SubprocessOptions options = read_subprocess_options(ex.block, args.spec.base_dir, nullptr, c);
    c.throw_if_any();
    options.timeout = ex.timeout;
    options.kill_grace = ex.kill_grace;
    return std::make_unique<SubprocessExecutor>(args.io, std::move(options), args.parallelism);
  };
  r.describe_launch = [](const StudySpec& spec, const TrialTask& task) {
    SpecChecker c;
    const SubprocessOptions options =
        read_subprocess_options(spec.executor->block, spec.base_dir, nullptr, c);
    if (!c.ok()) return std::optional<TrialLaunch>();
    return describe(options, task);
  };
  return r;
}

}  // namespace hpo
