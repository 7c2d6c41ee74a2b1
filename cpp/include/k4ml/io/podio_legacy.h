// Persistent layout of podio::GenericParameters as podio 0.16 - 0.99 wrote it in the `PARAMETERS`
// branch of each category tree. Only the four maps are persistent (podio marks its mutexes
// transient), so a struct with the same class name and member names lets ROOT read old files
// member-wise. Files without `_doubleMap` (podio < 0.17) simply leave it empty.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace podio {

struct GenericParameters {
  std::map<std::string, std::vector<int>> _intMap;
  std::map<std::string, std::vector<float>> _floatMap;
  std::map<std::string, std::vector<std::string>> _stringMap;
  std::map<std::string, std::vector<double>> _doubleMap;
};

}  // namespace podio
