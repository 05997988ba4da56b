#include "executors/metric_format.h"

#include <cctype>
#include <cmath>
#include <regex>

#include <nlohmann/json.hpp>

#include "engine/model/text.h"
#include "hpo/errors.h"

namespace hpo {
namespace {

constexpr const char* kFormatNames[] = {"auto", "key=value", "json", "keras", "xgboost"};

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with_word(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != word[i]) return false;
  return true;
}

// Digits at the start of `s` as a step; advances `s` past them.
std::optional<std::int64_t> take_int(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && n < 18 && is_digit(s[n])) ++n;
  if (n == 0 || (n < s.size() && is_digit(s[n]))) return std::nullopt;
  const std::int64_t v = std::stoll(std::string(s.substr(0, n)));
  s.remove_prefix(n);
  return v;
}

struct LeadingStep {
  std::int64_t step = 0;
  bool has_total = false;      // "Epoch N/M"
  std::string_view rest;       // what follows ("" for a bare "Epoch 3/10")
};

// "Epoch 3", "Epoch 3/10", "Step 7:" at the start of a line.
std::optional<LeadingStep> leading_step(std::string_view line) {
  std::string_view s = trim(line);
  std::size_t word = 0;
  if (starts_with_word(s, "epoch")) {
    word = 5;
  } else if (starts_with_word(s, "step")) {
    word = 4;
  } else {
    return std::nullopt;
  }
  s.remove_prefix(word);
  if (s.empty() || !is_blank(s.front())) return std::nullopt;
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  LeadingStep out;
  const auto step = take_int(s);
  if (!step) return std::nullopt;
  out.step = *step;
  if (!s.empty() && s.front() == '/') {
    s.remove_prefix(1);
    if (!take_int(s)) return std::nullopt;
    out.has_total = true;
  }
  if (!s.empty() && s.front() != ':' && s.front() != ',' && !is_blank(s.front()))
    return std::nullopt;
  if (!s.empty() && (s.front() == ':' || s.front() == ',')) s.remove_prefix(1);
  out.rest = trim(s);
  return out;
}

// key=value with the additions of the "key=value" format (see the header).
std::optional<MetricReport> read_key_value(std::string_view line) {
  if (line.find('=') == std::string_view::npos) return std::nullopt;
  const auto lead = leading_step(line);
  std::string text(lead ? lead->rest : line);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char& c = text[i];
    if (c == '[' || c == ']' || c == '{' || c == '}' || c == '|' || c == ';' || c == '"' ||
        c == '\'') {
      c = ' ';
    } else if (c == ':' && i + 1 < text.size() && !is_blank(text[i + 1]) &&
               !is_digit(text[i + 1])) {
      c = ' ';  // "INFO:root:accuracy=0.9": a logging prefix, not part of the name
    }
  }
  auto report = parse_metric_line(text);
  if (report && !report->step && lead) report->step = lead->step;
  return report;
}

std::optional<std::int64_t> integral(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9e15)
      return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::optional<MetricReport> read_json(std::string_view line) {
  const std::string_view s = trim(line);
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  const nlohmann::json doc = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  MetricReport report;
  for (const char* key : {"step", "epoch"}) {
    const auto it = doc.find(key);
    if (it == doc.end()) continue;
    if (const auto step = integral(*it)) {
      report.step = step;
      break;
    }
  }
  for (const auto& [name, value] : doc.items()) {
    if (!value.is_number() || !is_metric_name(name)) continue;
    if (report.step && (name == "step" || (name == "epoch" && !doc.contains("step")))) continue;
    report.metrics[name] = value.get<double>();
  }
  if (report.metrics.empty()) return std::nullopt;
  return report;
}

