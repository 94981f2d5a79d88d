// zmq_probe: a raw ZeroMQ peer for the security tests (tests/e2e/security.sh).
//
//   zmq_probe sub ENDPOINT SERVER_KEY_FILE SECONDS [SECRET_KEY_FILE]
//
// SUBscribes to everything at ENDPOINT as a CurveZMQ client of the server whose public key is in
// SERVER_KEY_FILE, with the keypair of SECRET_KEY_FILE (default: a fresh one, a stranger's), for
// SECONDS, and prints how many messages (frames) it received. Exit 0; 2 on bad arguments.
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <zmq.hpp>

namespace {

std::string ReadKey(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  std::getline(in, key);
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::string(argv[1]) != "sub") {
    std::cerr << "usage: zmq_probe sub ENDPOINT SERVER_KEY_FILE SECONDS [SECRET_KEY_FILE]\n";
    return 2;
  }
  char pub[41] = {}, sec[41] = {};
  if (argc > 5) {
    const std::string secret = ReadKey(argv[5]);
    if (secret.size() != 40 || zmq_curve_public(pub, secret.c_str()) != 0) {
      std::cerr << "zmq_probe: " << argv[5] << ": not a secret key\n";
      return 2;
    }
    secret.copy(sec, 40);
  } else if (zmq_curve_keypair(pub, sec) != 0) {
    std::cerr << "zmq_probe: no CURVE in this libzmq\n";
    return 2;
  }
  zmq::context_t ctx;
  zmq::socket_t sub(ctx, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::curve_serverkey, ReadKey(argv[3]));
  sub.set(zmq::sockopt::curve_publickey, std::string(pub));
  sub.set(zmq::sockopt::curve_secretkey, std::string(sec));
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(argv[2]);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::stoi(argv[4]));
  long frames = 0;
  while (std::chrono::steady_clock::now() < end) {
    zmq::pollitem_t item{static_cast<void*>(sub), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    zmq::message_t m;
    while (sub.recv(m, zmq::recv_flags::dontwait)) ++frames;
  }
  std::cout << frames << '\n';
  return 0;
}
