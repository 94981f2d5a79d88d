// The live page is compiled into the daemon (lib/gateway/www via www/embed.cmake): its files are
// found at their paths with the right types, byte for byte as in the source tree.
#include "gateway/static_files.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace livepoll::gateway {
namespace {

std::string ReadSource(const std::string& name) {
  std::ifstream in(std::string(LIVEPOLL_WWW_DIR) + "/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(StaticFiles, RootIsTheIndexPage) {
  const StaticFile* root = FindStaticFile("/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(root->body, ReadSource("index.html"));
  const StaticFile* index = FindStaticFile("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->body.data(), root->body.data());  // one copy of the bytes
}

TEST(StaticFiles, ScriptAndStyleAreEmbeddedByteForByte) {
  const StaticFile* js = FindStaticFile("/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js->body, ReadSource("app.js"));
  EXPECT_FALSE(js->body.empty());
  const StaticFile* css = FindStaticFile("/style.css");
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(css->body, ReadSource("style.css"));
}

TEST(StaticFiles, UnknownPathsAndTheGeneratorAreNotServed) {
  EXPECT_EQ(FindStaticFile(""), nullptr);
  EXPECT_EQ(FindStaticFile("/nope.js"), nullptr);
  EXPECT_EQ(FindStaticFile("app.js"), nullptr);  // paths start with '/'
  EXPECT_EQ(FindStaticFile("/embed.cmake"), nullptr);
  EXPECT_EQ(FindStaticFile("/../static_files.cpp"), nullptr);
  EXPECT_EQ(FindStaticFile("/app.js?v=1"), nullptr);  // the caller strips the query string
}

}  // namespace
}  // namespace livepoll::gateway