std::optional<MetricReport> read_xgboost(std::string_view line) {
  std::string_view s = trim(line);
  if (s.empty() || s.front() != '[') return std::nullopt;
  s.remove_prefix(1);
  const auto step = take_int(s);
  if (!step || s.empty() || s.front() != ']') return std::nullopt;
  s.remove_prefix(1);
  MetricReport report;
  report.step = step;
  while (!s.empty()) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    std::size_t end = 0;
    while (end < s.size() && !is_blank(s[end])) ++end;
    const std::string_view token = s.substr(0, end);
    s.remove_prefix(end);
    const std::size_t colon = token.rfind(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = token.substr(0, colon);
    if (!is_metric_name(name)) continue;
    if (const auto v = parse_metric_value(token.substr(colon + 1)))
      report.metrics[std::string(name)] = *v;
  }
  if (report.metrics.empty()) return std::nullopt;
  return report;
}

// " - name: value" pairs of a Keras progress line.
Metrics keras_pairs(std::string_view line) {
  Metrics metrics;
  std::size_t pos = 0;
  while ((pos = line.find(" - ", pos)) != std::string_view::npos) {
    pos += 3;
    std::size_t end = line.find(" - ", pos);
    std::string_view piece = trim(line.substr(pos, end == std::string_view::npos ? end : end - pos));
    const std::size_t colon = piece.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(piece.substr(0, colon));
    if (!is_metric_name(name)) continue;
    if (const auto v = parse_metric_value(trim(piece.substr(colon + 1))))
      metrics[std::string(name)] = *v;
  }
  return metrics;
}

// Rewrites "(?<name>" and "(?P<name>" as "(", counting capturing groups.
TranslatedRegex translate(std::string_view p) {
  TranslatedRegex out;
  std::size_t group = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      out.pattern += p.substr(i, 2);
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.pattern += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.pattern += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out.pattern += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out.pattern += p[++i];
      continue;
    }
    if (c != '(') {
      out.pattern += c;
      continue;
    }
    const std::string_view rest = p.substr(i);
    std::size_t name_at = 0;
    if (rest.substr(0, 3) == "(?<" && rest.size() > 3 && rest[3] != '=' && rest[3] != '!') {
      name_at = 3;
    } else if (rest.substr(0, 4) == "(?P<") {
      name_at = 4;
    }
    if (name_at != 0) {
      const std::size_t close = rest.find('>', name_at);
      if (close == std::string_view::npos) {
        out.error = "unterminated group name at offset " + std::to_string(i);
        return out;
      }
      const std::string name(rest.substr(name_at, close - name_at));
      if (!is_identifier(name)) {
        out.error = "invalid group name \"" + name + "\" at offset " + std::to_string(i);
        return out;
      }
      for (const auto& [n, g] : out.groups)
        if (n == name) {
          out.error = "group \"" + name + "\" is named twice";
          return out;
        }
      out.groups.emplace_back(name, ++group);
      out.pattern += '(';
      i += close;
      continue;
    }
    if (rest.size() < 2 || rest[1] != '?') ++group;  // (?: (?= (?! do not capture
    out.pattern += c;
  }
  return out;
}

}  // namespace

TranslatedRegex translate_named_groups(std::string_view pattern) { return translate(pattern); }

std::string MetricFormat::name() const {
  if (kind == MetricFormatKind::kRegex) return "regex";
  return kFormatNames[static_cast<int>(kind)];
}

const char* to_string(MetricStreams streams) {
  switch (streams) {
    case MetricStreams::kStdout: return "stdout";
    case MetricStreams::kStderr: return "stderr";
    case MetricStreams::kBoth: return "both";
  }
  return "both";
}

std::vector<std::string> metric_option_keys(bool with_streams) {
  if (with_streams) return {"metrics_format", "metrics_from"};
  return {"metrics_format"};
}

// ---- the regex format -------------------------------------------------------------------------

struct MetricReader::Compiled {
  std::regex re;
  std::size_t name = 1;
  std::size_t value = 2;
  std::optional<std::size_t> step;
};

namespace {

// Compiles a user pattern, or says what is wrong with it.
std::unique_ptr<MetricReader::Compiled> compile_regex(const std::string& pattern,
                                                      std::string& error);

}  // namespace

