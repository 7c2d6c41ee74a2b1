// k4mlinference: the service locator every Gaudi algorithm constructor receives. Services are
// not looked up through it here (the framework passes a placeholder); it exists so that the
// constructors of k4FWCore algorithms compile unchanged.
#pragma once

class ISvcLocator {
public:
  virtual ~ISvcLocator() = default;
};

namespace k4ml {
/// The placeholder handed to algorithm constructors.
inline ISvcLocator* serviceLocator() {
  static ISvcLocator locator;
  return &locator;
}
}  // namespace k4ml
