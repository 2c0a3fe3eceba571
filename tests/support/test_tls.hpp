#pragma once

// A throwaway certificate authority and a server certificate for 127.0.0.1 /
// localhost / ::1, made once per test process with the openssl CLI in a temp
// folder. Fakes serve server.pem/server.key; clients trust ca.pem (pass it as
// SSL_CERT_FILE / CurlSettings::ca_file).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace test {

struct TestTls {
  std::string ca_file;      ///< CA certificate (PEM)
  std::string cert_file;    ///< server certificate (PEM), signed by the CA
  std::string key_file;     ///< server private key (PEM)
  std::string other_ca_file;  ///< a second CA that did NOT sign the server certificate
};

inline const TestTls& test_tls() {
  static std::once_flag once;
  static TestTls tls;
  std::call_once(once, [] {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("infra-bot-tls-" + std::to_string(::getpid()));
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
    tls.ca_file = (dir / "ca.pem").string();
    tls.cert_file = (dir / "server.pem").string();
    tls.key_file = (dir / "server.key").string();
    tls.other_ca_file = (dir / "other-ca.pem").string();
  });
  return tls;
}

}  // namespace test
