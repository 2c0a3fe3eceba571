#include "aws/function_ref.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

TEST(FunctionRef, FullArnCarriesRegionAndAccount) {
  auto ref = aws::parse_function_ref(
      "arn:aws:lambda:eu-west-1:123456789012:function:docustack-orchestrator", "us-east-1");
  ASSERT_TRUE(ref) << ref.error().user_message;
  EXPECT_EQ(ref->region, "eu-west-1");  // the ARN's region wins over AWS_REGION
  EXPECT_EQ(ref->account, "123456789012");
  EXPECT_EQ(ref->name, "docustack-orchestrator");
  EXPECT_EQ(ref->qualifier, std::nullopt);
  EXPECT_EQ(ref->arn(), "arn:aws:lambda:eu-west-1:123456789012:function:docustack-orchestrator");
  EXPECT_EQ(ref->invoke_name(), *ref->arn());
}

TEST(FunctionRef, ArnWithAliasAndOtherPartitions) {
  auto ref = aws::parse_function_ref(
      "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:live", "");
  ASSERT_TRUE(ref) << ref.error().user_message;
  EXPECT_EQ(ref->partition, "aws-us-gov");
  EXPECT_EQ(ref->qualifier, "live");
  EXPECT_EQ(ref->arn(), "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:live");
}

TEST(FunctionRef, BareNameUsesTheConfiguredRegion) {
  auto ref = aws::parse_function_ref("orchestrator:$LATEST", "eu-central-1");
  ASSERT_TRUE(ref) << ref.error().user_message;
  EXPECT_EQ(ref->region, "eu-central-1");
  EXPECT_EQ(ref->account, std::nullopt);
  EXPECT_EQ(ref->arn(), std::nullopt);
  EXPECT_EQ(ref->invoke_name(), "orchestrator:$LATEST");
  auto china = aws::parse_function_ref("f", "cn-north-1");
  ASSERT_TRUE(china);
  EXPECT_EQ(china->partition, "aws-cn");
}

TEST(FunctionRef, RejectsWhatLambdaWouldRejectWithTheReason) {
  struct Case {
    const char* text;
    const char* region;
    const char* reason;
  };
  for (const auto& c : std::vector<Case>{
           {"orchestrator", "", "a bare name needs AWS_REGION"},
           {"orchestrator", "Europe", "AWS_REGION is not a region name"},
           {"arn:aws:s3:eu-west-1:123456789012:function:f", "", "not a lambda ARN"},
           {"arn:aws:lambda:eu-west-1:1234:function:f", "", "12 digits"},
           {"arn:aws:lambda:eu-west-1:123456789012:layer:f", "", "expected \":function:\""},
           {"arn:aws:lambda:eu-west-1:123456789012:function:", "", "bad function name"},
           {"arn:aws:lambda:eu-west-1:123456789012:function:f:a:b", "", "wrong number"},
           {"arn:other:lambda:eu-west-1:123456789012:function:f", "", "unknown partition"},
           {"my function", "eu-west-1", "names are 1-64"},
           {"", "eu-west-1", "names are 1-64"},
       }) {
    auto ref = aws::parse_function_ref(c.text, c.region);
    ASSERT_FALSE(ref) << c.text;
    EXPECT_THAT(ref.error().user_message, testing::HasSubstr(c.reason)) << c.text;
    EXPECT_EQ(ref.error().code, core::ErrorCode::config);
  }
  EXPECT_FALSE(aws::parse_function_ref(std::string(65, 'a'), "eu-west-1"));
}

}  // namespace
