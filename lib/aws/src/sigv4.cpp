// AWS Signature Version 4, header form, non-S3 rules. The stages follow the
// IAM guide (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
// and are checked byte for byte against aws-c-auth's suite
// (tests/unit/sigv4_suite_test.cpp) and against botocore's SigV4Auth
// (tests/unit/sigv4_botocore_test.cpp). Notes: shared/notes/aws.md §1.

#include "aws/sigv4.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>

namespace aws::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kHexLower = "0123456789abcdef";
constexpr std::string_view kHexUpper = "0123456789ABCDEF";

using Digest = std::array<unsigned char, 32>;  // SHA-256

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The whitespace aws-c-auth (aws_isspace) and botocore (str.split) collapse in
// header values; folded lines arrive with their CR/LF and indentation.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

std::string hex(const Digest& digest) {
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char byte : digest) {
    out.push_back(kHexLower[byte >> 4]);
    out.push_back(kHexLower[byte & 0x0F]);
  }
  return out;
}

// OpenSSL only fails here on allocation failure or a broken provider set-up;
// the digest then stays zero and the server rejects the signature, which is
// the honest outcome for a signer that must not throw.
Digest sha256(std::string_view data) {
  Digest out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

Digest hmac_sha256(std::string_view key, std::string_view data) {
  Digest out{};
  size_t size = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
            out.size(), &size);
  return out;
}

std::string_view as_view(const Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// X-Amz-Date: YYYYMMDD'T'HHMMSS'Z' in UTC; sub-second precision is dropped.
std::string amz_date(core::TimePoint at) {
  using namespace std::chrono;
  const auto seconds_at = floor<seconds>(at);
  const auto day = floor<days>(seconds_at);
  const year_month_day date{day};
  const hh_mm_ss time{seconds_at - day};
  std::array<char, 48> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d%02u%02uT%02d%02d%02dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer.data();
}

// RFC 3986 §5.2.4 dot-segment removal plus collapsing of repeated '/', as
// aws-c-auth (s_append_normalized_path) and botocore (remove_dot_segments) do:
// "/a//b/../c/" -> "/a/c/", "/a/b/.." -> "/a", "" -> "/". A trailing '/' is
// kept only when the input ends with one and something is left.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> kept;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
    } else if (!segment.empty() && segment != ".") {
      kept.push_back(segment);
    }
    start = end + 1;
  }
  const bool ends_with_slash = !path.empty() && path.back() == '/';
  std::string out = "/";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    out.append(kept[i]);
    if (i + 1 < kept.size() || ends_with_slash) out.push_back('/');
  }
  return out;
}

// Non-S3 services do not decode the path before computing the signature, so
// the canonical URI is the wire path (already encoded once) encoded again:
// "%3A" becomes "%253A" (aws-c-auth use_double_uri_encode, botocore
// quote(path, safe='/~')).
std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  return uri_encode(normalize ? normalize_path(path) : std::string(path), true);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes %XX (either case); a '%' not followed by two hex digits stays as is
// (and is re-encoded as %25). '+' is a literal '+', not a space: SigV4 encodes
// space as %20 and aws-c-auth's decoder does the same.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// Pairs split on '&' and on the first '='; each side decoded and re-encoded
// (so "%e1%88%b4", "%E1%88%B4" and raw UTF-8 all sign the same), sorted by key
// then value, "key=" for a missing value. Empty pairs ("a=1&&b=2") carry
// nothing and are skipped.
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      const std::string_view key = pair.substr(0, equals);
      const std::string_view value =
          equals == std::string_view::npos ? std::string_view{} : pair.substr(equals + 1);
      pairs.emplace_back(uri_encode(percent_decode(key), false),
                         uri_encode(percent_decode(value), false));
    }
    start = end + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out.append(key).append("=").append(value);
  }
  return out;
}

