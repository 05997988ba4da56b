// The files the report page is made of, compiled into the binary (embed_assets.cmake writes
// their bytes into report_assets.cpp at build time): the page template, its script and style
// (assets/), and uPlot (third_party/uplot/). Constant; thread-safe.
#pragma once

#include <string_view>

namespace hpo::assets {

extern const std::string_view kReportHtml;  // assets/report.html, with {{PLACEHOLDERS}}
extern const std::string_view kReportJs;    // assets/report.js
extern const std::string_view kReportCss;   // assets/report.css
extern const std::string_view kUplotJs;     // third_party/uplot/uPlot.iife.min.js
extern const std::string_view kUplotCss;    // third_party/uplot/uPlot.min.css

}  // namespace hpo::assets
