#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/credentials.hpp"
#include "core/clock.hpp"

namespace aws::sigv4 {

/// A request to sign, as it will go on the wire.
struct Request {
  std::string method;
  std::string path;   ///< already URI-encoded once for the wire (e.g. "/…/arn%3Aaws%3A…/invocations")
  std::string query;  ///< raw query without '?', may be empty
  /// Signed exactly as given (the caller decides), and must include Host (with
  /// :port when not default). Authorization, X-Amz-Date, X-Amz-Security-Token
  /// and x-amz-content-sha256 belong to the signer: a copy here is ignored and
  /// must not be sent; send the ones in Signed::headers.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

struct Options {
  std::string region;
  std::string service = "lambda";
  bool normalize_path = true;      ///< remove dot segments and repeated '/' (all but S3)
  bool sign_body = false;          ///< add and sign x-amz-content-sha256
  bool omit_session_token = false; ///< add X-Amz-Security-Token after signing (unsigned)
};

/// What signing produced: the headers to add to the request
/// (X-Amz-Security-Token when the credentials have a session token,
/// X-Amz-Date, x-amz-content-sha256 when asked, Authorization, in that order,
/// as in aws-c-auth's signed requests) and the intermediate stages for tests
/// and debugging.
struct Signed {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  ///< lower-case hex
};

/// Signs `request` at time `at` (AWS Signature Version 4, header form). Pure:
/// no clock, no I/O. Non-S3 rules: the path is URI-encoded again for the
/// canonical request, the query is decoded, re-encoded and sorted, header
/// values are trimmed and folded, repeated headers joined in order.
Signed sign(const Request& request, const Credentials& credentials, const Options& options,
            core::TimePoint at);

/// RFC 3986 percent-encoding of every byte outside A-Z a-z 0-9 - . _ ~ (upper-case hex);
/// `/` is kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

}  // namespace aws::sigv4
