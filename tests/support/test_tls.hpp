#pragma once

// A throwaway certificate authority and a server certificate for 127.0.0.1 /
// localhost / ::1, made once per test process with the openssl CLI in a temp
// folder. Fakes serve server.pem/server.key; clients trust ca.pem (pass it as
// SSL_CERT_FILE / CurlSettings::ca_file).

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace test {

struct TestTls {
  std::string ca_file;        ///< CA certificate (PEM)
  std::string cert_file;      ///< server certificate (PEM), signed by the CA
  std::string key_file;       ///< server private key (PEM)
  std::string other_ca_file;  ///< a second CA that did NOT sign the server certificate
};

inline const TestTls& test_tls() {
  static std::once_flag once;
  static TestTls tls;
  std::call_once(once, [] {
    namespace fs = std::filesystem;
    // Generating keys takes ~1 s and ctest runs each case in its own process:
    // share one CA per day (certificates are valid for 2) between processes.
    // Made in a private folder, then renamed into place, so a concurrent
    // process never sees half a CA.
    const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    const fs::path shared =
        fs::temp_directory_path() /
        ("infra-bot-test-ca-" + std::to_string(today.time_since_epoch().count()));
    auto use = [](const fs::path& from) {
      tls.ca_file = (from / "ca.pem").string();
      tls.cert_file = (from / "server.pem").string();
      tls.key_file = (from / "server.key").string();
      tls.other_ca_file = (from / "other-ca.pem").string();
    };
    if (fs::exists(shared / "server.pem")) {
      use(shared);
      return;
    }
    const fs::path dir =
        fs::temp_directory_path() / ("infra-bot-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
      std::ofstream ext(dir / "ext.cnf");
      ext << "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n"
             "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
             "extendedKeyUsage=serverAuth\n";
    }
    const std::string d = dir.string();
    const std::string script =
        "set -e; cd '" + d +
        "'; "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj '/CN=infra-bot test CA' >/dev/null 2>&1; "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 "
        "-subj '/CN=infra-bot other CA' >/dev/null 2>&1; "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj '/CN=localhost' >/dev/null 2>&1; "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf >/dev/null 2>&1";
    const std::string command = "sh -c \"" + script + "\"";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl failed in " + d);
    std::error_code ec;
    fs::rename(dir, shared, ec);  // fails when another process won the race: use theirs
    if (ec) fs::remove_all(dir, ec);
    use(shared);
  });
  return tls;
}

}  // namespace test
