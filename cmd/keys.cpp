#include "keys.h"

#include <fcntl.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "livepoll/curve_key.h"

namespace livepoll::cli {
namespace {

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot read the key file");
  std::string text(kCurveKeyTextSize + 3, '\0');  // a key file is never longer: read no more
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseCurveKeyText(text, path);
}

Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::InvalidArgument(path + ": " + std::strerror(errno));
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  if (!ok) return Status::Internal(path + ": " + std::strerror(saved));
  return Status::Ok();
}

}  // namespace

Result<CurveClient> LoadCurveClient(const std::string& server_key,
                                    const std::string& secret_key_file) {
  CurveClient c;
  if (IsCurveKeyText(server_key)) {
    c.server_key = server_key;
  } else {
    Result<std::string> k = ReadKeyFile(server_key);
    if (!k.ok()) return Status::InvalidArgument("--server-key: " + k.status().message());
    c.server_key = *k;
  }
  char pub[kCurveKeyTextSize + 1] = {}, sec[kCurveKeyTextSize + 1] = {};
  if (secret_key_file.empty()) {
    if (zmq_curve_keypair(pub, sec) != 0)
      return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  } else {
    Result<std::string> k = ReadKeyFile(secret_key_file);
    if (!k.ok()) return Status::InvalidArgument("--key: " + k.status().message());
    std::memcpy(sec, k->data(), kCurveKeyTextSize);
    if (zmq_curve_public(pub, sec) != 0)
      return Status::InvalidArgument("--key: " + secret_key_file +
                                     ": cannot derive the public key");
  }
  c.public_key = pub;
  c.secret_key = sec;
  return c;
}

Result<std::string> WriteKeyPair(const std::string& dir, const std::string& name) {
  const std::string base = (dir.empty() ? std::string(".") : dir) + "/" + name;
  for (const std::string& f : {base + ".secret", base + ".pub"})
    if (access(f.c_str(), F_OK) == 0)
      return Status::InvalidArgument(f + ": exists; refusing to replace a key");
  char pub[kCurveKeyTextSize + 1] = {}, sec[kCurveKeyTextSize + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()) +
                            " (is libzmq built with CURVE?)");
  if (Status s = WriteNew(base + ".secret", std::string(sec) + "\n", 0600); !s.ok()) return s;
  if (Status s = WriteNew(base + ".pub", std::string(pub) + "\n", 0644); !s.ok()) return s;
  return std::string(pub);
}

}  // namespace livepoll::cli
