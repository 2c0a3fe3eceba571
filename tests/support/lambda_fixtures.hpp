#pragma once

// The request/response pairs of design §4 in proto-fixtures/lambda/<case>/:
//   request.json   the exact payload the backend must send (compared canonically)
//   response.json  the body the Lambda answers (raw bytes; may be malformed on purpose)
//   headers.json   optional extra response headers (X-Amz-Function-Error)
//   expected.json  what the backend makes of it, as JSON (UPDATE_GOLDEN=1 rewrites it)
// The call to make is read from request.json itself (its action and fields),
// so a new case is just a new folder. Shared by the unit test (scripted HTTP)
// and the integration test (real HTTPS to the fake Lambda).

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/json.hpp"
#include "infra/backend.hpp"
#include "infra/command.hpp"

namespace test::lambda_fixtures {

inline constexpr const char* kOrchestratorArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-orchestrator";
inline constexpr const char* kWhitelistArn =
    "arn:aws:lambda:eu-west-1:123456789012:function:infra-ip-whitelist";

/// The request id and requester every fixture's request.json carries.
inline infra::RequestContext fixed_context() {
  return infra::RequestContext{"0b7c6f2e-3a1d-4c55-9e0f-5d2a8b1c9e47",
                               infra::Requester{"U012ALICE", "alice", "T0123TEAM", "C0123CHAN"}};
}

inline std::filesystem::path root() { return std::filesystem::path(FIXTURES_DIR) / "lambda"; }

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(root())) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct Case {
  std::string name;
  std::filesystem::path dir;
  std::string request;   ///< request.json text
  std::string response;  ///< response.json bytes
  core::http::Headers response_headers;
  std::string expected;    ///< expected.json text (empty when missing)
  bool whitelist = false;  ///< goes to the whitelist Lambda
};

inline Case load(const std::string& name) {
  Case c;
  c.name = name;
  c.dir = root() / name;
  c.request = read_text(c.dir / "request.json");
  c.response = read_text(c.dir / "response.json");
  if (std::filesystem::exists(c.dir / "expected.json")) {
    c.expected = read_text(c.dir / "expected.json");
  }
  if (std::filesystem::exists(c.dir / "headers.json")) {
    auto headers = core::json::parse(read_text(c.dir / "headers.json"));
    if (headers && headers->IsObject()) {
      for (const auto& member : headers->GetObject()) {
        if (member.value.IsString()) {
          c.response_headers.emplace_back(member.name.GetString(), member.value.GetString());
        }
      }
    }
  }
  auto request = core::json::parse(c.request);
  if (request) {
    const auto action = core::json::get_string(*request, "action").value_or("");
    c.whitelist = action == "add" || action == "remove" || action == "list" || action == "refresh";
  }
  return c;
}

namespace detail {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void key(Writer& w, const char* k) { w.Key(k); }
inline void str(Writer& w, const char* k, const std::string& v) {
  w.Key(k);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}
inline void opt_int(Writer& w, const char* k, const std::optional<std::int64_t>& v) {
  w.Key(k);
  if (v) {
    w.Int64(*v);
  } else {
    w.Null();
  }
}
inline void entry(Writer& w, const infra::WhitelistEntry& e) {
  w.StartObject();
  str(w, "cidr", e.cidr);
  str(w, "description", e.description);
  str(w, "added_by", e.added_by);
  key(w, "expires_at");
  if (e.expires_at) {
    const auto text = core::format_rfc3339(*e.expires_at);
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  } else {
    w.Null();
  }
  w.EndObject();
}

template <class T, class F>
std::string render(const core::Result<T>& result, F&& write) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  if (!result) {
    key(w, "error");
    w.StartObject();
    str(w, "code", std::string(core::to_string(result.error().code)));
    str(w, "user_message", result.error().user_message);
    w.EndObject();
  } else {
    key(w, "result");
    write(w, *result);
  }
  w.EndObject();
  auto canonical = core::json::canonicalize(std::string(buffer.GetString(), buffer.GetSize()));
  return canonical ? *canonical : std::string("<unrenderable>");
}

}  // namespace detail

