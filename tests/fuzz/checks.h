// The properties the fuzz targets check, one function per decoder that reads bytes from outside.
// The libFuzzer targets (fuzz_*.cpp, clang build) and the unit test that replays the corpus and
// the regression inputs (tests/unit/fuzz_regressions_test.cpp, every build) call the same
// functions, so a crash found by fuzzing stays fixed in the ordinary test run.
//
// Each returns "" when the input was handled as promised, else what went wrong. A crash, a hang,
// a leak or undefined behaviour is the sanitizers' and libFuzzer's to report; these check the
// contracts the headers state:
//  - a refused input gets a Status of a documented code with a message, never an exception;
//  - whatever decodes re-encodes, and the re-encoded bytes decode to the same value (compared
//    as bytes: encoding is deterministic, and a NaN in a row compares equal to itself as bits).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace livepoll::fuzz {

// The cluster name the cluster target decodes with; the seed corpus's frames carry it.
inline constexpr const char* kCluster = "fuzz";

// proto::Decode: the client and admin envelope.
std::string CheckEnvelope(std::string_view bytes);
// net::DecodeCluster with kCluster: every message between nodes.
std::string CheckCluster(std::string_view bytes);
// core::ParseTopic on the bytes, and core::MakeTopic on the bytes split at NUL bytes into
// query, name, value, name, value...: each must round-trip through the other.
std::string CheckTopic(std::string_view bytes);
// config::ParseConfigText: the bytes as a livepolld configuration file.
std::string CheckConfig(std::string_view bytes);
// auth::VerifyToken under kTokenSecret at kTokenNow: the bytes as a token, and the bytes split at
// their first '\n' into a header and a payload signed under the secret, so the JSON readers
// behind the signature are reached too. What verifies has flat claims within its times, and its
// claims minted again verify to the same claims.
std::string CheckToken(std::string_view bytes);
inline constexpr const char* kTokenSecret = "fuzz-secret-fuzz-secret-fuzz-sec";  // 32 bytes
inline constexpr int64_t kTokenNow = 1700000000;

// net::ZapHandler::Answer: the bytes as a ZAP request (ZeroMQ RFC 27), frames written as a length
// byte and that many bytes each, to a handler trusting node n1 (key ZapKey('1')), operator alice
// (admin, ZapKey('a')) and bob (read-only, ZapKey('b')). The reply has RFC 27's six frames with
// the request's id; 200 only for a CURVE request whose key belongs to its domain (the User-Id
// then names its owner) or any key in domain "client"; 500 exactly for what is not a request.
std::string CheckZap(std::string_view bytes);
// A 32-byte CURVE public key of repeated `c` (the handler's keys, for the corpus).
std::string ZapKey(char c);
// Frames in CheckZap's form.
std::string ZapFrames(const std::vector<std::string>& frames);

// gateway::DecodeClientFrame: the bytes as a WebSocket client's text frame (Phoenix V2). A
// refusal is Malformed; a frame read has refs that a reply echoes into a frame that decodes again
// to the same refs and topic, a phx_join's presence within its bounds, and its topic is read by
// gateway::ParseChannelTopic without harm (a refusal there is InvalidArgument).
std::string CheckPhoenix(std::string_view bytes);

// The targets by name ("envelope", "cluster", "topic", "config", "token", "zap", "phoenix"), as
// the corpus folders are named.
using Check = std::string (*)(std::string_view);
struct Target {
  const char* name;
  Check check;
};
inline constexpr Target kTargets[] = {{"envelope", CheckEnvelope}, {"cluster", CheckCluster},
                                      {"topic", CheckTopic},       {"config", CheckConfig},
                                      {"token", CheckToken},       {"zap", CheckZap},
                                      {"phoenix", CheckPhoenix}};

}  // namespace livepoll::fuzz
