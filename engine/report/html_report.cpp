#include "engine/report/html_report.h"

#include <map>
#include <string_view>

#include "engine/report/report_assets.h"
#include "engine/report/text_safety.h"

namespace hpo {
namespace {

// Replaces each {{NAME}} of the template in one pass (inserted text is never scanned again, so
// a "{{" inside uPlot or a trial's text stays as it is).
std::string fill(std::string_view tpl, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tpl.size() + 128 * 1024);
  std::size_t i = 0;
  while (i < tpl.size()) {
    const std::size_t open = tpl.find("{{", i);
    if (open == std::string_view::npos) break;
    const std::size_t close = tpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(tpl.substr(i, open - i));
    const std::string key(tpl.substr(open + 2, close - open - 2));
    auto it = values.find(key);
    if (it == values.end()) {
      out.append(tpl.substr(open, close + 2 - open));
    } else {
      out += it->second;
    }
    i = close + 2;
  }
  out.append(tpl.substr(i));
  return out;
}

std::map<std::string, std::string> common(const std::string& title) {
  return {{"TITLE", html_escape(title)},
          {"UPLOT_CSS", std::string(assets::kUplotCss)},
          {"REPORT_CSS", std::string(assets::kReportCss)},
          {"UPLOT_JS", std::string(assets::kUplotJs)},
          {"REPORT_JS", std::string(assets::kReportJs)}};
}

}  // namespace

std::string render_report_html(const nlohmann::json& data) {
  std::string name = "study";
  if (data.contains("study") && data["study"].contains("name") && data["study"]["name"].is_string())
    name = data["study"]["name"].get<std::string>();
  auto values = common("hpo report · " + name);
  values["CSP"] =
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
      "img-src data:";
  values["MODE_TEXT"] = "report";
  values["CONFIG"] = json_for_script({{"live", false}});
  values["DATA"] = json_for_script(data);
  return fill(assets::kReportHtml, values);
}

std::string render_dashboard_html(int interval_ms) {
  auto values = common("hpo dashboard");
  values["CSP"] =
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
      "img-src data:; connect-src 'self'";
  values["MODE_TEXT"] = "dashboard";
  values["CONFIG"] = json_for_script({{"live", true}, {"interval_ms", interval_ms}});
  values["DATA"] = "null";
  return fill(assets::kReportHtml, values);
}

}  // namespace hpo
