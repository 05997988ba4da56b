// Text from trials made safe: engine/model/text.h for storage and terminals, text_safety.h for
// JSON and HTML.
#include <catch2/catch.hpp>

#include "engine/model/text.h"
#include "engine/report/text_safety.h"

TEST_CASE("trial text: invalid UTF-8 becomes U+FFFD, control characters are escaped", "[report][text]") {
  CHECK(hpo::valid_utf8("caf\xC3\xA9 \xE2\x9C\x93") == "caf\xC3\xA9 \xE2\x9C\x93");
  CHECK(hpo::valid_utf8("a\xFFz") == "a\xEF\xBF\xBDz");
  CHECK(hpo::valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  CHECK(hpo::valid_utf8("\xE2\x9C") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
  CHECK(hpo::clean_text("a\nb\x1b[2J\x7f") == "a\\nb\\x1b[2J\\x7f");
  CHECK(hpo::clean_text("\xC2\x9B") == "\\u009b");
  CHECK(hpo::clean_text(hpo::clean_text("\x1b")) == hpo::clean_text("\x1b"));  // idempotent
}

TEST_CASE("JSON never throws on invalid UTF-8 and is safe inside a script element",
          "[report][text]") {
  const nlohmann::json j = {{"reason", "</script><script>alert(1)</script>\xFF & \xE2\x80\xA8"}};
  const std::string text = hpo::json_text(j);
  CHECK(text.find("\xEF\xBF\xBD") != std::string::npos);
  const std::string script = hpo::json_for_script(j);
  CHECK(script.find('<') == std::string::npos);
  CHECK(script.find('>') == std::string::npos);
  CHECK(script.find('&') == std::string::npos);
  CHECK(script.find("\xE2\x80\xA8") == std::string::npos);
  CHECK(nlohmann::json::parse(script)["reason"].get<std::string>().rfind("</script>", 0) == 0);
  CHECK(hpo::html_escape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
}
