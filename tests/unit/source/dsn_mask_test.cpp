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
}

// The forms the first mask missed (issue 12): each leaked its secret.
TEST(MaskDsnSecrets, HidesEveryPasswordForm) {
  EXPECT_EQ(MaskDsnSecrets("host=db sslpassword=keypass sslkey=/k"),
            "host=db sslpassword=*** sslkey=/k");
  EXPECT_EQ(MaskDsnSecrets("DRIVER=x;UID=app;PASSWORD=s3cret;DATABASE=d"),
            "DRIVER=x;UID=app;PASSWORD=***;DATABASE=d");
  EXPECT_EQ(MaskDsnSecrets("DRIVER=x;PWD={se;cr}}et};DATABASE=d"), "DRIVER=x;PWD=***;DATABASE=d");
  EXPECT_EQ(MaskDsnSecrets("host=db password = s3cret dbname=x"),
            "host=db password = *** dbname=x");
  EXPECT_EQ(MaskDsnSecrets(R"(host=db password='it\'s secret' dbname=x)"),
            "host=db password=*** dbname=x");
  EXPECT_EQ(MaskDsnSecrets("postgresql://app:p@ss/w@rd@db:5432/x"),
            "postgresql://app:***@db:5432/x");
  EXPECT_EQ(MaskDsnSecrets("postgresql://dbname=x user=app password=s3cret"),
            "postgresql://dbname=x user=app password=***");
  EXPECT_EQ(MaskDsnSecrets("host=db mypassword=hidden"), "host=db mypassword=***");
  EXPECT_EQ(MaskDsnSecrets("host=db passport=visible"), "host=db passport=visible");
}

TEST(FindDsnSecrets, GivesUnquotedValues) {
  std::vector<DsnSecret> s = FindDsnSecrets(R"(password='a\'b c' PWD={x}}y} pass=z)");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].value, "a'b c");
  EXPECT_EQ(s[1].value, "x}y");
  EXPECT_EQ(s[2].value, "z");
}

// A plugin's error text that quotes the DSN, or only the password, comes out masked.
TEST(RedactDsn, HidesTheDsnAndItsSecretsInAnyText) {
  const std::string dsn = "postgresql://dbname=x user=app password=s3cret";
  EXPECT_EQ(RedactDsn("cannot connect to '" + dsn + "': refused", dsn),
            "cannot connect to 'postgresql://dbname=x user=app password=***': refused");
  EXPECT_EQ(RedactDsn("auth failed for password s3cret", dsn), "auth failed for password ***");
  EXPECT_EQ(RedactDsn("nothing secret here", dsn), "nothing secret here");
  EXPECT_EQ(RedactDsn("a b", "sqlite3://db=/tmp/a.db"), "a b");
}

}  // namespace
}  // namespace livepoll::source