MetricOptions read_metric_options(const OrderedJson& block, const std::string& path,
                                  bool with_streams, SpecChecker& c) {
  MetricOptions options;
  if (const OrderedJson* m = SpecChecker::member(block, "metrics_format")) {
    const std::string fpath = path + ".metrics_format";
    if (m->is_object()) {
      c.reject_unknown_keys(*m, fpath, {"regex"});
      if (const OrderedJson* re = c.required(*m, fpath, "regex")) {
        if (auto s = c.get_string(*re, fpath + ".regex")) {
          std::string error;
          if (s->empty()) {
            c.add(fpath + ".regex", "must not be empty");
          } else if (!compile_regex(*s, error)) {
            c.add(fpath + ".regex", error);
          } else {
            options.format.kind = MetricFormatKind::kRegex;
            options.format.regex = *s;
          }
        }
      }
    } else if (m->is_string()) {
      const std::vector<std::string> names(std::begin(kFormatNames), std::end(kFormatNames));
      if (auto s = c.get_enum(*m, fpath, names)) {
        for (std::size_t i = 0; i < names.size(); ++i)
          if (names[i] == *s) options.format.kind = static_cast<MetricFormatKind>(i);
      }
    } else {
      c.add(fpath, "must be one of \"auto\", \"key=value\", \"json\", \"keras\", \"xgboost\", or "
                   "{\"regex\": \"...\"}, got " + describe(*m));
    }
  }
  // Without streams the key is not the executor's: the spec's unknown-key check reports it.
  const OrderedJson* from = with_streams ? SpecChecker::member(block, "metrics_from") : nullptr;
  if (from != nullptr) {
    const std::string spath = path + ".metrics_from";
    if (auto s = c.get_enum(*from, spath, {"stdout", "stderr", "both"})) {
      options.from = *s == "stdout"   ? MetricStreams::kStdout
                     : *s == "stderr" ? MetricStreams::kStderr
                                      : MetricStreams::kBoth;
    }
  }
  return options;
}

namespace {

std::unique_ptr<MetricReader::Compiled> compile_regex(const std::string& pattern,
                                                      std::string& error) {
  const TranslatedRegex t = translate(pattern);
  if (!t.error.empty()) {
    error = "invalid pattern: " + t.error;
    return nullptr;
  }
  auto compiled = std::make_unique<MetricReader::Compiled>();
  try {
    compiled->re = std::regex(t.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    error = std::string("invalid pattern (") + e.what() + ")";
    return nullptr;
  }
  if (t.groups.empty()) {
    if (compiled->re.mark_count() < 2) {
      error = "needs a (?<name>...) and a (?<value>...) group (or, unnamed, the name as group 1 "
              "and the value as group 2)";
      return nullptr;
    }
    return compiled;
  }
  bool has_name = false;
  bool has_value = false;
  for (const auto& [name, group] : t.groups) {
    if (name == "name") {
      compiled->name = group;
      has_name = true;
    } else if (name == "value") {
      compiled->value = group;
      has_value = true;
    } else if (name == "step") {
      compiled->step = group;
    } else {
      error = "unknown group name \"" + name + "\" (use name, value and step)";
      return nullptr;
    }
  }
  if (!has_name || !has_value) {
    error = std::string("needs a (?<") + (has_name ? "value" : "name") + ">...) group";
    return nullptr;
  }
  return compiled;
}

}  // namespace

// ---- MetricReader -----------------------------------------------------------------------------

MetricReader::MetricReader(const MetricFormat& format) : format_(format) {
  if (format_.kind == MetricFormatKind::kRegex) {
    std::string error;
    compiled_ = compile_regex(format_.regex, error);
    if (!compiled_) throw InputError("executor.metrics_format.regex", error);
  }
}

MetricReader::~MetricReader() = default;
MetricReader::MetricReader(MetricReader&&) noexcept = default;
MetricReader& MetricReader::operator=(MetricReader&&) noexcept = default;

std::optional<MetricReport> MetricReader::read(std::string_view line) {
  auto report = read_line(line);
  if (report) {
    recent_.push_back(clean_text(trim(line).substr(0, kRecentChars)));
    if (recent_.size() > kRecentLines) recent_.pop_front();
  }
  return report;
}

std::optional<MetricReport> MetricReader::read_keras(std::string_view line) {
  if (const auto lead = leading_step(line); lead && lead->has_total && lead->rest.empty()) {
    keras_epoch_ = lead->step;
    return std::nullopt;
  }
  Metrics metrics = keras_pairs(line);
  if (metrics.empty()) return std::nullopt;
  MetricReport report;
  report.metrics = std::move(metrics);
  report.step = keras_epoch_;
  return report;
}

std::optional<MetricReport> MetricReader::read_regex(std::string_view line) {
  MetricReport report;
  const std::string text(line);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), compiled_->re);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    const std::string name = m[compiled_->name].str();
    const auto value = parse_metric_value(trim(m[compiled_->value].str()));
    if (name.empty() || !value) continue;
    report.metrics[name] = *value;
    if (compiled_->step && (*compiled_->step < m.size()) && m[*compiled_->step].matched) {
      const std::string step_text = m[*compiled_->step].str();  // s views it: keep it alive
      std::string_view s = trim(step_text);
      if (const auto step = take_int(s); step && s.empty()) report.step = step;
    }
  }
  if (report.metrics.empty()) return std::nullopt;
  return report;
}

