#pragma once

// The one WebSocket frame the Socket Mode client writes most: a text frame
// from client to server (an ack). websocketpp frames it by copying the text
// into a message, validating it as UTF-8 and masking it into a second message
// a byte at a time (6.9 % of the socket thread in a profile of refused
// envelopes), and Asio's TLS stream then copies header and payload together
// before encrypting. A frame built here is masked a word at a time straight
// into the one message websocketpp sends, as a single buffer that the TLS
// stream hands to OpenSSL without a copy (socket_transport.cpp hands it over
// prepared).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace slack::detail {

/// RFC 6455 §5.2 as a client sends it: FIN, opcode text (0x1), the MASK bit,
/// the shortest length form (7, 16 or 64 bits), the masking key, then the
/// payload XORed with the key (§5.3). `key` holds the key's four bytes in
/// wire order. Appends to `out`.
void append_masked_text_frame(std::string_view payload, std::array<unsigned char, 4> key,
                              std::string& out);

/// Masking keys from OpenSSL's CSPRNG (RFC 6455 §5.3: unpredictable, fresh
/// for each frame), drawn 64 at a time so that a frame costs no call into it.
/// One thread at a time (a connection's scheduler thread).
class MaskingKeys {
 public:
  std::array<unsigned char, 4> next();

 private:
  std::array<unsigned char, 256> pool_{};
  std::size_t used_ = 256;  ///< bytes of pool_ handed out; full: draw again
};

}  // namespace slack::detail
