// k4mlinference: podio::LinkCollection<From, To> (and Link, MutableLink) name the link types generated
// from the datamodel; include the datamodel's link header (e.g. edm4hep/RecoMCParticleLinkCollection.h) too.
#pragma once

#include "k4ml/podio_types.h"
