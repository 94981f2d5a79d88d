// GET /api/queries: the catalog as the live page reads it, and nothing a stranger should not see.
#include "net/catalog_json.h"

#include <gtest/gtest.h>

namespace livepoll::net {
namespace {

TEST(CatalogJson, ListsEachQueryWithWhatAJoinNeeds) {
  core::Catalog catalog;
  core::CatalogQuery items;
  items.name = "items";
  items.source = "shop";
  items.key = {"id"};
  items.interval = std::chrono::milliseconds(100);
  catalog.queries["items"] = items;
  core::CatalogQuery mine;
  mine.name = "my_orders";
  mine.source = "secret_source_name";
  mine.params = {"region", "user_id"};
  mine.interval = std::chrono::seconds(2);
  mine.access.token_required = true;
  mine.access.bind = {{"user_id", "sub"}};
  mine.access.allow = {{"role", "admin"}};
  catalog.queries["my_orders"] = mine;

  const std::string json = CatalogJson(catalog);
  EXPECT_EQ(json,
            "[{\"name\":\"items\",\"params\":[],\"key\":[\"id\"],\"interval_ms\":100,"
            "\"token_required\":false,\"bound\":[]},"
            "{\"name\":\"my_orders\",\"params\":[\"region\",\"user_id\"],\"key\":[],"
            "\"interval_ms\":2000,\"token_required\":true,\"bound\":[\"user_id\"]}]");
  EXPECT_EQ(json.find("secret_source_name"), std::string::npos);  // no source, no claim values
  EXPECT_EQ(json.find("admin"), std::string::npos);
}

TEST(CatalogJson, EscapesNamesAndIsAnEmptyListForNoQueries) {
  EXPECT_EQ(CatalogJson(core::Catalog{}), "[]");
  core::Catalog catalog;
  core::CatalogQuery q;
  q.params = {"a\"b"};
  catalog.queries["x</script>"] = q;
  EXPECT_EQ(CatalogJson(catalog),
            "[{\"name\":\"x</script>\",\"params\":[\"a\\\"b\"],\"key\":[],\"interval_ms\":1000,"
            "\"token_required\":false,\"bound\":[]}]");
}

}  // namespace
}  // namespace livepoll::net