std::optional<MetricReport> MetricReader::read_line(std::string_view line) {
  switch (format_.kind) {
    case MetricFormatKind::kKeyValue: return read_key_value(line);
    case MetricFormatKind::kJson: return read_json(line);
    case MetricFormatKind::kKeras: return read_keras(line);
    case MetricFormatKind::kXgboost: return read_xgboost(line);
    case MetricFormatKind::kRegex: return read_regex(line);
    case MetricFormatKind::kAuto: break;
  }
  if (auto r = read_json(line)) return r;
  if (auto r = read_xgboost(line)) return r;
  // Keras: an "Epoch N/M" line alone, or " - name: value" pairs (Keras 2's bar is "[====>..]",
  // so a '=' does not rule it out); anything else is key=value.
  if (auto r = read_keras(line)) return r;
  return read_key_value(line);
}

std::string quote_lines(const std::deque<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "\"" : ", \"") + l + "\"";
  return out;
}

// ---- TrialMetrics -----------------------------------------------------------------------------

TrialMetrics::TrialMetrics(const MetricOptions& options)
    : options_(options), out_(options.format), err_(options.format) {}

std::optional<MetricReport> TrialMetrics::line(bool is_stderr, std::string_view text) {
  auto report = (is_stderr ? err_ : out_).read(text);
  const bool wanted = options_.from == MetricStreams::kBoth ||
                      (options_.from == MetricStreams::kStderr) == is_stderr;
  if (!report || !wanted) return std::nullopt;
  for (const auto& [name, value] : report->metrics) last_[name] = value;
  return report;
}

std::string seen_lines_note(const std::string& quoted) {
  return quoted.empty() ? "; no line looked like a metric" : "; last metric lines: " + quoted;
}

std::string TrialMetrics::note() const {
  const bool reads_out = options_.from != MetricStreams::kStderr;
  const bool reads_err = options_.from != MetricStreams::kStdout;
  std::string note = std::string("read ") +
                     (reads_out && reads_err ? "stdout and stderr" : reads_out ? "stdout" : "stderr") +
                     " as " + options_.format.name();
  const auto lines = quote_lines;
  std::string seen;
  if (reads_out && !out_.recent().empty()) seen += lines(out_.recent());
  if (reads_err && !err_.recent().empty()) seen += (seen.empty() ? "" : ", ") + lines(err_.recent());
  note += seen_lines_note(seen);
  if (!reads_out && !out_.recent().empty())
    note += "; stdout (not read: metrics_from is \"stderr\") had: " + lines(out_.recent());
  if (!reads_err && !err_.recent().empty())
    note += "; stderr (not read: metrics_from is \"stdout\") had: " + lines(err_.recent());
  return note;
}

}  // namespace hpo
