// How a WebSocket's frames reach the gateway, over a real loopback socket: a message is read in
// two steps (one byte while idle, then the rest: sessions.h), so frames that arrive together,
// split, fragmented, as control frames or too big must all still be read as before. The client
// writes raw masked frames on the socket under a Beast client stream, so that it chooses how the
// bytes are cut; it reads the gateway's frames with the stream.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "gateway/gateway.h"

namespace livepoll::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

// One client frame: FIN or not, an opcode, masked (as RFC 6455 requires of a client).
std::string ClientFrame(uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else if (payload.size() < 65536) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((static_cast<uint64_t>(payload.size()) >> shift) & 0xff);
  }
  const char mask[4] = {0x1f, 0x2e, 0x3d, 0x4c};
  f.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

constexpr uint8_t kText = 0x1, kContinuation = 0x0, kPing = 0x9;

std::string Heartbeat(int ref) {
  return "[null,\"" + std::to_string(ref) + "\",\"phoenix\",\"heartbeat\",{}]";
}

class WsReads : public ::testing::Test {
 protected:
  void SetUp() override { Open(std::chrono::milliseconds(60000)); }

  void Open(std::chrono::milliseconds idle_timeout) {
    GatewayOptions o;
    o.bind = "127.0.0.1:0";
    o.idle_timeout = idle_timeout;
    gateway_ = std::make_unique<Gateway>(o);
    ASSERT_TRUE(gateway_->Start().ok());
    const std::string& at = gateway_->endpoint();
    const size_t colon = at.rfind(':');
    ws_ = std::make_unique<websocket::stream<tcp::socket>>(io_);
    ws_->next_layer().connect(
        tcp::endpoint(asio::ip::make_address(at.substr(0, colon)),
                      static_cast<unsigned short>(std::stoi(at.substr(colon + 1)))));
    ws_->handshake(at, "/socket/websocket?vsn=2.0.0");
  }

  // Raw bytes on the socket, as the test cuts them.
  void Raw(const std::string& bytes) { asio::write(ws_->next_layer(), asio::buffer(bytes)); }

  // The next message from the gateway into `text`, or the error that ended the read (control
  // frames are handled by the stream). Nothing within 5 s is timed_out: a gateway that fails to
  // read what came fails the test instead of hanging it.
  beast::error_code ReadNext(std::string* text = nullptr) {
    beast::flat_buffer b;
    beast::error_code result;
    bool done = false;
    ws_->async_read(b, [&](beast::error_code ec, size_t) {
      result = ec;
      done = true;
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    if (!done) {
      ws_->next_layer().cancel();
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    if (text) *text = beast::buffers_to_string(b.data());
    return result;
  }
  std::string Next() {
    std::string text;
    const beast::error_code ec = ReadNext(&text);
    return ec ? "(no message: " + ec.message() + ")" : text;
  }

  // Whether the gateway's reply to heartbeat `ref` is `reply`.
  static bool IsOkReplyTo(const std::string& reply, int ref) {
    return reply.find("\"" + std::to_string(ref) + "\"") != std::string::npos &&
           reply.find("phx_reply") != std::string::npos &&
           reply.find("\"ok\"") != std::string::npos;
  }

  asio::io_context io_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<websocket::stream<tcp::socket>> ws_;
};

TEST_F(WsReads, FramesSentTogetherAreEachAnswered) {
  // Three heartbeats in one write: after the first message, the next ones already sit in Beast's
  // buffer, not on the socket. A wait for the socket to be readable would never see them.
  Raw(ClientFrame(kText, Heartbeat(1)) + ClientFrame(kText, Heartbeat(2)) +
      ClientFrame(kText, Heartbeat(3)));
  EXPECT_TRUE(IsOkReplyTo(Next(), 1));
  EXPECT_TRUE(IsOkReplyTo(Next(), 2));
  EXPECT_TRUE(IsOkReplyTo(Next(), 3));
}

TEST_F(WsReads, AFrameCutAfterItsFirstByteIsReadWhole) {
  for (size_t cut : {size_t{1}, size_t{2}, size_t{7}}) {
    const std::string f = ClientFrame(kText, Heartbeat(static_cast<int>(cut)));
    Raw(f.substr(0, cut));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    Raw(f.substr(cut));
    EXPECT_TRUE(IsOkReplyTo(Next(), static_cast<int>(cut))) << "cut after " << cut;
  }
}

TEST_F(WsReads, AFragmentedMessageIsOneFrame) {
  const std::string text = Heartbeat(9);
  Raw(ClientFrame(kText, text.substr(0, 1), false));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  Raw(ClientFrame(kContinuation, text.substr(1, 10), false) +
      ClientFrame(kContinuation, text.substr(11)));
  EXPECT_TRUE(IsOkReplyTo(Next(), 9));
  EXPECT_EQ(gateway_->stats().frames_malformed, 0u);
}

TEST_F(WsReads, APingWhileIdleIsAnsweredAndTheSocketReadsOn) {
  bool pong = false;
  ws_->control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) pong = true;
  });
  Raw(ClientFrame(kPing, "hi") + ClientFrame(kText, Heartbeat(4)));
  EXPECT_TRUE(IsOkReplyTo(Next(), 4));
  EXPECT_TRUE(pong);
}

TEST_F(WsReads, AMessageTooBigClosesTheSocketAndIsCounted) {
  // The gateway refuses it from its header: the rest of the write may meet a closed socket.
  beast::error_code ec;
  asio::write(ws_->next_layer(),
              asio::buffer(ClientFrame(kText, std::string(kMaxFrameBytes + 1, 'x'))), ec);
  ec = ReadNext();
  EXPECT_TRUE(ec && ec != asio::error::timed_out) << ec.message();  // closed by the gateway (1009)
  // Counted once the gateway's read completes, after its close frame went out.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (gateway_->stats().frames_malformed == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(gateway_->stats().frames_malformed, 1u);
}

TEST_F(WsReads, ASilentSocketIsStillClosed) {
  ws_.reset();
  gateway_.reset();
  Open(std::chrono::milliseconds(100));  // sweeps every 25 ms, closes after 100..125 ms
  Raw(ClientFrame(kText, Heartbeat(5)));
  EXPECT_TRUE(IsOkReplyTo(Next(), 5));
  const auto start = std::chrono::steady_clock::now();
  const beast::error_code ec = ReadNext();  // nothing comes until the gateway drops the socket
  EXPECT_TRUE(ec && ec != asio::error::timed_out) << ec.message();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(80));
  EXPECT_EQ(gateway_->stats().idle_closed, 1u);
}

}  // namespace
}  // namespace livepoll::gateway
