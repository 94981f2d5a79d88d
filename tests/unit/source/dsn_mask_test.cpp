// DSN masking keeps passwords out of error messages and logs.
#include "source/dsn_mask.h"

#include <gtest/gtest.h>

namespace livepoll::source {
namespace {

TEST(MaskDsnSecrets, HidesPasswordsAndKeepsTheRest) {
  EXPECT_EQ(MaskDsnSecrets("host=db port=5432 user=app password=s3cret dbname=x"),
            "host=db port=5432 user=app password=*** dbname=x");
  EXPECT_EQ(MaskDsnSecrets("host=db password='a b c' dbname=x"), "host=db password=*** dbname=x");
  EXPECT_EQ(MaskDsnSecrets("postgresql://app:s3cret@db:5432/x"), "postgresql://app:***@db:5432/x");
  EXPECT_EQ(MaskDsnSecrets("postgresql://db:5432/x?password=s3cret&sslmode=off"),
            "postgresql://db:5432/x?password=***&sslmode=off");
  EXPECT_EQ(MaskDsnSecrets("sqlite3://db=/tmp/x.db timeout=2"), "sqlite3://db=/tmp/x.db timeout=2");
  EXPECT_EQ(MaskDsnSecrets("host=db mypassword=visible"), "host=db mypassword=visible");
}

}  // namespace
}  // namespace livepoll::source
