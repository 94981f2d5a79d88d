// The CurveZMQ keys a node works with (PROTOCOL.md, "Security"): its own keypair (`secret_key`),
// the public keys of the nodes allowed into the cluster (`trusted_keys`, a folder holding one
// NAME.pub per node: the file's name is the node's name) and of the operators (`admin_keys`,
// `admin_readonly_keys`, the same layout). Keys are kept as their 40-character Z85 text.
#pragma once

#include <map>
#include <string>

#include "livepoll/status.h"

namespace livepoll::net {

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// Reads a secret key file and derives its public key (zmq_curve_public). InvalidArgument naming
// the file: unreadable, not a key file (livepoll/curve_key.h).
Result<CurveKeyPair> LoadSecretKey(const std::string& path);
// Reads a public key file.
Result<std::string> LoadPublicKey(const std::string& path);
// The NAME.pub files of `dir`, by NAME (other files are ignored). InvalidArgument when the folder
// cannot be read or a .pub file is not a key file (one bad file refuses the whole folder: a set
// of keys half read is worse than the old one).
Result<std::map<std::string, std::string>> LoadKeyDir(const std::string& dir);

// Who may connect, as the ZAP handler (zap_handler.h) and the cluster (cluster.h) look it up.
struct KeySets {
  std::map<std::string, std::string> nodes;     // trusted_keys: node name -> public key
  std::map<std::string, std::string> admin;     // admin_keys: operator name -> public key
  std::map<std::string, std::string> readonly;  // admin_readonly_keys: the same
};

// Where the key sets come from; empty folders are not configured.
struct KeyDirs {
  std::string trusted_keys;
  std::string admin_keys;
  std::string admin_readonly_keys;
};

// Reads every configured folder. `self` and `own_public_key`: the node's name must have a key in
// trusted_keys, and it must be its own (else InvalidArgument saying so).
Result<KeySets> LoadKeySets(const KeyDirs& dirs, const std::string& self,
                            const std::string& own_public_key);

// A fresh keypair (zmq_curve_keypair).
Result<CurveKeyPair> NewCurveKeyPair();

}  // namespace livepoll::net
