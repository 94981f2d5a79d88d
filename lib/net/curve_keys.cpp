#include "net/curve_keys.h"

#include <zmq.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "livepoll/curve_key.h"

namespace livepoll::net {
namespace {

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot read the key file");
  std::string text(kCurveKeyTextSize + 3, '\0');  // a key file is never longer: read no more
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseCurveKeyText(text, path);
}

}  // namespace

Result<CurveKeyPair> LoadSecretKey(const std::string& path) {
  Result<std::string> secret = ReadKeyFile(path);
  if (!secret.ok()) return secret.status();
  char pub[kCurveKeyTextSize + 1] = {};
  if (zmq_curve_public(pub, secret->c_str()) != 0)
    return Status::InvalidArgument(path +
                                   ": cannot derive the public key: " + zmq_strerror(zmq_errno()));
  return CurveKeyPair{pub, *secret};
}

Result<std::string> LoadPublicKey(const std::string& path) { return ReadKeyFile(path); }

Result<std::map<std::string, std::string>> LoadKeyDir(const std::string& dir) {
  std::map<std::string, std::string> keys;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Status::InvalidArgument(dir + ": cannot read the key folder: " + ec.message());
  for (const auto& entry : it) {
    const std::filesystem::path& p = entry.path();
    if (p.extension() != ".pub" || p.stem().empty()) continue;
    Result<std::string> key = ReadKeyFile(p.string());
    if (!key.ok()) return key.status();
    keys[p.stem().string()] = *key;
  }
  return keys;
}

Result<KeySets> LoadKeySets(const KeyDirs& dirs, const std::string& self,
                            const std::string& own_public_key) {
  KeySets sets;
  Result<std::map<std::string, std::string>> nodes = LoadKeyDir(dirs.trusted_keys);
  if (!nodes.ok()) return nodes.status();
  sets.nodes = std::move(*nodes);
  auto own = sets.nodes.find(self);
  if (own == sets.nodes.end())
    return Status::InvalidArgument("trusted_keys " + dirs.trusted_keys + " has no " + self +
                                   ".pub: node '" + self + "' is not trusted in its own cluster");
  if (own->second != own_public_key)
    return Status::InvalidArgument("secret_key does not match " + dirs.trusted_keys + "/" + self +
                                   ".pub: it is another node's key, or an old one");
  for (auto [dir, out] : {std::pair{&dirs.admin_keys, &sets.admin},
                          std::pair{&dirs.admin_readonly_keys, &sets.readonly}}) {
    if (dir->empty()) continue;
    Result<std::map<std::string, std::string>> keys = LoadKeyDir(*dir);
    if (!keys.ok()) return keys.status();
    *out = std::move(*keys);
  }
  return sets;
}

Result<CurveKeyPair> NewCurveKeyPair() {
  char pub[kCurveKeyTextSize + 1] = {}, sec[kCurveKeyTextSize + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  return CurveKeyPair{pub, sec};
}

}  // namespace livepoll::net
