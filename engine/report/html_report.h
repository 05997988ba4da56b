// The HTML page of the report and of the dashboard: assets/report.html with uPlot, the page's
// script and style inlined, so that it needs nothing but itself. A Content-Security-Policy in
// the page forbids every request (the report: default-src 'none'; the dashboard: only its own
// JSON endpoints), so a report works offline and no request can leave it. Stateless functions;
// thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hpo {

// The self-contained report of one study: `data` is build_report_data()'s document.
std::string render_report_html(const nlohmann::json& data);

// The dashboard's page: the same page, which polls the server's JSON endpoints every
// `interval_ms` (relative URLs, same origin).
std::string render_dashboard_html(int interval_ms);

}  // namespace hpo
