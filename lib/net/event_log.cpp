#include "net/event_log.h"

#include <spdlog/spdlog.h>

namespace livepoll::net {
namespace {

void Log(const core::MembershipEvent& e) {
  using K = core::MembershipEvent::Kind;
  const std::string node = e.node.ToString();
  switch (e.kind) {
    case K::kJoined:
      spdlog::info("a member: serving as a cluster of one until seeds or peers are met");
      break;
    case K::kJoinRefused:
      break;  // the Server stops with it and the daemon reports it
    case K::kUp:
      spdlog::info("member up: {}", node);
      break;
    case K::kSuspect:
      spdlog::info("member suspect: {}", node);
      break;
    case K::kAlive:
      spdlog::info("member alive again: {}", node);
      break;
    case K::kDown:
      spdlog::warn("member down: {} ({})", node, e.detail);
      break;
    case K::kForgotten:
      spdlog::info("member forgotten: {}", node);
      break;
  }
}

void Log(const core::RegistryEvent& e) {
  using K = core::RegistryEvent::Kind;
  switch (e.kind) {
    case K::kRegistered:
      spdlog::info("registered {} ({})", e.topic, e.detail);
      break;
    case K::kReleased:
      spdlog::info("released {} ({})", e.topic, e.detail);
      break;
    case K::kTakeover:
      spdlog::info("took over {} from {}", e.topic, e.detail);
      break;
    case K::kClash:
      spdlog::warn("clash on {}: {}", e.topic, e.detail);
      break;
    case K::kClashResolved:
      spdlog::info("clash on {} resolved: {}", e.topic, e.detail);
      break;
    case K::kReapedIdle:
    case K::kReapedOrphan:
    case K::kReapedDeadOwner:
      spdlog::warn("reaped a zombie on {}: {}", e.topic, e.detail);
      break;
    case K::kDenied:
      spdlog::debug("registration of {} denied: {}", e.topic, e.detail);
      break;
  }
}

void Log(const core::PollerEvent& e) {
  using K = core::PollerEvent::Kind;
  switch (e.kind) {
    case K::kStarted:
      spdlog::info("poller started: {} ({})", e.topic, e.detail);
      break;
    case K::kStopped:
      spdlog::info("poller stopped: {}", e.topic);
      break;
    case K::kFailed:
      spdlog::warn("poll failed: {}: {}", e.topic, e.detail);
      break;
    case K::kRecovered:
      spdlog::info("poll recovered: {}", e.topic);
      break;
  }
}

void Log(const core::ClientTimedOut& e) { spdlog::info("client {} dropped: silent", e.client); }

void Log(const core::PollerRefused& e) {
  spdlog::warn("cannot poll {}: {}", e.topic, e.why.message());
}

}  // namespace

void LogEvent(const core::NodeEvent& e) {
  std::visit([](const auto& event) { Log(event); }, e);
}

}  // namespace livepoll::net