// Trim, and collapse every inner run of whitespace to one space.
std::string trim_all(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Headers the signer owns. A caller's copy is not signed (aws-c-auth refuses
// such requests as "forbidden headers"; botocore deletes and re-adds them):
// the signer's own values are the ones that count, and only they may be sent.
bool is_signer_owned(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "x-amz-date" ||
         lower_name == "x-amz-security-token" || lower_name == "x-amz-content-sha256";
}

struct CanonicalHeaders {
  std::string block;         // "name:value\n" per distinct name
  std::string signed_names;  // "a;b;c"
};

CanonicalHeaders canonical_headers(std::vector<std::pair<std::string, std::string>> headers) {
  // Stable: repeated names keep their original order and are joined with ','
  // (suite cases get-header-value-order, get-header-key-duplicate).
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const bool continues = i > 0 && headers[i].first == headers[i - 1].first;
    if (continues) {
      out.block.push_back(',');
    } else {
      if (i > 0) {
        out.block.push_back('\n');
        out.signed_names.push_back(';');
      }
      out.block.append(headers[i].first).push_back(':');
      out.signed_names.append(headers[i].first);
    }
    out.block.append(trim_all(headers[i].second));
  }
  if (!headers.empty()) out.block.push_back('\n');
  return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_unreserved(byte) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[byte >> 4]);
      out.push_back(kHexUpper[byte & 0x0F]);
    }
  }
  return out;
}

Signed sign(const Request& request, const Credentials& credentials, const Options& options,
            core::TimePoint at) {
  const std::string date_time = amz_date(at);
  const std::string date = date_time.substr(0, 8);
  const std::string scope =
      date + "/" + options.region + "/" + options.service + "/" + std::string(kTerminator);
  const bool has_token = !credentials.session_token.empty();
  const bool sign_token = has_token && !options.omit_session_token;
  // The payload hash is always that of the body; sign_body only adds the
  // x-amz-content-sha256 header carrying the same value.
  const std::string payload_hash = hex(sha256(request.body));

  std::vector<std::pair<std::string, std::string>> to_sign;
  to_sign.reserve(request.headers.size() + 3);
  for (const auto& [name, value] : request.headers) {
    std::string lower_name = lower(name);
    if (is_signer_owned(lower_name)) continue;
    to_sign.emplace_back(std::move(lower_name), value);
  }
  to_sign.emplace_back("x-amz-date", date_time);
  if (sign_token) to_sign.emplace_back("x-amz-security-token", credentials.session_token);
  if (options.sign_body) to_sign.emplace_back("x-amz-content-sha256", payload_hash);
  const CanonicalHeaders headers = canonical_headers(std::move(to_sign));

  Signed out;
  out.canonical_request.append(request.method).push_back('\n');
  out.canonical_request.append(canonical_uri(request.path, options.normalize_path)).push_back('\n');
  out.canonical_request.append(canonical_query(request.query)).push_back('\n');
  out.canonical_request.append(headers.block).push_back('\n');
  out.canonical_request.append(headers.signed_names).push_back('\n');
  out.canonical_request.append(payload_hash);

  out.string_to_sign.append(kAlgorithm).push_back('\n');
  out.string_to_sign.append(date_time).push_back('\n');
  out.string_to_sign.append(scope).push_back('\n');
  out.string_to_sign.append(hex(sha256(out.canonical_request)));

  // kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
  const Digest k_date = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  const Digest k_region = hmac_sha256(as_view(k_date), options.region);
  const Digest k_service = hmac_sha256(as_view(k_region), options.service);
  const Digest k_signing = hmac_sha256(as_view(k_service), kTerminator);
  out.signature = hex(hmac_sha256(as_view(k_signing), out.string_to_sign));

  // Same names, spelling and order as aws-c-auth's signed requests
  // (header-signed-request.txt): token, date, content hash, Authorization.
  if (has_token) out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  out.headers.emplace_back("X-Amz-Date", date_time);
  if (options.sign_body) out.headers.emplace_back("x-amz-content-sha256", payload_hash);
  out.headers.emplace_back("Authorization", std::string(kAlgorithm) +
                                                " Credential=" + credentials.access_key_id + "/" +
                                                scope + ", SignedHeaders=" + headers.signed_names +
                                                ", Signature=" + out.signature);
  return out;
}

}  // namespace aws::sigv4