/// Makes the call request.json describes on `backend` and renders what came
/// back (result or error) as canonical JSON.
inline std::string run_case(infra::Backend& backend, const Case& c,
                            const infra::RequestContext& context) {
  using namespace detail;
  auto request = core::json::parse(c.request);
  if (!request || !request->IsObject()) return "<request.json is not a JSON object>";
  const std::string action(core::json::get_string(*request, "action").value_or(""));
  const std::string env(core::json::get_string(*request, "environment").value_or(""));

  if (action == "status") {
    return render(backend.status(env, context), [](Writer& w, const infra::EnvironmentStatus& s) {
      w.StartObject();
      str(w, "environment", s.environment);
      key(w, "ecs_services");
      w.StartArray();
      for (const auto& service : s.ecs_services) {
        w.StartObject();
        str(w, "name", service.name);
        str(w, "status", service.status);
        opt_int(w, "desired_count", service.desired_count);
        opt_int(w, "running_count", service.running_count);
        w.EndObject();
      }
      w.EndArray();
      key(w, "rds_instances");
      w.StartArray();
      for (const auto& instance : s.rds_instances) {
        w.StartObject();
        str(w, "identifier", instance.identifier);
        str(w, "status", instance.status);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
    });
  }
  if (action == "stop" || action == "start" || action == "teardown" || action == "spinup") {
    infra::LifecycleRequest lifecycle;
    lifecycle.environment = env;
    lifecycle.action = action == "stop"       ? infra::LifecycleAction::stop
                       : action == "start"    ? infra::LifecycleAction::start
                       : action == "teardown" ? infra::LifecycleAction::teardown
                                              : infra::LifecycleAction::spinup;
    if (auto level = core::json::get_string(*request, "level")) {
      lifecycle.level =
          *level == "full" ? infra::TeardownLevel::full : infra::TeardownLevel::services;
    }
    return render(backend.run(lifecycle, context), [](Writer& w, const infra::ActionResult& r) {
      w.StartObject();
      str(w, "action", std::string(infra::to_string(r.action)));
      str(w, "environment", r.environment);
      str(w, "message", r.message);
      key(w, "details");
      w.StartArray();  // an array: the order given is part of the result
      for (const auto& [name, value] : r.details) {
        w.StartArray();
        w.String(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
        w.Int64(value);
        w.EndArray();
      }
      w.EndArray();
      w.EndObject();
    });
  }
  const std::string cidr_text(core::json::get_string(*request, "cidr").value_or(""));
  const auto slash = cidr_text.find('/');
  const infra::Cidr cidr{cidr_text,
                         slash == std::string::npos ? 0 : std::stoi(cidr_text.substr(slash + 1)),
                         cidr_text.find(':') != std::string::npos};
  if (action == "add") {
    infra::WhitelistAdd add;
    add.cidr = cidr;
    add.env = env;
    add.ttl = std::chrono::seconds(core::json::get_int(*request, "ttl_seconds").value_or(0));
    if (auto description = core::json::get_string(*request, "description")) {
      add.description = std::string(*description);
    }
    return render(backend.whitelist_add(add, context),
                  [](Writer& w, const infra::WhitelistAdded& a) {
                    w.StartObject();
                    str(w, "environment", a.environment);
                    key(w, "entry");
                    entry(w, a.entry);
                    key(w, "replaced");
                    w.Bool(a.replaced);
                    w.EndObject();
                  });
  }
  if (action == "remove") {
    return render(backend.whitelist_remove(infra::WhitelistRemove{cidr, env}, context),
                  [](Writer& w, const infra::WhitelistRemoved& r) {
                    w.StartObject();
                    str(w, "environment", r.environment);
                    str(w, "cidr", r.cidr);
                    w.EndObject();
                  });
  }
  if (action == "list") {
    return render(backend.whitelist_list(env, context),
                  [](Writer& w, const infra::WhitelistListing& l) {
                    w.StartObject();
                    str(w, "environment", l.environment);
                    key(w, "entries");
                    w.StartArray();
                    for (const auto& e : l.entries) entry(w, e);
                    w.EndArray();
                    w.EndObject();
                  });
  }
  if (action == "refresh") {
    return render(backend.whitelist_refresh(env, context),
                  [](Writer& w, const infra::WhitelistRefreshed& r) {
                    w.StartObject();
                    str(w, "environment", r.environment);
                    key(w, "security_groups");
                    w.StartArray();
                    for (const auto& g : r.security_groups) {
                      w.String(g.c_str(), static_cast<rapidjson::SizeType>(g.size()));
                    }
                    w.EndArray();
                    key(w, "rules_added");
                    w.Int64(r.rules_added);
                    key(w, "rules_removed");
                    w.Int64(r.rules_removed);
                    w.EndObject();
                  });
  }
  return "<unknown action " + action + " in request.json>";
}

}  // namespace test::lambda_fixtures
