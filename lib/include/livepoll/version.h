// The livepoll release, as in CMakeLists.txt's project(VERSION).
#pragma once

namespace livepoll {
const char* Version();
}
