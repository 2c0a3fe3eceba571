#include "ws_frame.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <random>

namespace slack::detail {

void append_masked_text_frame(std::string_view payload, std::array<unsigned char, 4> key,
                              std::string& out) {
  const std::uint64_t size = payload.size();
  unsigned char header[14];
  std::size_t header_size = 2;
  header[0] = 0x81;  // FIN, text
  if (size < 126) {
    header[1] = static_cast<unsigned char>(0x80 | size);
  } else if (size <= 0xFFFF) {
    header[1] = 0x80 | 126;
    header[2] = static_cast<unsigned char>(size >> 8);
    header[3] = static_cast<unsigned char>(size);
    header_size = 4;
  } else {
    header[1] = 0x80 | 127;
    for (int i = 0; i < 8; ++i) header[2 + i] = static_cast<unsigned char>(size >> (56 - 8 * i));
    header_size = 10;
  }
  std::memcpy(header + header_size, key.data(), 4);
  header_size += 4;

  const std::size_t start = out.size();
  out.resize(start + header_size + payload.size());
  char* wire = out.data() + start;
  std::memcpy(wire, header, header_size);
  wire += header_size;
  // Eight bytes at a time: the key repeated twice in wire order, so byte i of
  // the payload meets key[i % 4] whatever the machine's byte order.
  unsigned char repeated[8];
  for (int i = 0; i < 8; ++i) repeated[i] = key[static_cast<std::size_t>(i % 4)];
  std::uint64_t mask = 0;
  std::memcpy(&mask, repeated, 8);
  const char* in = payload.data();
  std::size_t i = 0;
  for (; i + 8 <= payload.size(); i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, in + i, 8);
    word ^= mask;
    std::memcpy(wire + i, &word, 8);
  }
  for (; i < payload.size(); ++i) {
    wire[i] = static_cast<char>(static_cast<unsigned char>(in[i]) ^ key[i % 4]);
  }
}

std::array<unsigned char, 4> MaskingKeys::next() {
  if (used_ + 4 > pool_.size()) {
    if (RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) != 1) {
      // OpenSSL's generator failed (it does not, once seeded): the OS's.
      std::random_device device;
      for (std::size_t i = 0; i < pool_.size(); i += 4) {
        const auto word = device();
        std::memcpy(pool_.data() + i, &word, 4);
      }
    }
    used_ = 0;
  }
  std::array<unsigned char, 4> key{};
  std::memcpy(key.data(), pool_.data() + used_, 4);
  used_ += 4;
  return key;
}

}  // namespace slack::detail
